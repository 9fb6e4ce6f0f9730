"""Policy configs: the simple built-in policies and the AFIL dual-head flow policy (seed 000).

``RunConfig.policy`` is a union discriminated on ``kind``; the policy registry builds the named one.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from failforward.config.base import FrozenModel


class GuidanceMode(str, enum.Enum):
    """How the failure head steers sampling (AFIL Eq. 6-8).

    - ``NONE``: success head only, ``v = v_s``.
    - ``STATIC``: ``v = v_s + λ (v_s − v_f)`` with a constant ``λ``.
    - ``ADAPTIVE``: ``λ_t = γ · (1 − cos(v_s, v_f)) / 2`` per sample per step.
    """

    NONE = "none"
    STATIC = "static"
    ADAPTIVE = "adaptive"


class GuidanceConfig(FrozenModel):
    """Failure-informed guidance. Paper defaults: static λ = 0.05, adaptive γ = 1.0.

    ``clamp`` bounds every λ_t to ``[0, clamp]``.
    """

    mode: GuidanceMode = GuidanceMode.ADAPTIVE
    static_lambda: float = Field(0.05, ge=0.0)
    gamma: float = Field(1.0, ge=0.0)
    clamp: float = Field(1.0, ge=0.0)

    def coefficients(self) -> tuple[float, float, float]:
        """``(λ_static, γ, clamp)`` as the sampler graphs take them; modes map onto one formula

        ``λ_t = clip(λ_static + γ (1 − cos) / 2, 0, clamp)``: static sets γ = 0, adaptive λ_static = 0.
        ``NONE`` is served by the success-only graph and returns zeros.
        """
        if self.mode is GuidanceMode.STATIC:
            return (self.static_lambda, 0.0, self.clamp)
        if self.mode is GuidanceMode.ADAPTIVE:
            return (0.0, self.gamma, self.clamp)
        return (0.0, 0.0, 0.0)


NoiseScope = Literal["chunk", "episode"]
"""How often the flow noise is drawn when the caller passes none: ``chunk``, afresh for every chunk; ``episode``, once
per episode and reused for each of its chunks (a deterministic policy within the episode: where the action
distribution has several modes, e.g. a gripper open or closed, consecutive chunks land in the same one unless the
observation moves them, instead of each drawing its mode anew). Measured on the plug strip's learned System 1 it did
worse than ``chunk``: a deterministic policy can settle on a fixed point (README, VINE System 1's fourth round)."""


class SamplerConfig(FrozenModel):
    """Flow sampling: ``num_steps`` Euler steps from τ = 0 (noise) to τ = 1 (data); ``noise``: see ``NoiseScope``."""

    num_steps: int = Field(10, ge=1, le=100)
    guidance: GuidanceConfig = GuidanceConfig()
    noise: NoiseScope = "chunk"


class GripperLatchConfig(FrozenModel):
    """Hysteresis on the gripper's open/closed decision between consecutive chunks (``policy.gripper_latch``).

    A chunk commands *closed* when its gripper target at its last row is below ``closed_below``, *open* above
    ``open_above`` (normalized units: 0 closed, 1 open). The latch keeps the state last commanded until
    ``release_chunks`` consecutive chunks command the other one, overwriting the gripper's column meanwhile; a new
    prompt or episode forgets it. ``release_chunks = 1`` passes every chunk through unchanged.
    """

    closed_below: float = Field(0.3, ge=0.0, le=1.0)
    open_above: float = Field(0.7, ge=0.0, le=1.0)
    release_chunks: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> GripperLatchConfig:
        if self.closed_below > self.open_above:
            raise ValueError(
                f"gripper_latch.closed_below ({self.closed_below}) must not exceed open_above ({self.open_above})."
            )
        return self


BackendKind = Literal["torch", "onnxruntime", "tensorrt"]
GraphLayout = Literal["fused", "split"]
RtcChoice = Literal["auto", "none", "inference", "training"]
"""Real-time chunking of the AFIL policy (see ``failforward.policy.base.RtcMethod``): ``auto`` = ``training``
when the model was trained for prefixes (``manifest.json`` says so), else ``inference`` on the torch backend,
else ``none``."""


class AfilPolicyConfig(FrozenModel):
    """The AFIL policy: which backend runs which model directory ``models/<name>/``.

    Attributes:
        kind: policy registry name (always ``"afil"``; ``failforward.policy.registry`` dispatches on it).
        backend: registry name of the backend that runs the model.
        model_dir: directory holding ``manifest.json`` and the files it lists.
        device: ``"cpu"`` or ``"cuda"`` (torch device; onnxruntime picks its CUDA provider).
        layout: ``fused`` runs one graph per chunk (backbone + N steps + guidance); ``split`` runs the
            backbone graph once and the expert graph N times with guidance on the host.
        precision: ``fp16`` runs the ``*_fp16`` graphs (export them with ``precisions=("fp32", "fp16")``;
            TensorRT ≥ 11 takes precision from the graph) or, for torch, a ``half()`` copy of the model.
        threads: CPU threads for torch / onnxruntime (1 on shared machines).
        sampler: steps, guidance and noise scope; ``num_steps`` must match an exported fused graph.
        seed: seed of the flow noise when ``infer`` gets none: each episode draws from ``(seed, episode seed)``,
            so a seed's result does not depend on the episodes before it (``None``: fresh entropy).
        rtc: how a real-time chunking prefix is honoured (``RtcChoice``): ``training`` needs a model trained
            for prefixes, ``inference`` (ΠGDM guidance, a vector-Jacobian product per step) the torch backend.
        rtc_beta: β, the largest inference-time RTC guidance weight (Black et al. 2025 use 5).
        gripper_latch: hysteresis on the grippers' open/closed decision between chunks (``None``: off).
    """

    kind: Literal["afil"] = "afil"
    backend: BackendKind = "onnxruntime"
    model_dir: Path
    device: Literal["cpu", "cuda"] = "cpu"
    layout: GraphLayout = "fused"
    precision: Literal["fp32", "fp16"] = "fp32"
    threads: int = Field(1, ge=1)
    sampler: SamplerConfig = SamplerConfig()
    seed: int | None = None
    rtc: RtcChoice = "auto"
    rtc_beta: float = Field(5.0, gt=0.0)
    gripper_latch: GripperLatchConfig | None = None
