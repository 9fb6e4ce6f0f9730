"""The Dual Action Generator (AFIL §3.2): one backbone, a success and a failure flow expert.

Example:
    >>> import torch
    >>> from failforward.policy.afil import DualActionGenerator, GuidanceConfig, get_model_preset
    >>> model = DualActionGenerator(get_model_preset("tiny_state")).eval()
    >>> state = torch.zeros(1, 4)
    >>> prompt = {"tokens": torch.zeros(1, 6, dtype=torch.long), "token_mask": torch.ones(1, 6, dtype=torch.bool)}
    >>> actions, lam = model.sample(state, prompt, noise=torch.randn(1, 8, 4), num_steps=10, guidance=GuidanceConfig())
    >>> actions.shape, lam.shape
    (torch.Size([1, 8, 4]), torch.Size([1, 10]))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from failforward.policy.afil.backbone import Prefix, PrefixEncoder, SmallPrefixEncoder
from failforward.policy.afil.config import AfilModelConfig, GuidanceConfig, GuidanceMode
from failforward.policy.afil.done_head import DoneHead
from failforward.policy.afil.experts import NUM_EXPERTS, PrefixCache, prefix_time
from failforward.policy.afil.guidance import DualField, guide
from failforward.policy.afil.mean_head import MeanHead
from failforward.policy.afil.rtc import PrefixCondition, clamp_prefix, freeze, frozen_rows, pigdm
from failforward.policy.afil.sampler import euler_sample, flow_times
from failforward.policy.afil.separate_experts import flow_experts, map_heads

HeadField = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class DualActionGenerator(nn.Module):
    """Backbone + dual flow experts (+ a done head when ``config.done_head``). All actions and states here are
    normalized (see ``NormStats``).

    Args:
        config: model shape.
        backbone: a :class:`PrefixEncoder` whose ``width`` equals ``config.width``; default the
            bundled :class:`SmallPrefixEncoder`.
    """

    def __init__(self, config: AfilModelConfig, backbone: PrefixEncoder | None = None) -> None:
        super().__init__()
        self.config = config
        self.backbone = backbone if backbone is not None else SmallPrefixEncoder(config)
        if self.backbone.width != config.width:
            raise ValueError(f"backbone width {self.backbone.width} != config.width {config.width}")
        self.experts = flow_experts(config)  # stacked heads, or a failure head of its own shape
        self.done = DoneHead(config.width) if config.done_head else None
        self.mean = MeanHead(config) if config.mean_head else None

    def encode(
        self,
        state: torch.Tensor,
        prompt: Mapping[str, torch.Tensor],
        images: torch.Tensor | None = None,
    ) -> Prefix:
        """Backbone pass, once per chunk.

        ``state [B, S]``, ``prompt``: the text encoder's inputs by name (``tokens, token_mask [B, L]`` or
        ``prompt_embedding [B, E]``; extra keys ignored), ``images uint8 [B, C, H, W, 3]`` → prefix ``[B, P, D]``
        (with ``state`` attached when the experts or the mean head read it, ``state_in_rows``, ``mean_head``).
        """
        prefix = self.backbone(state, prompt, images)
        return prefix._replace(state=state) if self.config.state_in_rows or self.config.mean_head else prefix

    def chunk_mean(self, prefix: Prefix) -> torch.Tensor | None:
        """The mean head's chunk ``μ [B, H, A]`` (normalized) that samples are drawn around; ``None`` without one."""
        return None if self.mean is None else self.mean(prefix)

    def done_probability(
        self, state: torch.Tensor, prompt: Mapping[str, torch.Tensor], images: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The done head's probability ``[B]`` that the prompted subgoal has ended (inputs as :meth:`encode`)."""
        if self.done is None:
            raise ValueError("this model has no done head (AfilModelConfig.done_head is false)")
        return torch.sigmoid(self.done(self.encode(state, prompt, images)))

    def head_field(
        self, cache: PrefixCache, experts: int, num_steps: int, frozen: torch.Tensor | None = None
    ) -> HeadField:
        """``(x_τ [B, H, A], τ [B]) -> [E, B, H, A]`` velocities of the first ``experts`` heads, one batched call.

        Only valid on the Euler grid ``τ_k = k / num_steps`` (what :func:`euler_sample` passes): the τ
        conditioning of all N steps is computed here, once per chunk, and step ``k`` reads row ``k``.
        ``frozen`` (``bool [B, H]``, training-time RTC) gives those chunk rows the features of τ = 1.
        """
        times = flow_times(num_steps, cache.bias.device)
        if frozen is not None:
            times = torch.cat([times, torch.ones_like(times[:1])])
        table = self.experts.time_features(times, experts)  # [E, N (+1), 1, D], or one [1, N (+1), 1, D_e] per head

        def heads(x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
            step = torch.round(tau * num_steps).long()  # [B], k of τ_k = k / N
            time = map_heads(lambda t: t[:, step], table)
            if frozen is not None:
                time = map_heads(lambda s, t: prefix_time(s, t[:, num_steps:], frozen), time, table)
            return self.experts.velocity(x, time, cache, experts)

        return heads

    def dual_field(self, cache: PrefixCache, num_steps: int | None = None) -> DualField:
        """``(x_τ [B, H, A], τ [B]) -> (v_s, v_f)``, both heads in one batched call.

        With ``num_steps`` the τ conditioning is precomputed for that Euler grid (see :meth:`head_field`);
        without, it is computed per call and any τ works.
        """
        if num_steps is None:
            heads: HeadField = lambda x, tau: self.experts(x, tau, cache, NUM_EXPERTS)  # noqa: E731
        else:
            heads = self.head_field(cache, NUM_EXPERTS, num_steps)

        def field(x: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            v = heads(x, tau)
            return v[0], v[1]

        return field

    def sample(
        self,
        state: torch.Tensor,
        prompt: Mapping[str, torch.Tensor],
        *,
        noise: torch.Tensor,
        num_steps: int,
        guidance: GuidanceConfig,
        images: torch.Tensor | None = None,
        prefix: PrefixCondition | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample a normalized chunk ``[B, H, A]`` from ``noise [B, H, A]``; returns it with λ trace ``[B, N]``.

        Per chunk: the backbone and the experts' cross-attention keys/values once, the τ conditioning of
        all N steps once; per Euler step: one batched expert call (success head only when unguided). A model with a
        mean head integrates its experts' residual field from ``noise`` and adds the head's mean.
        ``prefix`` adds real-time chunking at every step (``rtc``): training-time freezes its rows,
        inference-time corrects the guided velocity toward it (ΠGDM).
        """
        experts = 1 if guidance.mode is GuidanceMode.NONE else NUM_EXPERTS
        encoded = self.encode(state, prompt, images)
        cache, mean = self.experts.cache(encoded, experts), self.chunk_mean(encoded)
        if mean is not None and prefix is not None:  # the experts work around the mean: so does the prefix
            prefix = prefix._replace(actions=prefix.actions - mean)
        frozen = None
        if prefix is not None and prefix.method == "training":
            frozen = frozen_rows(prefix.length, noise.shape[1])
            noise = clamp_prefix(noise, prefix.actions, frozen)
        heads = self.head_field(cache, experts, num_steps, frozen)
        dual: DualField = lambda x, tau: _pair(heads(x, tau))  # noqa: E731
        field = guide(dual if frozen is None else freeze(dual, frozen), guidance)
        if prefix is not None and prefix.method == "inference":
            field = pigdm(field, prefix)
        chunk, lambdas = euler_sample(field, noise, num_steps)
        return (chunk, lambdas) if mean is None else (chunk + mean, lambdas)


def _pair(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``[E, B, H, A]`` → ``(v_s, v_f)``; with one head (unguided) the success velocity twice."""
    return v[0], v[-1]
