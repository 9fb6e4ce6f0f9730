"""Exportable graphs of a :class:`DualActionGenerator` (one ``nn.Module`` per ONNX file).

- ``sampler_guided``: observation + noise + guidance ``(λ_static, γ, clamp)`` → chunk and λ trace;
  backbone once, N Euler steps with both heads batched, guidance inside (the *fused* layout).
- ``sampler_unguided``: the same with the success head only (guidance mode ``none``).
- ``backbone``: observation → per-chunk cross-attention cache (the *split* layout, run once per chunk).
- ``experts``: ``(x_τ, τ, cache)`` → both heads' velocities ``[2, B, H, A]`` (split layout, run N times).
- ``experts_success``: the same inputs → the success head's velocity ``[1, B, H, A]`` (split layout,
  unguided; model directories exported before it existed fall back to ``experts``).
- ``done`` (models with a done head only): observation → the probability ``[B]`` that the prompted subgoal has
  ended (VINE's done expert; its own backbone pass, once per chunk beside either layout).

A model whose failure head has its own shape (``AfilModelConfig.stacked_experts`` false) keeps these graphs;
its ``backbone`` graph also outputs ``failure_keys, failure_values [L_f, 1, B, P, D_f]`` (and ``keys, values``
are the success head's, ``[L, 1, B, P, D]``), which its ``experts`` graph takes after ``bias``.
A model whose experts read the state directly (``AfilModelConfig.state_in_rows``) adds ``rows [E, B, 1, D]`` (and
``failure_rows [1, B, 1, D_f]`` for a separate failure head) to both graphs' cache, after the keys and values.
A model with a mean head (``AfilModelConfig.mean_head``): the fused samplers integrate the experts' residual field
and add the head's chunk; the ``backbone`` graph also outputs ``mean [B, H, A]`` (last), which the host adds after
the Euler loop (``backends.split``).

Models trained for real-time chunking prefixes (training-time RTC, ``Manifest.prefix_training``) export with
``prefix=True``: the fused samplers also take ``prefix [B, H, A]`` (normalized, padded to H) and
``prefix_len [B]`` int64 (``d``; 0 = no prefix), clamp rows ``i < d`` to the prefix, give them τ = 1 and
velocity 0, and take λ_t over the free rows (see ``rtc``); the expert graphs take ``prefix_len`` and give
rows ``i < d`` τ = 1 (the host loop clamps and zeroes them, ``backends.split``).

Step-invariant work sits outside the Euler loop of the fused graphs: the backbone and the experts'
cross-attention keys/values run once, the τ conditioning of all N steps is one batched call, and
each step is one expert call with the heads stacked on the weights' expert axis (batched MatMul).

Each graph takes positional tensors in the order of its ``inputs`` names, so exporters, manifests
and runtimes agree on one list.
"""

from __future__ import annotations

import torch
from torch import nn

from failforward.policy.afil import signature as sig
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.experts import NUM_EXPERTS, PrefixCache
from failforward.policy.afil.guidance import guided_velocity
from failforward.policy.afil.model import DualActionGenerator
from failforward.policy.afil.rtc import clamp_prefix, frozen_rows
from failforward.policy.afil.sampler import euler_sample
from failforward.policy.afil.text_encoder import TEXT_ENCODERS

PREFIX_INPUTS = ("prefix", "prefix_len")


def observation_inputs(config: AfilModelConfig) -> tuple[str, ...]:
    """Per-observation input names: ``state``, the text encoder's prompt inputs, ``images`` (models with cameras)."""
    prompt = TEXT_ENCODERS.get(str(config.text_encoder)).input_names
    return ("state", *prompt, *(("images",) if config.cameras else ()))


