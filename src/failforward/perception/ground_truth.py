"""``ground_truth``: the simulator's object poses, passed through and checked. For evaluation only.

The simulated robot reports its task objects' poses in every observation when ``robot.object_state`` is on; this
estimator hands them on unchanged after checking their layout, so that a run can compare a learned policy on
perceived poses against the same policy on the truth. A deployed run refuses it (``RunConfig``).
"""

from __future__ import annotations

import numpy as np

from failforward.config.perception import GroundTruthPerceptionConfig
from failforward.errors import ConfigError
from failforward.perception.base import ObjectPerception
from failforward.perception.errors import PerceptionError
from failforward.perception.registry import PerceptionContext, register_perception
from failforward.types import Observation


class GroundTruthPerception(ObjectPerception):
    """The observation's ``object_state`` (the simulator's poses of ``objects``), checked for size and finiteness."""

    def __init__(self, objects: tuple[str, ...]) -> None:
        self._objects = objects

    @property
    def object_names(self) -> tuple[str, ...]:
        return self._objects

    def estimate(self, observation: Observation) -> np.ndarray:
        state = observation.object_state
        if state.shape != (7 * len(self._objects),) or not np.all(np.isfinite(state)):
            raise PerceptionError(
                f"ground_truth perception expects the simulator's poses of {list(self._objects)} "
                f"([{7 * len(self._objects)}] finite numbers), the observation has {state.size}: the robot must "
                "report them (robot.object_state=true)."
            )
        return state


@register_perception("ground_truth")
def build_ground_truth(config: GroundTruthPerceptionConfig, context: PerceptionContext) -> GroundTruthPerception:
    """The pass-through for a robot whose observations carry its objects' poses."""
    if not context.features.object_names:
        raise ConfigError(
            "perception.kind='ground_truth' passes the simulator's object poses through, but this robot reports "
            "none: set robot.object_state=true (simulators only), or use perception.kind='rgbd'."
        )
    return GroundTruthPerception(context.features.object_names)
