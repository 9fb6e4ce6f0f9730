"""The perception camera's RGB-D frame, checked before anything is computed from it.

A frame is refused with a typed :class:`~failforward.perception.errors.CameraFrameError` when it is missing
(no colour or no depth image of the camera), stale (captured more than ``max_age_s`` before the observation,
``Observation.frame_times``), black (brightest pixel at most ``BLACK_LEVEL`` of 255: a covered, unpowered or not
yet streaming camera) or of another size than the camera was configured and calibrated for. The control loop
holds the robot on any of them (:mod:`failforward.control.perceive`).

Example:
    >>> frame = rgbd_frame(observation, "top", (240, 320), max_age_s=0.1)
    >>> frame.rgb.shape, frame.depth.dtype
    ((240, 320, 3), dtype('float32'))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from failforward.perception.errors import FrameBlackError, FrameMissingError, FrameSizeError, FrameStaleError
from failforward.types import Observation

BLACK_LEVEL = 8
"""A colour frame whose brightest pixel is at most this (of 255) shows nothing (the AFIL image policy's level)."""


@dataclass(frozen=True)
class RgbdFrame:
    """One checked frame: ``rgb`` uint8 ``[H, W, 3]``, ``depth`` float32 ``[H, W]`` [m] along the optical axis,
    registered to ``rgb``; ``age_s`` [s] between its capture and the observation."""

    rgb: np.ndarray
    depth: np.ndarray
    age_s: float


def rgbd_frame(observation: Observation, camera: str, size: tuple[int, int], max_age_s: float) -> RgbdFrame:
    """The colour and depth frame of ``camera`` in ``observation``, checked.

    Args:
        observation: one tick's observation.
        camera: the perception camera's name (``Observation.images`` and ``Observation.depth`` key).
        size: ``(height, width)`` [px] the camera is configured for (intrinsics are scaled to it).
        max_age_s: [s] the oldest a frame may be, relative to ``observation.timestamp``.

    Raises:
        FrameMissingError, FrameSizeError, FrameStaleError, FrameBlackError.
    """
    rgb, depth = observation.images.get(camera), observation.depth.get(camera)
    if rgb is None or depth is None:
        missing = " and ".join(kind for kind, image in (("colour", rgb), ("depth", depth)) if image is None)
        raise FrameMissingError(
            f"No {missing} frame of camera {camera!r} in this observation (it has colour {sorted(observation.images)}, "
            f"depth {sorted(observation.depth)}): list {camera!r} in robot.cameras and robot.depth_cameras, and check "
            "that the camera streams; the arms are held."
        )
    _check_size(camera, "colour", rgb.shape[:2], size)
    _check_size(camera, "depth", depth.shape[:2], size)
    age = observation.timestamp - observation.frame_times.get(camera, observation.timestamp)
    if age > max_age_s:
        raise FrameStaleError(
            f"Camera {camera!r}: its frame is {age:.3f} s older than the observation (limit "
            f"perception.max_frame_age_s = {max_age_s} s). Check its cable, USB bandwidth and frame rate; the arms "
            "are held."
        )
    brightest = int(rgb.max())
    if brightest <= BLACK_LEVEL:
        raise FrameBlackError(
            f"Camera {camera!r}: the colour frame is black (brightest pixel {brightest} of 255): the camera is "
            "covered, unpowered or not streaming yet; check it and its exposure. The arms are held."
        )
    return RgbdFrame(rgb, np.asarray(depth, dtype=np.float32), max(age, 0.0))


def _check_size(camera: str, kind: str, shape: tuple[int, ...], size: tuple[int, int]) -> None:
    if tuple(shape) != tuple(size):
        raise FrameSizeError(
            f"Camera {camera!r}: the {kind} frame is {shape[1]}x{shape[0]} px, perception expects "
            f"{size[1]}x{size[0]} (the configured size its intrinsics are scaled to): set the camera's resolution "
            "to match, or the robot's image size. The arms are held."
        )
