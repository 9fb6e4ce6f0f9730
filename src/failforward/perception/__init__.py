"""Object perception: the task objects' poses for a state policy, behind one interface.

- :class:`~failforward.perception.base.ObjectPerception`: observation → ``object_state`` ``[7 · O]``.
- :mod:`~failforward.perception.registry`: estimators by name (``ground_truth`` for evaluation, ``rgbd``).
- :mod:`~failforward.perception.errors`: what makes the control loop hold (a bad frame, no object).
"""

from failforward.perception.base import ObjectPerception
from failforward.perception.errors import (
    CameraFrameError,
    FrameBlackError,
    FrameMissingError,
    FrameSizeError,
    FrameStaleError,
    ObjectNotFoundError,
    PerceptionError,
)
from failforward.perception.registry import PerceptionContext, make_perception, register_perception

__all__ = [
    "CameraFrameError",
    "FrameBlackError",
    "FrameMissingError",
    "FrameSizeError",
    "FrameStaleError",
    "ObjectNotFoundError",
    "ObjectPerception",
    "PerceptionContext",
    "PerceptionError",
    "make_perception",
    "register_perception",
]
