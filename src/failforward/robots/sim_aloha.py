"""Simulated bimanual ALOHA driver (MuJoCo, gym-aloha scenes), registered as ``sim_aloha``.

Besides the driver interface it has :class:`~failforward.robots.capabilities.SceneAccess` (the MuJoCo scene,
cameras rendered on demand).

Example:
    >>> from failforward.config import SimAlohaConfig
    >>> from failforward.types import JointCommand
    >>> with SimAlohaDriver(SimAlohaConfig(task="transfer_cube")) as robot:
    ...     obs = robot.reset(seed=0)
    ...     sent = robot.send_action(JointCommand(obs.timestamp, obs.joint_positions))
"""

from __future__ import annotations

import mujoco
import numpy as np
from gym_aloha.constants import normalize_puppet_gripper_position

from failforward.config import SimAlohaConfig
from failforward.errors import DriverError, NotConnectedError, ShapeError
from failforward.robots.base import EpisodicDriver
from failforward.robots.registry import RobotDescription, register_description, register_driver
from failforward.sim.aloha_scene import CONTROL_DT, GRIPPER_INDICES, JOINT_NAMES, AlohaScene, SimState
from failforward.sim.tasks import SimTaskSpec, get_task
from failforward.types import (
    CameraFeature,
    EpisodeOutcome,
    JointCommand,
    JointFeature,
    Observation,
    RobotFeatures,
)

ARM_MAX_VELOCITY = 3.0  # [rad/s], a ViperX 300 S joint under load stays below this
GRIPPER_MAX_VELOCITY = 5.0  # [1/s] normalized gripper travel


def _aloha_joint_features(scene_ctrl_range: np.ndarray) -> tuple[JointFeature, ...]:
    """Limits from the MJCF actuator ranges ``[16, 2]``; finger ranges mapped to normalized grippers."""
    arm_rows = [*range(0, 6), *range(8, 14)]
    features = []
    arm_iter = iter(arm_rows)
    for index, name in enumerate(JOINT_NAMES):
        if index in GRIPPER_INDICES:
            lo, hi = scene_ctrl_range[6]
            features.append(
                JointFeature(
                    name,
                    "normalized",
                    float(normalize_puppet_gripper_position(lo)),
                    float(normalize_puppet_gripper_position(hi)),
                    GRIPPER_MAX_VELOCITY,
                )
            )
        else:
            lo, hi = scene_ctrl_range[next(arm_iter)]
            features.append(JointFeature(name, "rad", float(lo), float(hi), ARM_MAX_VELOCITY))
    return tuple(features)


def sim_aloha_features(config: SimAlohaConfig) -> RobotFeatures:
    """Joint limits from the task's MJCF actuator ranges (the model alone: no scene data, no renderer), the
    configured cameras at the configured size, one tick per control step, and the task objects when
    ``config.object_state``."""
    task = get_task(config.task, config.split)
    ctrl_range = mujoco.MjModel.from_xml_path(task.xml_path).actuator_ctrlrange.copy()
    cams = tuple(
        CameraFeature(c, config.image_height, config.image_width, c in config.depth_cameras) for c in config.cameras
    )
    objects = tuple(task.objects) if config.object_state else ()
    return RobotFeatures(
        joints=_aloha_joint_features(ctrl_range), cameras=cams, control_hz=1.0 / CONTROL_DT, object_names=objects
    )


@register_description("sim_aloha")
def describe_sim_aloha(config: SimAlohaConfig) -> RobotDescription:
    """Features and the task's prompt, without a scene."""
    return RobotDescription(sim_aloha_features(config), get_task(config.task, config.split).prompt, episodic=True)


@register_driver("sim_aloha")
class SimAlohaDriver(EpisodicDriver):
    """Two ViperX 300 S arms in MuJoCo; renders only ``config.cameras`` each observation."""

    def __init__(self, config: SimAlohaConfig) -> None:
        self.config = config
        self.task: SimTaskSpec = get_task(config.task, config.split)
        self._scene: AlohaScene | None = None
        self._max_stage = 0
        self._features = sim_aloha_features(config)

    @property
    def features(self) -> RobotFeatures:
        return self._features

    @property
    def is_connected(self) -> bool:
        return self._scene is not None

    @property
    def task_prompt(self) -> str:
        return self.task.prompt

    @property
    def scene(self) -> AlohaScene:
        if self._scene is None:
            raise NotConnectedError("SimAlohaDriver is not connected: call connect() or use it as a context manager.")
        return self._scene

    @property
    def scene_xml_path(self) -> str:
        """The task's MJCF file."""
        return self.task.xml_path

    @property
    def image_size(self) -> tuple[int, int]:
        """``(height, width)`` [px] of observations and ``render``."""
        return self.config.image_height, self.config.image_width

    def connect(self) -> None:
        if self._scene is None:
            self._scene = AlohaScene(self.task, shadows=self.config.shadows, antialias=self.config.antialias)
            self._scene.reset(seed=0)

    def reset(self, seed: int) -> Observation:
        self.scene.reset(seed)
        self._max_stage = 0
        return self.get_observation()

    def get_observation(self) -> Observation:
        scene = self.scene
        h, w = self.config.image_height, self.config.image_width
        images: dict[str, np.ndarray] = {cam: scene.render(cam, h, w) for cam in self.config.cameras}
        depth: dict[str, np.ndarray] = {cam: scene.render(cam, h, w, depth=True) for cam in self.config.depth_cameras}
        names = self._features.object_names
        poses = scene.object_poses() if names else {}  # no per-tick copy when object_state is off
        objects = [poses[name] for name in names]
        return Observation(
            timestamp=float(scene.data.time),
            joint_positions=scene.joint_positions(),
            joint_velocities=scene.joint_velocities(),
            images=images,
            depth=depth,
            object_state=np.concatenate(objects) if objects else np.zeros(0),
        )

    def render(self, camera: str, *, depth: bool = False) -> np.ndarray:
        """Render one camera on demand at the configured size (for consumers outside the tick)."""
        return self.scene.render(camera, self.config.image_height, self.config.image_width, depth=depth)

    def send_action(self, command: JointCommand) -> JointCommand:
        scene = self.scene
        positions = command.positions
        if positions.shape != (self._features.action_dim,):
            raise ShapeError(f"sim_aloha expects positions [14], got {positions.shape}.")
        if not np.all(np.isfinite(positions)):
            raise DriverError("sim_aloha refuses non-finite joint targets; pass commands through the safety layer.")
        sent = np.clip(positions, self._features.lower, self._features.upper)
        scene.step(sent)
        self._max_stage = max(self._max_stage, scene.stage())
        return JointCommand(timestamp=float(scene.data.time), positions=sent)

    def privileged_state(self) -> SimState:
        return self.scene.state()

    def episode_outcome(self) -> EpisodeOutcome:
        """Success once stage 4 was reached at any tick (gym-aloha terminates there too)."""
        if self._max_stage == 4:
            return EpisodeOutcome(True, 4, "success")
        return EpisodeOutcome(False, self._max_stage, self.task.failure_reasons[self._max_stage])

    def disconnect(self) -> None:
        if self._scene is not None:
            self._scene.close()
            self._scene = None
