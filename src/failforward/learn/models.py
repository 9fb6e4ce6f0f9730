"""Model shapes for learning runs: the AFIL presets plus a CPU-sized state model.

``aloha_state_cpu`` is ``aloha_state`` at width 64 with a 512-bucket tokenizer (0.4 M parameters):
one AdamW step at batch 64 takes ~0.25 s on one loaded CPU core, against ~1.3 s for ``aloha_state``
(width 128, 2.0 M), which is what makes a full collect → train → rollout → correct round fit in an hour.
``aloha_vision`` (three 96×128 cameras) is the GPU configuration. ``aloha_vision_cpu`` is ``aloha_state_cpu``
with no object state and three 72×96 cameras (top + both wrists, the native 4:3 aspect) through the small
ResNet/GroupNorm + spatial-softmax encoder (``policy.afil.conv_encoder``, one token per camera): one AdamW
step at batch 32 takes ~0.7 s on one loaded CPU core; ``aloha_vision_cpu_minilm`` is it with the ``minilm`` text
encoder (``docs/text_encoder.md``). ``panda_state_cpu`` is the same width for
the ManiSkill Panda tasks: 8 joints (7 arm [rad] + gripper), chunks of 16 ticks at 20 Hz (0.8 s).

Example:
    >>> get_learn_model("aloha_state_cpu").width
    64
"""

from __future__ import annotations

from failforward.errors import UnknownNameError
from failforward.policy.afil.config import MODEL_PRESETS, AfilModelConfig, ImageEncoderKind, TextEncoderKind

LEARN_MODELS: dict[str, AfilModelConfig] = {
    "aloha_state_cpu": AfilModelConfig(width=64, attn_heads=4, vocab_size=512, max_prompt_tokens=24),
    "panda_state_cpu": AfilModelConfig(
        action_dim=8, state_dim=8, horizon=16, width=64, attn_heads=4, vocab_size=512, max_prompt_tokens=24
    ),
    "aloha_vision_cpu": AfilModelConfig(
        width=64,
        attn_heads=4,
        vocab_size=512,
        max_prompt_tokens=24,
        cameras=("top", "left_wrist", "right_wrist"),
        image_height=72,
        image_width=96,
        image_encoder=ImageEncoderKind.CONV,
        conv_channels=32,
        keypoints=32,
    ),
    **MODEL_PRESETS,
}
# aloha_vision_cpu with the minilm prompt encoder (policy.afil.text_encoder): 4 prefix tokens projected from the
# all-MiniLM-L6-v2 embedding instead of 24 hashed word slots; the model directory ships its training prompts' table.
LEARN_MODELS["aloha_vision_cpu_minilm"] = LEARN_MODELS["aloha_vision_cpu"].model_copy(
    update={"text_encoder": TextEncoderKind.MINILM, "prompt_tokens": 4}
)


def get_learn_model(name: str) -> AfilModelConfig:
    """The named model shape (``LEARN_MODELS``); unknown names raise with the closest valid name."""
    try:
        return LEARN_MODELS[name]
    except KeyError:
        raise UnknownNameError("learning model", name, LEARN_MODELS) from None
