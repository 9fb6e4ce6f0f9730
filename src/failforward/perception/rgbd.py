"""``rgbd``: the task objects' poses from one camera's colour and depth frame, with OpenCV.

Per tick: the frame is checked (:mod:`~failforward.perception.frames`); per object, the pixels of its colour form
blobs (:mod:`~failforward.perception.segment`): the interior of the largest blob and of the blobs within the object's
length of it fixes the object's depth range, and their pixels within that range (border pixels mix colours: their
depth may be what lies behind) are back-projected with the calibrated intrinsics and camera pose
(:mod:`~failforward.perception.camera`); the level pose is read from their footprint
(:mod:`~failforward.perception.footprint`). Object models (colour, size, symmetry) come from the task's
scene (:mod:`~failforward.perception.objects`).

Occlusion: an object is *seen* when at least ``min_visible_fraction`` of its top face's expected pixels show; a
seen object whose footprint is partly hidden keeps its yaw and moves only as the visible part demands. An object out
of view in a closed gripper moves with it (:mod:`~failforward.perception.in_hand`) for as long as the gripper stays
closed; any other object out of view keeps its last pose for up to ``max_occlusion_s`` of robot time after it was
last seen. After that, or when it was never seen this episode,
:class:`~failforward.perception.errors.ObjectNotFoundError` is raised.

Example:
    >>> perception = RgbdPerception(object_models("transfer_cube"), camera, RgbdPerceptionConfig(), (240, 320))
    >>> perception.reset(); state = perception.estimate(observation)   # [7]
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from failforward.config.perception import RgbdPerceptionConfig
from failforward.errors import ConfigError
from failforward.perception.base import ObjectPerception
from failforward.perception.camera import CameraGeometry, backproject_mask
from failforward.perception.errors import ObjectNotFoundError
from failforward.perception.footprint import FootprintPose, footprint_pose, partial_pose
from failforward.perception.frames import RgbdFrame, rgbd_frame
from failforward.perception.in_hand import AlohaGrippers, Grasp, Grippers, carried, find_grasp
from failforward.perception.objects import ObjectModel, object_models
from failforward.perception.registry import PerceptionContext, register_perception
from failforward.perception.segment import blobs_near, colour_mask, interior, largest_blob, with_border
from failforward.types import Observation

MIN_PIXELS = 4
"""No fewer pixels than this ever make a pose (a rectangle needs a few points)."""
DEPTH_MARGIN_M = 0.005
"""[m] a border pixel belongs to the object when its depth is within the interior's depth range ± this."""


@dataclass(frozen=True)
class _Track:
    """An object's last pose, when [s, robot clock] it was last seen, and the gripper holding it out of view."""

    pose: FootprintPose
    seen_at: float
    grasp: Grasp | None = None


@dataclass(frozen=True)
class _Seen:
    """An object's visible pixels: ``points`` ``[N, 3]`` [m] in the world, ``pixel_m`` [m] one pixel's width there."""

    points: np.ndarray
    pixel_m: float


