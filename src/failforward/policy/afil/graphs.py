"""Exportable graphs of a :class:`DualActionGenerator` (one ``nn.Module`` per ONNX file).

- ``sampler_guided``: observation + noise + guidance ``(λ_static, γ, clamp)`` → chunk and λ trace;
  backbone once, N Euler steps with both heads batched, guidance inside (the *fused* layout).
- ``sampler_unguided``: the same with the success head only (guidance mode ``none``).
- ``backbone``: observation → per-chunk cross-attention cache (the *split* layout, run once per chunk).
- ``experts``: ``(x_τ, τ, cache)`` → both heads' velocities ``[2, B, H, A]`` (split layout, run N times).

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
        cache = self._cache(x, NUM_EXPERTS)

        def field(xt: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            v = self.model.experts(xt, tau, cache, NUM_EXPERTS)
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
        cache = self._cache(x, 1)
        field = unguided(lambda xt, tau: self.model.experts(xt, tau, cache, 1)[0])
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

    def run(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        cache = PrefixCache(x["keys"], x["values"], x["bias"])
        return (self.model.experts(x["x"], x["tau"], cache, NUM_EXPERTS),)


def build_graphs(model: DualActionGenerator, num_steps: int) -> dict[str, _Graph]:
    """All exportable graphs by file stem."""
    return {
        sig.GUIDED_SAMPLER: GuidedSamplerGraph(model, num_steps),
        sig.UNGUIDED_SAMPLER: UnguidedSamplerGraph(model, num_steps),
        sig.BACKBONE: BackboneGraph(model),
        sig.EXPERTS: ExpertsGraph(model),
    }
