"""``rgbd``: the task objects' poses from one camera's colour and depth frame, with OpenCV.

Per tick: the frame is checked (:mod:`~failforward.perception.frames`); per object, the pixels of its colour form
blobs (:mod:`~failforward.perception.segment`): the interior of the largest blob and of the blobs within the object's
length of it fixes the object's depth range, and their pixels within that range (border pixels mix colours: their
depth may be what lies behind) are back-projected with the calibrated intrinsics and camera pose
(:mod:`~failforward.perception.camera`); the level pose is read from their footprint
(:mod:`~failforward.perception.footprint`). Object models (colour, size, symmetry) come from the task's
scene (:mod:`~failforward.perception.objects`).

Occlusion: an object is *seen* when at least ``min_visible_fraction`` of its top face's expected pixels show (at
first sight any part of it: a plug under a gripper at home is placed at what shows, its yaw read later). A
seen object whose footprint is partly hidden, that a gripper is near (``occluder_radius_m``: the arm above it may
hide part of it), or whose footprint turned further than it can have since its yaw was last read in full view
(``max_yaw_rate``) keeps its yaw and moves only as the visible part demands. A tracked object is the largest blob of
its colour within its length of where it was, no higher than its top face allows; a view larger than the object has
something else of its colour in it and is not used. An object out of view in a closed gripper moves with it
(:mod:`~failforward.perception.in_hand`) until the gripper opens: only objects narrow enough to grasp
(``max_grasp_width_m``), by a gripper that was at it when it was last seen or opened since, and that holds nothing
else (carried, or closed on an object in view this tick: objects in view are tracked first). Any other object out of
view keeps its last pose while a gripper is near it (the arm above it hides it: a plug in its socket under the arm
inserting the next one), else for up to ``max_occlusion_s`` of robot time after it was last seen, let go or
uncovered. After that, or when it was never seen this episode,
:class:`~failforward.perception.errors.ObjectNotFoundError` is raised.

A scene set out differently per episode (``plug_strip``: the strip's colour, which plugs are on the table) gives the
estimator its models per episode (``models_for(seed)``, applied at :meth:`RgbdPerception.reset`); an object the
episode leaves out reads as the pose the scene keeps it at, without looking for it. Hues closer than twice
``hue_tolerance_deg`` split the distance between them.

Example:
    >>> perception = RgbdPerception(object_models("transfer_cube"), camera, RgbdPerceptionConfig(), (240, 320))
    >>> perception.reset(); state = perception.estimate(observation)   # [7]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from failforward.config.perception import RgbdPerceptionConfig
from failforward.errors import ConfigError
from failforward.perception.base import ObjectPerception
from failforward.perception.camera import CameraGeometry, backproject_mask, height_map, project_point
from failforward.perception.errors import ObjectNotFoundError
from failforward.perception.footprint import FootprintPose, footprint_pose, oversized, partial_pose
from failforward.perception.frames import RgbdFrame, rgbd_frame
from failforward.perception.in_hand import AlohaGrippers, Grasp, Grippers, Tool, carried, find_grasp
from failforward.perception.objects import ObjectModel, episode_object_models, object_models
from failforward.perception.registry import PerceptionContext, register_perception
from failforward.perception.segment import (
    blobs_near,
    bright_mask,
    colour_mask,
    hsv_of,
    interior,
    largest_blob,
    largest_blob_near,
    with_border,
)
from failforward.types import Observation

MIN_PIXELS = 4
"""No fewer pixels than this ever make a pose (a rectangle needs a few points)."""
DEPTH_MARGIN_M = 0.005
"""[m] a border pixel belongs to the object when its depth is within the interior's depth range ± this."""
RISE_MARGIN_M = 0.03
"""[m] a tracked object's points lie at most this far above its last top face (a gripper's lit face over a white
strip, joined to its blob in the image, is not the strip); an object lifted in view rises less in one tick."""
YAW_JITTER_RAD = 0.35
"""[rad] how far a seen object's yaw estimate may move between ticks without turning: a few-pixel footprint's
rectangle wobbles by this much (a 36 x 24 mm plug spans 7 x 5 pixels at 240x320)."""


@dataclass(frozen=True)
class _Track:
    """An object's last pose, when [s, robot clock] it was last seen or carried, the gripper holding it out of view,
    and when its yaw was last read in full view."""

    pose: FootprintPose
    seen_at: float
    grasp: Grasp | None = None
    yaw_at: float = 0.0
    holders: frozenset[str] = frozenset()  # grippers that may carry it: at it when last seen, or opened since


