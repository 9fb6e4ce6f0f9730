"""Object-pose estimators registered by name; ``RunConfig.perception.kind`` selects one.

A builder receives the perception config and a :class:`PerceptionContext` (the robot's features, the task and,
for camera-based estimators, the calibrated camera), so that nothing is looked up behind the caller's back.

Example:
    >>> perception = make_perception(config.perception, PerceptionContext(driver.features, "transfer_cube", camera))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from failforward.perception.base import ObjectPerception
from failforward.perception.camera import CameraGeometry
from failforward.registry import Registry
from failforward.types import RobotFeatures


@dataclass(frozen=True)
class PerceptionContext:
    """What an estimator builder may know.

    Attributes:
        features: the driver's features (cameras and their sizes; the objects a simulator reports, if any).
        task: the task's name (``"transfer_cube"``), which names the objects.
        camera: the calibrated geometry of the perception camera, or ``None`` when the config names none.
        split: the task's split (``plug_strip``'s variations; ``"seen"`` for tasks without).
    """

    features: RobotFeatures
    task: str
    camera: CameraGeometry | None = None
    split: str = "seen"


PerceptionBuilder = Callable[[Any, PerceptionContext], ObjectPerception]
PERCEPTION: Registry[PerceptionBuilder] = Registry(
    "perception",
    {
        "ground_truth": "failforward.perception.ground_truth",
        "rgbd": "failforward.perception.rgbd",
    },
)


def register_perception(kind: str) -> Callable[[PerceptionBuilder], PerceptionBuilder]:
    """Decorator registering ``builder(config, context) -> ObjectPerception`` under ``kind``."""
    return PERCEPTION.register(kind)


def make_perception(config: Any, context: PerceptionContext) -> ObjectPerception:
    """The estimator ``config.kind`` names, built for ``context``."""
    return PERCEPTION.get(config.kind)(config, context)
