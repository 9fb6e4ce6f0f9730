"""Give a trained model a new failure head of its own shape, keeping its backbone and success head.

The cheap way to a light failure head: the backbone and the success expert of a trained model are kept
(bit for bit), a fresh failure expert of ``config.failure_*`` shape is initialized, and only it is then trained
(``learn.TrainConfig.failure_head_from``). The success head's stacked weights ``[2, …]`` are sliced to ``[:1]``.

Example:
    >>> from failforward.policy.afil.config import get_model_preset
    >>> base = DualActionGenerator(get_model_preset("tiny_state"))
    >>> light = with_new_failure_head(base, base.config.model_copy(update={"failure_layers": 1, "failure_width": 16}))
    >>> light.experts.failure.width
    16
"""

from __future__ import annotations

import torch

from failforward.errors import ConfigError
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.experts import DualFlowExperts
from failforward.policy.afil.model import DualActionGenerator
from failforward.policy.afil.separate_experts import SeparateFlowExperts

FAILURE_FIELDS = (
    "failure_width",
    "failure_layers",
    "failure_attn_heads",
    "failure_mlp_ratio",
    "failure_self_attention",
)


# a light failure head's blocks besides width and depth (models/afil_aloha_transfer_cube_light, issue 17 item 3)
LIGHT_HEAD = {"failure_attn_heads": 2, "failure_mlp_ratio": 2, "failure_self_attention": False}


def light_head_config(config: AfilModelConfig, width: int = 32, layers: int = 1) -> AfilModelConfig:
    """``config`` with a light failure head: ``layers`` cross-attention + MLP blocks of ``width`` (2 attention
    heads, MLP ratio 2, no self-attention over the chunk rows), the shape of ``models/afil_aloha_transfer_cube_light``.
    """
    light = {**LIGHT_HEAD, "failure_width": width, "failure_layers": layers}
    return AfilModelConfig.model_validate({**config.model_dump(), **light})


def success_state(experts: DualFlowExperts | SeparateFlowExperts) -> dict[str, torch.Tensor]:
    """The success expert's parameters as a one-head stack (every stacked weight sliced to ``[:1]``)."""
    if isinstance(experts, SeparateFlowExperts):
        return dict(experts.success.state_dict())
    return {name: value[:1].clone() for name, value in experts.state_dict().items()}


def with_new_failure_head(model: DualActionGenerator, config: AfilModelConfig) -> DualActionGenerator:
    """A model of ``config`` with ``model``'s backbone and success head and a freshly initialized failure head.

    ``config`` must equal ``model.config`` except for the ``failure_*`` fields and must give the failure head
    its own shape (``config.stacked_experts`` false).
    """
    keep = {k: v for k, v in config.model_dump().items() if k not in FAILURE_FIELDS}
    base = {k: v for k, v in model.config.model_dump().items() if k not in FAILURE_FIELDS}
    if keep != base:
        diff = sorted(k for k in keep if keep[k] != base[k])
        raise ConfigError(
            f"a new failure head keeps the model's backbone and success head, so only {FAILURE_FIELDS} may differ; "
            f"{diff} differ too. Start from the model's own config and change the failure_* fields only."
        )
    if config.stacked_experts:
        raise ConfigError(
            "the new failure head has the success head's shape, so its weights would be stacked with the success "
            "head's; set failure_width or failure_layers (a light head) to train a separate failure head."
        )
    new = DualActionGenerator(config)
    new.backbone.load_state_dict(model.backbone.state_dict())
    experts = new.experts
    if not isinstance(experts, SeparateFlowExperts):  # guaranteed by config.stacked_experts being false
        raise ConfigError("internal: a separate failure head was expected")
    experts.success.load_state_dict(success_state(model.experts))
    return new
