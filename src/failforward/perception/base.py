"""The object-pose estimator role: an observation in, the task objects' poses out (``Observation.object_state``).

Every estimator is a :class:`ObjectPerception`, chosen by name from :mod:`failforward.perception.registry`
(``perception.kind``) and run by the control loop before the policy sees the observation
(:mod:`failforward.control.perceive`). Users put their own estimator behind the same interface: register a builder.

Pose layout (``failforward.types``): ``float64 [7 · O]``, per object in ``object_names`` order its position
xyz [m] and its orientation as a unit quaternion (w, x, y, z), in the robot's world frame.

Example:
    >>> perception = make_perception(RgbdPerceptionConfig(), context)
    >>> perception.reset(seed)                   # a new episode
    >>> state = perception.estimate(observation)  # [7 · O], or a PerceptionError
"""

from __future__ import annotations

import abc

import numpy as np

from failforward.types import Observation


class ObjectPerception(abc.ABC):
    """Estimates the task objects' poses from one observation at a time (it may track across an episode)."""

    @property
    @abc.abstractmethod
    def object_names(self) -> tuple[str, ...]:
        """The objects whose poses :meth:`estimate` returns, in order."""

    @abc.abstractmethod
    def estimate(self, observation: Observation) -> np.ndarray:
        """``float64 [7 · O]`` poses of ``object_names`` at ``observation.timestamp`` (see the module docstring).

        Raises:
            CameraFrameError: a frame it needs is missing, stale, black or of the wrong size.
            ObjectNotFoundError: an object is not in view and not tracked.
            PerceptionError: any other reason it cannot estimate the poses.
        """

    def reset(self, seed: int | None = None) -> None:  # noqa: B027 - optional hook: stateless estimators keep nothing
        """A new episode starts: forget what was tracked. ``seed``: the episode's seed, which sets out a simulated
        scene that varies per episode (``None``: unknown, the scene as configured)."""

    def health(self) -> dict[str, float]:
        """Counters of the current episode (e.g. ticks an object was occluded); empty when it keeps none."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the estimator holds; called once when the run ends."""
