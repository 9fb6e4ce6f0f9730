"""Config models of the AFIL dual-head policy: model shape (here), guidance, sampler, backend.

All frozen pydantic models (the project's one config system); modes are ``Enum``/``Literal``.

Example:
    >>> cfg = get_model_preset("aloha_state")
    >>> (cfg.horizon, cfg.action_dim, cfg.cameras)
    (50, 14, ())
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import Field, model_validator

from failforward.config import FrozenModel
from failforward.config.base import ValueEnum

# The guidance, sampler and backend models live with the other policy configs (config/policy.py), so
# RunConfig can hold an AFIL policy; they are re-exported here under the names the AFIL code uses.
from failforward.config.policy import AfilPolicyConfig as BackendConfig
from failforward.config.policy import BackendKind as BackendKind
from failforward.config.policy import GraphLayout as GraphLayout
from failforward.config.policy import GuidanceConfig as GuidanceConfig
from failforward.config.policy import GuidanceMode as GuidanceMode
from failforward.config.policy import SamplerConfig as SamplerConfig
from failforward.errors import UnknownNameError
from failforward.policy.afil.action_space import TOOL_ACTION_DIM, ActionSpace, robot_action_dim
from failforward.policy.afil.state_features import FEATURES, StateFeature, extra_size

__all__ = [
    "MODEL_PRESETS",
    "AfilModelConfig",
    "BackendConfig",
    "BackendKind",
    "ExpertShape",
    "GraphLayout",
    "GuidanceConfig",
    "GuidanceMode",
    "ImageEncoderKind",
    "SamplerConfig",
    "TextEncoderKind",
    "get_model_preset",
]


class ImageEncoderKind(ValueEnum):
    """How the bundled backbone turns camera images into prefix tokens.

    ``patch``: a strided conv patchifier, one token per ``patch_size`` patch (ViT-like; GPU-sized).
    ``conv``: a small ResNet with GroupNorm and a spatial softmax (diffusion policy / robomimic's
    small-data recipe), one token per camera (CPU-sized; ``conv_channels``, ``keypoints``).
    """

    PATCH = "patch"
    CONV = "conv"


class TextEncoderKind(ValueEnum):
    """How the prompt becomes prefix tokens (``policy.afil.text_encoder``; both run offline).

    ``hash``: lower-cased words hashed into ``vocab_size`` buckets with learned embeddings (inputs ``tokens``,
    ``token_mask``): no notion of meaning, "raise" and "lift" are unrelated words.
    ``minilm``: the all-MiniLM-L6-v2 sentence embedding (384-d, unit norm), computed once per distinct prompt and
    projected to ``prompt_tokens`` prefix tokens (input ``prompt_embedding``); the model directory ships the
    embeddings of its training prompts, so known prompts need no text model at runtime.
    """

    HASH = "hash"
    MINILM = "minilm"


class ExpertShape(NamedTuple):
    """Shape of one flow expert: token ``width`` D, transformer ``layers``, ``attn_heads``, ``mlp_ratio``."""

    width: int
    layers: int
    attn_heads: int
    mlp_ratio: int
    self_attention: bool = True


class AfilModelConfig(FrozenModel):
    """Shape of the Dual Action Generator (bundled small backbone + two flow experts).

    Attributes:
        action_dim: A, joints per action row (ALOHA 14, Panda 7 or 8).
        state_dim: S, state input size: joint positions, then object poses (7 per object) if the robot
            offers them (``RobotFeatures.state_dim``).
        horizon: H, rows per action chunk.
        cameras: camera names the backbone encodes, in input order; ``()`` is the state-only model.
        image_height, image_width: pixel size every camera image must have.
        patch_size: side of the square image patches (one prefix token per patch; ``patch`` encoder).
        image_encoder: ``patch`` or ``conv`` (see :class:`ImageEncoderKind`).
        conv_channels: channels of the ``conv`` encoder's residual trunk.
        keypoints: K, spatial-softmax keypoints per camera (``conv`` encoder): ``2K`` coordinates → one token.
        width: D, token width of the backbone and the experts.
        attn_heads: attention heads per attention layer (``width`` must divide by it).
        backbone_layers, expert_layers: transformer blocks in the backbone and in each expert.
        mlp_ratio: hidden width of every MLP as a multiple of ``width``.
        vocab_size: hash buckets of the bundled prompt tokenizer.
        max_prompt_tokens: L, longest prompt (in words) the model accepts (``hash`` text encoder).
        text_encoder: ``hash`` or ``minilm`` (see :class:`TextEncoderKind`); ``hash`` in older manifests.
        prompt_tokens: T, prefix tokens projected from the sentence embedding (``minilm`` text encoder).
        failure_width, failure_layers, failure_attn_heads, failure_mlp_ratio, failure_self_attention: the failure
            expert's own shape
            (a *light* failure head, AFIL's "lightweight" failure generator); ``None`` (default, and in older
            manifests) = the success expert's ``width``, ``expert_layers``, ``attn_heads``, ``mlp_ratio`` and
            self-attention over the chunk rows (``failure_self_attention=False``: blocks of cross-attention + MLP). When
            the two shapes are equal the heads share stacked weights (one batched call per step); otherwise the
            failure expert is its own module that cross-attends to the prefix projected to ``failure_width``.
        done_head: a done expert beside the flow experts (VINE's System 1, ``policy.afil.done_head``): from the
            backbone's prefix, the probability that the prompted subgoal has ended (end of edge). ``False`` (default,
            and in older manifests): no done head, no ``done`` graph.
        relative_actions: action dimensions the model predicts relative to the same index of the state at the
            chunk's first tick (delta joint actions, as π0 does for arm joints): the model outputs
            ``a[t + k] − q[t]`` and the runtime adds the observed ``q[t]`` back, so a chunk starts where the arm is
            however coarse the fit. Use it for joints whose action and state share units (arm joints, not a gripper
            whose command is not its position). ``()`` (default, and in older manifests): absolute targets. With
            ``action_space: aloha_tool`` the indices name tool-row columns and the reference is the tool row of the
            measured joints (forward kinematics): relative positions (:data:`TOOL_POSITION_COLUMNS`) are the tool's
            displacement [m] from where it is.
        state_features: features derived from the raw state and appended to it (``policy.afil.state_features``,
            e.g. ``aloha_tool_offsets``: the tool points and each object's offset from them); the model's state input
            is :attr:`input_state_dim` wide. ``()`` (default, and in older manifests): the raw state.
        state_norm: how training fits the state's normalization: ``moments`` (mean and std, the default and older
            manifests') or ``robust`` (the moments of each dimension's values near its median,
            ``normalize.robust_moments``: an absent object parked far away no longer sets the scale of its
            dimensions). Inference reads the fitted stats either way.
        state_in_rows: the normalized state also enters every chunk row of the action experts directly (a linear
            projection added to each row's token, as π0 gives its action expert the proprioceptive state), beside
            the backbone's state token that the rows reach only through cross-attention. ``False`` (default, and in
            older manifests): the prefix alone.
        mean_head: a regression head predicts the chunk's mean from the observation (plain squared error on success
            chunks) and the flow experts model the chunk around it (``policy.afil.mean_head``): where the chunk goes
            is learned without the flow loss's noise. ``False`` (default, and in older manifests): no mean head.
        action_space: what an action row is (``policy.afil.action_space``): ``joints`` (default, and in older
            manifests) the robot's joint targets; ``aloha_tool`` the 14-joint ALOHA's two tool poses and grippers
            (``action_dim`` 20), turned into joint targets by IK at run time (:attr:`robot_action_dim` = 14).
    """

    action_dim: int = Field(14, ge=1)
    state_dim: int = Field(14, ge=1)
    horizon: int = Field(50, ge=1)
    cameras: tuple[str, ...] = ()
    image_height: int = Field(96, ge=8)
    image_width: int = Field(128, ge=8)
    patch_size: int = Field(16, ge=2)
    image_encoder: ImageEncoderKind = ImageEncoderKind.PATCH
    conv_channels: int = Field(32, ge=4)
    keypoints: int = Field(32, ge=1)
    width: int = Field(128, ge=8)
    attn_heads: int = Field(4, ge=1)
    backbone_layers: int = Field(2, ge=0)
    expert_layers: int = Field(2, ge=1)
    mlp_ratio: int = Field(2, ge=1)
    vocab_size: int = Field(4096, ge=16)
    max_prompt_tokens: int = Field(32, ge=1)
    text_encoder: TextEncoderKind = TextEncoderKind.HASH
    prompt_tokens: int = Field(4, ge=1)
    failure_width: int | None = Field(None, ge=8)
    failure_layers: int | None = Field(None, ge=1)
    failure_attn_heads: int | None = Field(None, ge=1)
    failure_mlp_ratio: int | None = Field(None, ge=1)
    failure_self_attention: bool | None = None
    done_head: bool = False
    relative_actions: tuple[int, ...] = ()
    state_features: tuple[StateFeature, ...] = ()
    state_norm: Literal["moments", "robust"] = "moments"
    state_in_rows: bool = False
    mean_head: bool = False
    action_space: ActionSpace = "joints"

    @property
    def robot_action_dim(self) -> int:
        """Joints per row the robot receives (``action_dim`` unless the rows are tool poses)."""
        return robot_action_dim(self.action_space, self.action_dim)

    @property
    def input_state_dim(self) -> int:
        """The model's state input: ``state_dim`` raw numbers, then the ``state_features``."""
        return self.state_dim + extra_size(self.state_features, self.state_dim)

    @property
    def success_expert(self) -> ExpertShape:
        """Shape of the success expert (the backbone's ``width``)."""
        return ExpertShape(self.width, self.expert_layers, self.attn_heads, self.mlp_ratio)

    @property
    def failure_expert(self) -> ExpertShape:
        """Shape of the failure expert: its ``failure_*`` fields, each defaulting to the success expert's."""
        s = self.success_expert
        return ExpertShape(
            s.width if self.failure_width is None else self.failure_width,
            s.layers if self.failure_layers is None else self.failure_layers,
            s.attn_heads if self.failure_attn_heads is None else self.failure_attn_heads,
            s.mlp_ratio if self.failure_mlp_ratio is None else self.failure_mlp_ratio,
            s.self_attention if self.failure_self_attention is None else self.failure_self_attention,
        )

    @property
    def stacked_experts(self) -> bool:
        """True when both experts have one shape: their weights are stacked on one expert axis."""
        return self.failure_expert == self.success_expert

    @model_validator(mode="after")
    def _check(self) -> AfilModelConfig:
        if self.width % self.attn_heads:
            raise ValueError(f"width={self.width} must be divisible by attn_heads={self.attn_heads}")
        failure = self.failure_expert
        if failure.width % failure.attn_heads:
            raise ValueError(
                f"failure expert width {failure.width} must be divisible by its {failure.attn_heads} attention "
                "heads; set failure_attn_heads to a divisor of failure_width."
            )
        patched = self.image_encoder is ImageEncoderKind.PATCH
        if self.cameras and patched and (self.image_height % self.patch_size or self.image_width % self.patch_size):
            raise ValueError(
                f"image {self.image_height}x{self.image_width} must be a multiple of patch_size={self.patch_size}"
            )
        if len(set(self.cameras)) != len(self.cameras):
            raise ValueError(f"cameras must be unique, got {self.cameras}")
        tool = self.action_space == "aloha_tool"
        bound = self.action_dim if tool else min(self.action_dim, self.state_dim)
        bad = [i for i in self.relative_actions if not 0 <= i < bound]
        if bad or len(set(self.relative_actions)) != len(self.relative_actions):
            names = "a tool-row column" if tool else "a joint in both"
            raise ValueError(
                f"relative_actions {list(self.relative_actions)} must be distinct indices below {bound} (action_dim "
                f"{self.action_dim}, state_dim {self.state_dim}): each names {names}."
            )
        if tool and (self.action_dim != TOOL_ACTION_DIM or self.state_dim < self.robot_action_dim):
            raise ValueError(
                f"action_space aloha_tool needs action_dim {TOOL_ACTION_DIM} and the ALOHA's 14 joints first in the "
                f"state; got action_dim {self.action_dim}, state_dim {self.state_dim}."
            )
        for name in self.state_features:
            if not FEATURES[name].valid(self.state_dim, self.robot_action_dim):
                raise ValueError(
                    f"state feature {name!r} needs {FEATURES[name].requires}; the model has action_dim "
                    f"{self.action_dim} and state_dim {self.state_dim}: drop the feature or fix the dims."
                )
        return self


_TINY_STATE = AfilModelConfig(
    action_dim=4,
    state_dim=4,
    horizon=8,
    width=32,
    attn_heads=2,
    backbone_layers=1,
    expert_layers=1,
    vocab_size=64,
    max_prompt_tokens=6,
)
_TINY_VISION = AfilModelConfig(
    **{
        **_TINY_STATE.model_dump(),
        "cameras": ("top", "left_wrist"),
        "image_height": 32,
        "image_width": 32,
        "patch_size": 16,
    }
)
_TINY_VISION_CONV = _TINY_VISION.model_copy(
    update={
        "cameras": ("top", "left_wrist", "right_wrist"),
        "image_height": 24,
        "image_width": 32,
        "image_encoder": ImageEncoderKind.CONV,
        "conv_channels": 8,
        "keypoints": 4,
    }
)

MODEL_PRESETS: dict[str, AfilModelConfig] = {
    "tiny_state": _TINY_STATE,
    "tiny_vision": _TINY_VISION,
    "tiny_vision_conv": _TINY_VISION_CONV,
    "tiny_state_minilm": _TINY_STATE.model_copy(update={"text_encoder": TextEncoderKind.MINILM, "prompt_tokens": 2}),
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