@dataclass(frozen=True)
class _Seen:
    """An object's visible pixels: ``points`` ``[N, 3]`` [m] in the world, ``pixel_m`` [m] one pixel's width there."""

    points: np.ndarray
    pixel_m: float


class RgbdPerception(ObjectPerception):
    """Poses of ``models`` from ``config.camera``'s RGB-D frames of ``size`` ``(height, width)`` [px].

    ``camera`` gives the intrinsics at ``size`` and the optical frame's pose in the world; ``grippers`` (optional)
    the grippers' poses from the measured joints, for objects hidden in a gripper; ``models_for`` (optional) the
    models of an episode from its seed, for a scene set out per episode (the same objects, in the same order).
    """

    def __init__(
        self,
        models: tuple[ObjectModel, ...],
        camera: CameraGeometry,
        config: RgbdPerceptionConfig,
        size: tuple[int, int],
        grippers: Grippers | None = None,
        models_for: Callable[[int], tuple[ObjectModel, ...]] | None = None,
    ) -> None:
        self.models, self.camera, self.config, self.size, self.grippers = models, camera, config, size, grippers
        self.models_for = models_for
        self._tools_at: tuple[tuple[float, bytes], dict[str, Tool]] | None = None
        self._now = 0.0
        self._tracks: dict[str, _Track] = {}
        self._counts: dict[str, int] = {}
        self.reset()

    @property
    def object_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)

    def reset(self, seed: int | None = None) -> None:
        if seed is not None and self.models_for is not None:
            models = self.models_for(seed)
            if tuple(m.name for m in models) != self.object_names:
                raise ConfigError(
                    f"The models of episode {seed} name {[m.name for m in models]}, the estimator reports "
                    f"{list(self.object_names)}: an episode's scene must hold the task's objects in the task's order."
                )
            self.models = models
        self._tracks.clear()
        self._counts = {f"{what}_{m.name}": 0 for m in self.models for what in ("occluded", "partial", "carried")}

    def health(self) -> dict[str, float]:
        """Ticks of this episode each object was out of view (``occluded_``), partly hidden (``partial_``) and
        carried by a gripper out of view (``carried_``)."""
        return {name: float(n) for name, n in self._counts.items()}

    def estimate(self, observation: Observation) -> np.ndarray:
        frame = rgbd_frame(observation, self.config.camera, self.size, self.config.max_frame_age_s)
        intrinsics, pose = self.camera.intrinsics(*self.size), self.camera.world_from_camera()
        self._now = observation.timestamp
        heights = height_map(frame.depth, intrinsics, pose) if self._tracks else None
        present = [m for m in self.models if m.absent_state is None]
        hsv = hsv_of(frame.rgb)
        seen = {m.name: self._points(m, frame, hsv, intrinsics, pose, heights) for m in present}
        # objects in view first: a gripper closed on one in view this tick is busy when the hidden ones are carried
        states = {m.name: self._track(m, seen[m.name], observation) for m in present if seen[m.name] is not None}
        states.update({m.name: self._track(m, None, observation) for m in present if seen[m.name] is None})
        return np.concatenate(
            [
                np.asarray(m.absent_state, dtype=np.float64) if m.absent_state is not None else states[m.name]
                for m in self.models
            ]
        )

    def _mask(self, model: ObjectModel, hsv: np.ndarray) -> np.ndarray:
        """bool ``[H, W]``: the pixels of ``model``'s colour (brightness for a white or grey object; hue otherwise,
        within the config's tolerance or half the distance to the nearest other object's hue)."""
        if model.achromatic:
            return bright_mask(hsv, self.config.bright_value)
        others = [
            abs((m.hue - model.hue + 180.0) % 360.0 - 180.0)
            for m in self.models
            if m is not model and not m.achromatic and m.absent_state is None
        ]
        tolerance = min([self.config.hue_tolerance_deg, *(d / 2.0 for d in others if d > 0)])
        return colour_mask(hsv, model.hue, tolerance)

    def _track(self, model: ObjectModel, seen: _Seen | None, observation: Observation) -> np.ndarray:
        """``[7]``: the object's pose now (seen), or its last pose, carried if held (occluded); else raises."""
        last, now = self._tracks.get(model.name), observation.timestamp
        if seen is not None:
            points = seen.points
            pose, yaw_at = footprint_pose(points, model, last.pose.yaw if last else 0.0, seen.pixel_m), now
            if last is None and not pose.complete(model, seen.pixel_m):
                yaw_at = -np.inf  # first seen in part (under a gripper): its yaw is read when it shows whole
            hidden = last is not None and (
                not pose.complete(model, seen.pixel_m) or self._turned_too_fast(pose, last, now)
            )
            if last is not None and (hidden or self._arm_over(model, last, observation)):
                pose, yaw_at = partial_pose(points, model, last.pose), last.yaw_at
                self._counts[f"partial_{model.name}"] += 1
            self._tracks[model.name] = _Track(
                pose, now, yaw_at=yaw_at, holders=self._holding(pose.position, observation)
            )
            return pose.state()
        if last is None:
            raise ObjectNotFoundError(self._not_found(model, last, now))
        track = self._carry(model, last, observation.joint_positions, now)
        if track.grasp is None and self._arm_over(model, track, observation):
            track = replace(track, seen_at=now)  # under an arm that hides it: where it was (a plug in its socket)
        if track.grasp is None and now - track.seen_at > self.config.max_occlusion_s:
            raise ObjectNotFoundError(self._not_found(model, track, now))
        self._counts[f"occluded_{model.name}"] += 1
        self._tracks[model.name] = track
        return track.pose.state()

    def _tools(self, joints: np.ndarray) -> dict[str, Tool]:
        """The grippers at ``joints`` this tick (forward kinematics once per tick, reused for every object)."""
        assert self.grippers is not None
        key = (self._now, np.asarray(joints, dtype=np.float64).tobytes())
        if self._tools_at is None or self._tools_at[0] != key:
            self._tools_at = (key, self.grippers(joints))
        return self._tools_at[1]

    def _busy(self, model: ObjectModel, now: float, tools: dict[str, Tool], limit: float) -> set[str]:
        """Grippers holding another object: carrying it out of view, or closed (below ``limit``) at one seen this
        tick (a plug picked up beside one in its socket is the one taken)."""
        busy = set()
        for name, track in self._tracks.items():
            if name == model.name:
                continue
            if track.grasp is not None:
                busy.add(track.grasp.gripper)
            elif track.seen_at >= now:
                busy |= {g for g in track.holders if tools[g].opening < limit}
        return busy

    def _holding(self, position: np.ndarray, observation: Observation) -> frozenset[str]:
        """The grippers whose tool point is within the grasp radius of ``position`` [m]: open or closed, they may
        hold the object in view or be about to close on it."""
        if self.grippers is None or not self.config.in_hand:
            return frozenset()
        tools = self._tools(observation.joint_positions)
        return frozenset(
            name
            for name, tool in tools.items()
            if np.linalg.norm(tool.world_from_tool[:3, 3] - position) <= self.config.grasp_radius_m
        )

    def _arm_over(self, model: ObjectModel, track: _Track, observation: Observation) -> bool:
        """Whether a gripper's tool point is within ``occluder_radius_m`` of the object's footprint (horizontally):
        the arm may hide part of it, so a rectangle that looks whole is not trusted."""
        if self.grippers is None:
            return False
        reach = max(model.half_extents[:2]) + self.config.occluder_radius_m
        tools = self._tools(observation.joint_positions)
        return any(np.linalg.norm(t.world_from_tool[:2, 3] - track.pose.position[:2]) <= reach for t in tools.values())

    def _turned_too_fast(self, pose: FootprintPose, last: _Track, now: float) -> bool:
        """Whether ``pose``'s yaw is further from ``last``'s than the object can have turned since it was known."""
        turned = abs(float(np.angle(np.exp(1j * (pose.yaw - last.pose.yaw)))))
        return turned > YAW_JITTER_RAD + self.config.max_yaw_rate * max(now - last.yaw_at, 0.0)

    def _carry(self, model: ObjectModel, track: _Track, joints: np.ndarray, now: float) -> _Track:
        """``track`` moved with the closed gripper holding it (found on the first tick one closes over it, if that
        gripper holds no other object; let go when it opens), known at ``now``; else as it was, without a grasp."""
        narrow = 2.0 * min(model.half_extents[:2]) <= self.config.max_grasp_width_m
        if self.grippers is None or not self.config.in_hand or not narrow:
            return track
        tools, limit = self._tools(joints), self.config.grasp_max_opening
        grasp = track.grasp.tightened(tools) if track.grasp and track.grasp.holds(tools, limit) else None
        holders = track.holders | {name for name, tool in tools.items() if tool.opening >= limit}
        if track.grasp is not None and grasp is None:
            holders -= {track.grasp.gripper}  # it let go: it takes hold again only after opening fully
        if grasp is None and track.grasp is None:
            busy = self._busy(model, now, tools, limit)
            grasp = find_grasp(track.pose.position, tools, self.config.grasp_radius_m, limit, holders - busy)
        if grasp is None:
            return replace(track, grasp=None, holders=holders)
        self._counts[f"carried_{model.name}"] += 1
        return replace(track, pose=replace(track.pose, position=carried(grasp, tools)), grasp=grasp, seen_at=now)

    def _points(
        self,
        model: ObjectModel,
        frame: RgbdFrame,
        hsv: np.ndarray,
        intrinsics: np.ndarray,
        pose: np.ndarray,
        heights: np.ndarray | None,
    ) -> _Seen | None:
        """The object's largest blob in the world when enough of its top face shows, else ``None``. ``heights``
        ``[H, W]`` [m]: each pixel's height in the world, to keep a tracked object's pixels near its last height."""
        colour = self._mask(model, hsv)
        track = self._tracks.get(model.name)
        if track is not None and heights is not None:
            colour &= heights <= track.pose.position[2] + model.half_extents[2] + RISE_MARGIN_M
        core = interior(colour)
        inner = self._blob(model, core, intrinsics, pose)
        if inner is None and model.name not in self._tracks:
            inner = largest_blob(colour, MIN_PIXELS)  # first sight of a sliver too thin to erode: its raw pixels
        if inner is None:
            return None
        reach = 2.0 * max(model.half_extents) * intrinsics[0, 0] / float(np.median(frame.depth[inner]))
        pieces = blobs_near(core, inner, reach)
        seen = self._seen(model, pieces, colour, frame, intrinsics, pose)
        if seen is not None and oversized(seen.points, model, seen.pixel_m):
            seen = self._seen(model, inner, colour, frame, intrinsics, pose)  # a piece nearby was something else
        if seen is not None and oversized(seen.points, model, seen.pixel_m):
            return None  # joined to something of its colour: not a view of it alone
        return seen

    def _seen(
        self,
        model: ObjectModel,
        inner: np.ndarray,
        colour: np.ndarray,
        frame: RgbdFrame,
        intrinsics: np.ndarray,
        pose: np.ndarray,
    ) -> _Seen | None:
        """The world points of blob ``inner`` with its border pixels at its depths, when enough of the top face
        shows."""
        depths = frame.depth[inner]
        low, high = float(depths.min()) - DEPTH_MARGIN_M, float(depths.max()) + DEPTH_MARGIN_M
        blob = with_border(inner, colour) & (frame.depth >= low) & (frame.depth <= high)  # its pixels, border too
        depth = float(np.median(depths))
        fraction = self.config.min_visible_fraction if model.name in self._tracks else 0.0  # first sight: any part
        if blob.sum() < max(MIN_PIXELS, fraction * _top_face_pixels(model, depth, intrinsics)):
            return None
        return _Seen(backproject_mask(blob, frame.depth, intrinsics, pose), depth / intrinsics[0, 0])

    def _blob(
        self, model: ObjectModel, mask: np.ndarray, intrinsics: np.ndarray, pose: np.ndarray
    ) -> np.ndarray | None:
        """The object's blob in ``mask``: the largest one, or for an object tracked in view the largest within its
        length of where it was (another thing of its colour elsewhere, a lit face of an arm, is not it). An object
        believed carried is looked for anywhere: the grasp may have failed, leaving it in view where it was."""
        track = self._tracks.get(model.name)
        if track is None or track.grasp is not None:
            return largest_blob(mask, MIN_PIXELS)
        pixel = project_point(track.pose.position, intrinsics, pose)
        if pixel is None:
            return None
        depth = float(np.linalg.norm(track.pose.position - pose[:3, 3]))
        radius = 2.0 * max(model.half_extents) * intrinsics[0, 0] / max(depth, 1e-3)
        return largest_blob_near(mask, pixel, radius, MIN_PIXELS)

    def _not_found(self, model: ObjectModel, last: _Track | None, now: float) -> str:
        where = f"camera {self.config.camera!r}"
        if last is None:
            colour = "white or grey" if model.achromatic else f"hue {model.hue:.0f} deg"
            return (
                f"{model.name!r} ({colour}) is not in view of {where} and was not seen this episode: "
                "check that it is on the table within the camera's view, and the lighting; the arms are held."
            )
        return (
            f"{model.name!r} has been out of view of {where}, with no gripper over it, for "
            f"{now - last.seen_at:.2f} s (limit "
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

    spec = get_task(context.task, context.split)
    grippers = AlohaGrippers(spec.xml_path) if config.in_hand else None
    size = (feature.height, feature.width)
    models_for = None
    if spec.configure is not None:  # a scene set out per episode: its objects' models per seed

        def models_for(seed: int) -> tuple[ObjectModel, ...]:
            return episode_object_models(context.task, context.split, seed)

    return RgbdPerception(object_models(context.task), context.camera, config, size, grippers, models_for)
