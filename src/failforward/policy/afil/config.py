"""Config models of the AFIL dual-head policy: model shape, guidance, sampler, backend.

All frozen pydantic models (the project's one config system); modes are ``Enum``/``Literal``.

Example:
    >>> cfg = get_model_preset("aloha_state")
    >>> (cfg.horizon, cfg.action_dim, cfg.cameras)
    (50, 14, ())
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from failforward.config import FrozenModel
from failforward.errors import UnknownNameError


class AfilModelConfig(FrozenModel):
    """Shape of the Dual Action Generator (bundled small backbone + two flow experts).

    Attributes:
        action_dim: A, joints per action row (ALOHA 14, Panda 7 or 8).
        state_dim: S, proprioception size (joint positions).
        horizon: H, rows per action chunk.
        cameras: camera names the backbone encodes, in input order; ``()`` is the state-only model.
        image_height, image_width: pixel size every camera image must have.
        patch_size: side of the square image patches (one prefix token per patch).
        width: D, token width of the backbone and the experts.
        attn_heads: attention heads per attention layer (``width`` must divide by it).
        backbone_layers, expert_layers: transformer blocks in the backbone and in each expert.
        mlp_ratio: hidden width of every MLP as a multiple of ``width``.
        vocab_size: hash buckets of the bundled prompt tokenizer.
        max_prompt_tokens: L, longest prompt (in words) the model accepts.
    """

    action_dim: int = Field(14, ge=1)
    state_dim: int = Field(14, ge=1)
    horizon: int = Field(50, ge=1)
    cameras: tuple[str, ...] = ()
    image_height: int = Field(96, ge=8)
    image_width: int = Field(128, ge=8)
    patch_size: int = Field(16, ge=2)
    width: int = Field(128, ge=8)
    attn_heads: int = Field(4, ge=1)
    backbone_layers: int = Field(2, ge=0)
    expert_layers: int = Field(2, ge=1)
    mlp_ratio: int = Field(2, ge=1)
    vocab_size: int = Field(4096, ge=16)
    max_prompt_tokens: int = Field(32, ge=1)

    @model_validator(mode="after")
    def _check(self) -> AfilModelConfig:
        if self.width % self.attn_heads:
            raise ValueError(f"width={self.width} must be divisible by attn_heads={self.attn_heads}")
        if self.cameras and (self.image_height % self.patch_size or self.image_width % self.patch_size):
            raise ValueError(
                f"image {self.image_height}x{self.image_width} must be a multiple of patch_size={self.patch_size}"
            )
        if len(set(self.cameras)) != len(self.cameras):
            raise ValueError(f"cameras must be unique, got {self.cameras}")
        return self


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


class SamplerConfig(FrozenModel):
    """Flow sampling: ``num_steps`` Euler steps from τ = 0 (noise) to τ = 1 (data)."""

    num_steps: int = Field(10, ge=1, le=100)
    guidance: GuidanceConfig = GuidanceConfig()


BackendKind = Literal["torch", "onnxruntime", "tensorrt"]
GraphLayout = Literal["fused", "split"]


class BackendConfig(FrozenModel):
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
        sampler: steps and guidance; ``num_steps`` must match an exported fused graph.
        seed: seed of the flow-noise generator used when ``infer`` gets no noise (``None``: fresh entropy).
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


MODEL_PRESETS: dict[str, AfilModelConfig] = {
    "tiny_state": AfilModelConfig(
        action_dim=4,
        state_dim=4,
        horizon=8,
        width=32,
        attn_heads=2,
        backbone_layers=1,
        expert_layers=1,
        vocab_size=64,
        max_prompt_tokens=6,
    ),
    "tiny_vision": AfilModelConfig(
        action_dim=4,
        state_dim=4,
        horizon=8,
        cameras=("top", "left_wrist"),
        image_height=32,
        image_width=32,
        patch_size=16,
        width=32,
        attn_heads=2,
        backbone_layers=1,
        expert_layers=1,
        vocab_size=64,
        max_prompt_tokens=6,
    ),
    "aloha_state": AfilModelConfig(),
    "aloha_vision": AfilModelConfig(cameras=("top", "left_wrist", "right_wrist")),
    "panda_state": AfilModelConfig(action_dim=8, state_dim=8, horizon=16),
}


def get_model_preset(name: str) -> AfilModelConfig:
    """Return a named model shape; unknown names raise with the closest valid name."""
    try:
        return MODEL_PRESETS[name]
    except KeyError:
        raise UnknownNameError("AFIL model preset", name, MODEL_PRESETS) from None
