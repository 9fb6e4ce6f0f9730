"""Exportable graphs of a :class:`DualActionGenerator` (one ``nn.Module`` per ONNX file).

- ``sampler_guided``: observation + noise + guidance ``(λ_static, γ, clamp)`` → chunk and λ trace;
  backbone once, N Euler steps with both heads batched, guidance inside (the *fused* layout).
- ``sampler_unguided``: the same with the success head only (guidance mode ``none``).
- ``backbone``: observation → per-chunk cross-attention cache (the *split* layout, run once per chunk).
- ``experts``: ``(x_τ, τ, cache)`` → both heads' velocities ``[2, B, H, A]`` (split layout, run N times).
- ``experts_success``: the same inputs → the success head's velocity ``[1, B, H, A]`` (split layout,
  unguided; model directories exported before it existed fall back to ``experts``).

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
from failforward.policy.afil.guidance import guided_velocity, unguided
from failforward.policy.afil.model import DualActionGenerator
from failforward.policy.afil.sampler import euler_sample


def observation_inputs(config: AfilModelConfig) -> tuple[str, ...]:
    """Names of the per-observation inputs, ``images`` only for models with cameras."""
    return ("state", "tokens", "token_mask", *(("images",) if config.cameras else ()))


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

    def _cache(self, x: dict[str, torch.Tensor], experts: int) -> PrefixCache:
        prefix = self.model.encode(x["state"], x["tokens"], x["token_mask"], x.get("images"))
        return self.model.experts.cache(prefix, experts)


class GuidedSamplerGraph(_Graph):
    """Fused guided sampler: ``(..., noise [B, H, A], guidance [3]) -> (actions [B, H, A], lambdas [B, N])``."""

    outputs = sig.GUIDED_OUTPUTS

    def __init__(self, model: DualActionGenerator, num_steps: int) -> None:
        super().__init__(model)
        self.num_steps = num_steps
        self.inputs = (*observation_inputs(model.config), "noise", "guidance")

    def run(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        heads = self.model.head_field(self._cache(x, NUM_EXPERTS), NUM_EXPERTS, self.num_steps)

        def field(xt: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            v = heads(xt, tau)
            return guided_velocity(v[0], v[1], x["guidance"])

        return euler_sample(field, x["noise"], self.num_steps)


class UnguidedSamplerGraph(_Graph):
    """Fused success-only sampler: ``(..., noise [B, H, A]) -> actions [B, H, A]``."""

    outputs = sig.UNGUIDED_OUTPUTS

    def __init__(self, model: DualActionGenerator, num_steps: int) -> None:
        super().__init__(model)
        self.num_steps = num_steps
        self.inputs = (*observation_inputs(model.config), "noise")

    def run(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        heads = self.model.head_field(self._cache(x, 1), 1, self.num_steps)
        field = unguided(lambda xt, tau: heads(xt, tau)[0])
        return (euler_sample(field, x["noise"], self.num_steps)[0],)


class BackboneGraph(_Graph):
    """Per-chunk part of the split layout: observation → ``keys, values [L, 2, B, P, D]``, ``bias [B, P]``."""

    outputs = sig.CACHE_OUTPUTS

    def __init__(self, model: DualActionGenerator) -> None:
        super().__init__(model)
        self.inputs = observation_inputs(model.config)

    def run(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return tuple(self._cache(x, NUM_EXPERTS))


class ExpertsGraph(_Graph):
    """Per-step part of the split layout: ``(x [B, H, A], tau [B], keys, values, bias) -> velocity [2, B, H, A]``."""

    inputs = sig.EXPERT_INPUTS
    outputs = sig.EXPERT_OUTPUTS

    heads = NUM_EXPERTS

    def run(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        cache = PrefixCache(x["keys"], x["values"], x["bias"])
        return (self.model.experts(x["x"], x["tau"], cache, self.heads),)


class SuccessExpertGraph(ExpertsGraph):
    """Split layout, unguided: the inputs of ``experts`` → success velocity ``[1, B, H, A]`` (no failure head)."""

    heads = 1


def build_graphs(model: DualActionGenerator, num_steps: int) -> dict[str, _Graph]:
    """All exportable graphs by file stem."""
    return {
        sig.GUIDED_SAMPLER: GuidedSamplerGraph(model, num_steps),
        sig.UNGUIDED_SAMPLER: UnguidedSamplerGraph(model, num_steps),
        sig.BACKBONE: BackboneGraph(model),
        sig.EXPERTS: ExpertsGraph(model),
        sig.SUCCESS_EXPERT: SuccessExpertGraph(model),
    }