class RgbdPerception(ObjectPerception):
    """Poses of ``models`` from ``config.camera``'s RGB-D frames of ``size`` ``(height, width)`` [px].

    ``camera`` gives the intrinsics at ``size`` and the optical frame's pose in the world; ``grippers`` (optional)
    the grippers' poses from the measured joints, for objects hidden in a gripper.
    """

    def __init__(
        self,
        models: tuple[ObjectModel, ...],
        camera: CameraGeometry,
        config: RgbdPerceptionConfig,
        size: tuple[int, int],
        grippers: Grippers | None = None,
    ) -> None:
        self.models, self.camera, self.config, self.size, self.grippers = models, camera, config, size, grippers
        self._tracks: dict[str, _Track] = {}
        self._counts: dict[str, int] = {}
        self.reset()

    @property
    def object_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)

    def reset(self) -> None:
        self._tracks.clear()
        self._counts = {f"{what}_{m.name}": 0 for m in self.models for what in ("occluded", "partial", "carried")}

    def health(self) -> dict[str, float]:
        """Ticks of this episode each object was out of view (``occluded_``), partly hidden (``partial_``) and
        carried by a gripper out of view (``carried_``)."""
        return {name: float(n) for name, n in self._counts.items()}

    def estimate(self, observation: Observation) -> np.ndarray:
        frame = rgbd_frame(observation, self.config.camera, self.size, self.config.max_frame_age_s)
        intrinsics, pose = self.camera.intrinsics(*self.size), self.camera.world_from_camera()
        states = [self._track(m, self._points(m, frame, intrinsics, pose), observation) for m in self.models]
        return np.concatenate(states)

    def _track(self, model: ObjectModel, seen: _Seen | None, observation: Observation) -> np.ndarray:
        """``[7]``: the object's pose now (seen), or its last pose, carried if held (occluded); else raises."""
        last, now = self._tracks.get(model.name), observation.timestamp
        if seen is not None:
            points = seen.points
            pose = footprint_pose(points, model, last.pose.yaw if last else 0.0, seen.pixel_m)
            if last is not None and not pose.complete(model):
                pose = partial_pose(points, model, last.pose)
                self._counts[f"partial_{model.name}"] += 1
            self._tracks[model.name] = _Track(pose, now)
            return pose.state()
        if last is None:
            raise ObjectNotFoundError(self._not_found(model, last, now))
        track = self._carry(model, last, observation.joint_positions)
        if track.grasp is None and now - last.seen_at > self.config.max_occlusion_s:
            raise ObjectNotFoundError(self._not_found(model, last, now))
        self._counts[f"occluded_{model.name}"] += 1
        self._tracks[model.name] = track
        return track.pose.state()

    def _carry(self, model: ObjectModel, track: _Track, joints: np.ndarray) -> _Track:
        """``track`` moved with the closed gripper holding it (found on the first tick one closes over it; let go
        when it opens); else as it was, without a grasp."""
        if self.grippers is None or not self.config.in_hand:
            return track
        tools, limit = self.grippers(joints), self.config.grasp_max_opening
        grasp = track.grasp if track.grasp and tools[track.grasp.gripper].opening < limit else None
        grasp = grasp or find_grasp(track.pose.position, tools, self.config.grasp_radius_m, limit)
        if grasp is None:
            return replace(track, grasp=None)
        self._counts[f"carried_{model.name}"] += 1
        return replace(track, pose=replace(track.pose, position=carried(grasp, tools)), grasp=grasp)

    def _points(self, model: ObjectModel, frame: RgbdFrame, intrinsics: np.ndarray, pose: np.ndarray) -> _Seen | None:
        """The object's largest blob in the world when enough of its top face shows, else ``None``."""
        colour = colour_mask(frame.rgb, model.hue, self.config.hue_tolerance_deg)
        inner = largest_blob(interior(colour), MIN_PIXELS)
        if inner is None:
            return None
        reach = 2.0 * max(model.half_extents) * intrinsics[0, 0] / float(np.median(frame.depth[inner]))
        inner = blobs_near(interior(colour), inner, reach)
        depths = frame.depth[inner]
        low, high = float(depths.min()) - DEPTH_MARGIN_M, float(depths.max()) + DEPTH_MARGIN_M
        blob = with_border(inner, colour) & (frame.depth >= low) & (frame.depth <= high)  # its pixels, border too
        depth = float(np.median(depths))
        if blob.sum() < max(MIN_PIXELS, self.config.min_visible_fraction * _top_face_pixels(model, depth, intrinsics)):
            return None
        return _Seen(backproject_mask(blob, frame.depth, intrinsics, pose), depth / intrinsics[0, 0])

    def _not_found(self, model: ObjectModel, last: _Track | None, now: float) -> str:
        where = f"camera {self.config.camera!r}"
        if last is None:
            return (
                f"{model.name!r} (hue {model.hue:.0f} deg) is not in view of {where} and was not seen this episode: "
                "check that it is on the table within the camera's view, and the lighting; the arms are held."
            )
        return (
            f"{model.name!r} has been out of view of {where} for {now - last.seen_at:.2f} s (limit "
            f"perception.max_occlusion_s = {self.config.max_occlusion_s} s): it fell, left the table or stays "
            "hidden behind the arm; the arms are held."
        )


def _top_face_pixels(model: ObjectModel, depth: float, intrinsics: np.ndarray) -> float:
    """How many pixels the object's whole top face (``2 hx × 2 hy`` [m]) covers at ``depth`` [m]."""
    face = 4.0 * model.half_extents[0] * model.half_extents[1]
    return face * intrinsics[0, 0] * intrinsics[1, 1] / max(depth, 1e-3) ** 2


@register_perception("rgbd")
def build_rgbd(config: RgbdPerceptionConfig, context: PerceptionContext) -> RgbdPerception:
    """The RGB-D estimator for ``context.task``'s objects on the calibrated ``context.camera``, with the ALOHA's
    grippers for objects held out of view (``config.in_hand``)."""
    cameras = {c.name: c for c in context.features.cameras}
    feature = cameras.get(config.camera)
    if feature is None or not feature.depth:
        raise ConfigError(
            f"perception.kind='rgbd' needs colour and depth of camera {config.camera!r}; the robot streams "
            f"{sorted(cameras) or 'no cameras'} (depth: {sorted(n for n, c in cameras.items() if c.depth) or 'none'}): "
            f"add {config.camera!r} to robot.cameras and robot.depth_cameras, or set perception.camera."
        )
    if context.camera is None:
        raise ConfigError(
            f"perception.kind='rgbd' needs the calibrated intrinsics and pose of camera {config.camera!r}: the "
            "simulated scene's camera, or a calibration record listing it (calibration/<robot>/<id>/)."
        )
    from failforward.sim.tasks import get_task  # the ALOHA tasks' scenes: the sim extra

    grippers = AlohaGrippers(get_task(context.task).xml_path) if config.in_hand else None
    size = (feature.height, feature.width)
    return RgbdPerception(object_models(context.task), context.camera, config, size, grippers)
