"""Registers the AFIL policy as ``kind="afil"`` in ``failforward.policy.registry``.

The builder accepts a :class:`BackendConfig` (``kind="afil"``), or any config with the same fields (so
``failforward.config`` can declare its own ``AfilPolicyConfig`` without importing this package), and
checks the model against the robot before the first tick.
"""

from __future__ import annotations

from typing import Any

from failforward.errors import ConfigError
from failforward.policy.afil.backends import AfilBackend, make_backend
from failforward.policy.afil.config import AfilModelConfig, BackendConfig
from failforward.policy.gripper_latch import GripperLatch, gripper_columns
from failforward.policy.registry import PolicyContext, register_policy
from failforward.types import RobotFeatures


def check_compatible(model: AfilModelConfig, features: RobotFeatures) -> None:
    """Raise ``ConfigError`` when the model's joints or cameras do not fit the robot's features."""
    if model.robot_action_dim != features.action_dim or model.state_dim != features.state_dim:
        raise ConfigError(
            f"AFIL model has state/action dims {model.state_dim}/{model.robot_action_dim}, the robot has "
            f"{features.action_dim} joints and {features.object_state_dim} object-state numbers "
            f"({list(features.object_names)}); pick a model trained for this robot, or set the robot's "
            "object_state to match how the model was trained."
        )
    cameras = {c.name: c for c in features.cameras}
    for name in model.cameras:
        if name not in cameras:
            raise ConfigError(f"AFIL model needs camera {name!r}; the robot offers {sorted(cameras)}.")
        if (cameras[name].height, cameras[name].width) != (model.image_height, model.image_width):
            raise ConfigError(
                f"camera {name!r} renders {cameras[name].width}x{cameras[name].height}, the model needs "
                f"{model.image_width}x{model.image_height}; set the robot's image size to match."
            )


@register_policy("afil")
def build_afil(config: Any, context: PolicyContext) -> AfilBackend | GripperLatch:
    """Load the model directory named by ``config`` and check it fits ``context.features``; with
    ``config.gripper_latch`` the backend's chunks pass through a :class:`GripperLatch`."""
    if not isinstance(config, BackendConfig):
        config = BackendConfig.model_validate(config.model_dump())
    policy = make_backend(config)
    check_compatible(policy.manifest.model, context.features)
    if config.gripper_latch is None:
        return policy
    return GripperLatch(policy, gripper_columns(context.features), config.gripper_latch)
