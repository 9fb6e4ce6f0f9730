"""Errors of object perception. The control loop catches :class:`PerceptionError`: it holds the robot that tick and
never infers from the observation (see :mod:`failforward.control.perceive`)."""

from __future__ import annotations

from failforward.errors import FailforwardError, ShapeError


class PerceptionError(FailforwardError):
    """Object poses could not be estimated from this observation."""


class CameraFrameError(PerceptionError):
    """The perception camera's frame is unusable (missing, stale, black or of the wrong size)."""


class FrameMissingError(CameraFrameError):
    """The observation has no colour or no depth frame of the perception camera."""


class FrameStaleError(CameraFrameError):
    """The frame was captured longer ago than ``perception.max_frame_age_s`` before the observation."""


class FrameBlackError(CameraFrameError):
    """The colour frame shows nothing (a covered, unpowered or not yet streaming camera)."""


class FrameSizeError(CameraFrameError, ShapeError):
    """A colour or depth frame has another size than the camera was configured (and calibrated) for."""


class ObjectNotFoundError(PerceptionError):
    """A task object is not in view and has not been seen recently enough to keep tracking it."""