class _Graph(nn.Module):
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def __init__(self, model: DualActionGenerator) -> None:
        super().__init__()
        self.model = model

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.run(dict(zip(self.inputs, args, strict=True)))

    def run(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def _cache(self, x: dict[str, torch.Tensor], experts: int) -> tuple[PrefixCache, torch.Tensor | None]:
        """The experts' per-chunk cache and the mean head's chunk (``None`` without one)."""
        prefix = self.model.encode(x["state"], x, x.get("images"))
        return self.model.experts.cache(prefix, experts), self.model.chunk_mean(prefix)

    def _frozen(self, x: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """``bool [B, H]`` prefix rows of a graph with prefix inputs, else ``None``."""
        return frozen_rows(x["prefix_len"], self.model.config.horizon) if "prefix_len" in x else None


class _SamplerGraph(_Graph):
    """A fused sampler: backbone once, N Euler steps; with ``prefix`` the training-time RTC inputs too."""

    experts = NUM_EXPERTS
    extra: tuple[str, ...] = ("noise",)  # inputs after the observation's

    def __init__(self, model: DualActionGenerator, num_steps: int, prefix: bool = False) -> None:
        super().__init__(model)
        self.num_steps = num_steps
        self.inputs = (*observation_inputs(model.config), *self.extra, *(PREFIX_INPUTS if prefix else ()))

    def sample(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Euler-integrate the (guided) field; frozen prefix rows get τ = 1 features and velocity 0."""
        frozen = self._frozen(x)
        cache, mean = self._cache(x, self.experts)
        heads = self.model.head_field(cache, self.experts, self.num_steps, frozen)
        free = None if frozen is None else (~frozen).to(torch.float32)[:, :, None]

        def field(xt: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            v = heads(xt, tau)
            return self.velocity(v if free is None else v * free, x)

        if frozen is None:
            noise = x["noise"]
        else:  # a mean head's experts work around its mean: so does the prefix
            noise = clamp_prefix(x["noise"], x["prefix"] if mean is None else x["prefix"] - mean, frozen)
        chunk, lambdas = euler_sample(field, noise, self.num_steps)
        return (chunk, lambdas) if mean is None else (chunk + mean, lambdas)

    def velocity(self, v: torch.Tensor, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class GuidedSamplerGraph(_SamplerGraph):
    """Fused guided sampler: ``(..., noise [B, H, A], guidance [3][, prefix, prefix_len]) -> (actions, lambdas)``.

    ``actions [B, H, A]``, ``lambdas [B, N]``.
    """

    outputs = sig.GUIDED_OUTPUTS
    extra = ("noise", "guidance")

    def velocity(self, v: torch.Tensor, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return guided_velocity(v[0], v[1], x["guidance"])

    def run(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return self.sample(x)


class UnguidedSamplerGraph(_SamplerGraph):
    """Fused success-only sampler: ``(..., noise [B, H, A][, prefix, prefix_len]) -> actions [B, H, A]``."""

    outputs = sig.UNGUIDED_OUTPUTS
    experts = 1

    def velocity(self, v: torch.Tensor, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return v[0], v.new_zeros(v.shape[1])

    def run(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return (self.sample(x)[0],)


def cache_names(config: AfilModelConfig) -> tuple[str, ...]:
    """Names of the per-chunk cache tensors: ``keys, values, bias`` (+ ``failure_keys, failure_values``), then
    ``rows`` (+ ``failure_rows``) for a model whose experts read the state directly."""
    separate = not config.stacked_experts
    failure = sig.FAILURE_CACHE if separate else ()
    rows = (*sig.ROW_CACHE, *(sig.FAILURE_ROW_CACHE if separate else ())) if config.state_in_rows else ()
    return (*sig.CACHE_OUTPUTS, *failure, *rows)


class BackboneGraph(_Graph):
    """Per-chunk part of the split layout: observation → ``keys, values [L, 2, B, P, D]``, ``bias [B, P]``.

    A separate failure head: ``keys, values [L, 1, B, P, D]``, ``bias``, ``failure_keys, failure_values``.
    """

    def __init__(self, model: DualActionGenerator) -> None:
        super().__init__(model)
        self.inputs = observation_inputs(model.config)
        self.outputs = (*cache_names(model.config), *((sig.MEAN_OUTPUT,) if model.config.mean_head else ()))

    def run(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        cache, mean = self._cache(x, NUM_EXPERTS)
        return (*(t for t in cache if t is not None), *(() if mean is None else (mean,)))


class ExpertsGraph(_Graph):
    """Per-step part of the split layout: ``(x [B, H, A], tau [B], keys, values, bias) -> velocity [2, B, H, A]``.

    The cache inputs are the backbone graph's outputs (:func:`cache_names`; the success head's alone for
    ``experts_success``). With ``prefix``, also ``prefix_len [B]`` int64: rows ``i < d`` get τ = 1 (training-time RTC).
    """

    outputs = sig.EXPERT_OUTPUTS

    heads = NUM_EXPERTS

    def __init__(self, model: DualActionGenerator, prefix: bool = False) -> None:
        super().__init__(model)
        both = self.heads == NUM_EXPERTS
        cache = [n for n in cache_names(model.config) if both or not n.startswith("failure_")]
        self.inputs = (*sig.EXPERT_STEP_INPUTS, *cache, *(("prefix_len",) if prefix else ()))

    def run(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        failure, rows = (x.get("failure_keys"), x.get("failure_values")), (x.get("rows"), x.get("failure_rows"))
        cache = PrefixCache(x["keys"], x["values"], x["bias"], *failure, *rows)
        frozen = self._frozen(x)
        tau = x["tau"] if frozen is None else torch.where(frozen, torch.ones_like(x["tau"])[:, None], x["tau"][:, None])
        return (self.model.experts(x["x"], tau, cache, self.heads),)


class SuccessExpertGraph(ExpertsGraph):
    """Split layout, unguided: the inputs of ``experts`` → success velocity ``[1, B, H, A]`` (no failure head)."""

    heads = 1


class DoneGraph(_Graph):
    """Observation → ``done [B]``, the done head's end-of-edge probability (models with a done head)."""

    outputs = sig.DONE_OUTPUTS

    def __init__(self, model: DualActionGenerator) -> None:
        super().__init__(model)
        self.inputs = observation_inputs(model.config)

    def run(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return (self.model.done_probability(x["state"], x, x.get("images")),)


def build_graphs(model: DualActionGenerator, num_steps: int, prefix: bool = False) -> dict[str, _Graph]:
    """All exportable graphs by file stem; ``prefix`` adds the training-time RTC inputs (see module docstring)."""
    graphs: dict[str, _Graph] = {
        sig.GUIDED_SAMPLER: GuidedSamplerGraph(model, num_steps, prefix),
        sig.UNGUIDED_SAMPLER: UnguidedSamplerGraph(model, num_steps, prefix),
        sig.BACKBONE: BackboneGraph(model),
        sig.EXPERTS: ExpertsGraph(model, prefix),
        sig.SUCCESS_EXPERT: SuccessExpertGraph(model, prefix),
    }
    if model.config.done_head:
        graphs[sig.DONE] = DoneGraph(model)
    return graphs
