"""ManiSkill 3 tabletop tasks with the Franka Panda as an :class:`EpisodicDriver`, registered as ``maniskill``.

Runs in ``.venv-maniskill`` (``scripts/setup_maniskill.sh``): ManiSkill pins numpy < 2 and needs Vulkan.
``mani_skill`` is imported when a driver is built, never when this module is imported.

Command and observation vector ``[8]`` (``RobotFeatures.joint_names`` order):
- ``panda_joint1`` .. ``panda_joint7``: arm joint positions [rad], sent as absolute ``pd_joint_pos`` targets.
- ``panda_gripper``: normalized, 0 closed .. 1 open. Commands map linearly onto ManiSkill's gripper action
  ``a = 2 g - 1`` in [-1, 1], which its controller maps onto a finger target of ``-0.01 + 0.05 g`` [m]
  (the -0.01 m end squeezes what is held). Observations map the measured finger position ``q`` [m] back
  the same way, ``g = (q + 0.01) / 0.05``: an empty closed hand reads 0.2, fully open 1.0.

Time: ``Observation.timestamp`` is simulation time [s] = control ticks × 1/20 s since ``reset``.

Object state (``ManiSkillConfig.object_state``): ``Observation.object_state`` ``[7 · objects]`` holds each task
object's pose in the world frame, position [m] then quaternion (w, x, y, z), as ManiSkill's ``Pose.raw_pose``
gives it, in the task's fixed order (``ManiSkillTaskSpec.objects``, also ``RobotFeatures.object_names``):
StackCube ``cubeA`` (red, the one to pick), ``cubeB`` (green); LiftPegUpright ``peg``; PullCube ``cube``,
``goal_region`` (the target disc, kinematic: it shows where to pull to once the cube has moved).

Example:
    >>> from failforward.config import ManiSkillConfig
    >>> from failforward.types import JointCommand
    >>> with ManiSkillDriver(ManiSkillConfig(task="PullCube-v1")) as robot:
    ...     obs = robot.reset(seed=0)
    ...     sent = robot.send_action(JointCommand(obs.timestamp, obs.joint_positions))
    ...     robot.episode_outcome()
"""

from __future__ import annotations

import importlib
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from failforward.config import ManiSkillConfig
from failforward.errors import DriverError, NotConnectedError, ShapeError
from failforward.robots.base import EpisodicDriver
from failforward.robots.registry import RobotDescription, register_description, register_driver
from failforward.types import EpisodeOutcome, JointCommand, JointFeature, Observation, RobotFeatures

logger = logging.getLogger(__name__)

ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
GRIPPER_NAME = "panda_gripper"
GRIPPER_MAX_VELOCITY = 20.0
"""[1/s] of the normalized gripper *target*: a full open↔close switch within one 50 ms tick, as ManiSkill's
own motion planner commands it; the fingers then move as fast as the simulated PD drive lets them."""


@dataclass(frozen=True)
class Stage:
    """One milestone of a task: the evaluation ``flag`` that marks it, and the failure reason when an
    episode got no further than the stage before it."""

    flag: str
    failure: str


@dataclass(frozen=True)
class ManiSkillTaskSpec:
    """What the driver adds to a ManiSkill task: the prompt, ordered stages, the objects whose poses the
    observation may carry, and flags beyond ``evaluate()``.

    ``objects`` are actor names (keys of ``scene.actors``) in ``Observation.object_state`` order.
    ``extra_flags(base_env) -> {name: bool}`` computes milestones ``evaluate()`` does not report.
    """

    prompt: str
    stages: tuple[Stage, ...]
    objects: tuple[str, ...]
    extra_flags: Callable[[Any], dict[str, bool]] = lambda base: {}


def _peg_grasped(base: Any) -> dict[str, bool]:
    return {"is_peg_grasped": bool(_scalar(base.agent.is_grasping(base.peg)))}


TASKS: dict[str, ManiSkillTaskSpec] = {
    "StackCube-v1": ManiSkillTaskSpec(
        prompt="pick up the red cube and stack it on the green cube",
        stages=(
            Stage("is_cubeA_grasped", "the red cube was never grasped"),
            Stage("is_cubeA_on_cubeB", "the red cube was grasped but never placed on the green cube"),
            Stage("success", "the red cube reached the green cube but was never left at rest on it, released"),
        ),
        objects=("cubeA", "cubeB"),
    ),
    "LiftPegUpright-v1": ManiSkillTaskSpec(
        prompt="lift the peg and stand it upright on the table",
        stages=(
            Stage("is_peg_grasped", "the peg was never grasped"),
            Stage("success", "the peg was grasped but never stood upright on the table"),
        ),
        objects=("peg",),
        extra_flags=_peg_grasped,
    ),
    "PullCube-v1": ManiSkillTaskSpec(
        prompt="pull the blue cube back onto the red and white target",
        stages=(Stage("success", "the cube never reached the target region"),),
        objects=("cube", "goal_region"),
    ),
}


@dataclass(frozen=True)
class ManiSkillState:
    """Privileged simulator state at one tick (for experts, oracles and labels; never a policy input).

    Attributes:
        task: ManiSkill env id, e.g. ``"StackCube-v1"``.
        control_mode: the env's control mode (``"pd_joint_pos"``).
        seed: the seed of the current episode's ``reset``.
        tick: control ticks since ``reset``.
        sim_state: ``env.get_state_dict()`` as ManiSkill returns it (batched torch tensors); restoring it
            with ``env.set_state_dict`` on an env of the same task reset with the same seed reproduces the scene.
        tcp_pose: ``[7]`` tool-centre-point pose in the world frame: position [m], quaternion (w, x, y, z).
        object_poses: actor name → ``[7]`` pose in the world frame, same layout (table and ground excluded).
        evaluation: the task's ``evaluate()`` dict as Python bools/floats (``"success"`` among them).
    """

    task: str
    control_mode: str
    seed: int
    tick: int
    sim_state: dict[str, Any]
    tcp_pose: np.ndarray
    object_poses: dict[str, np.ndarray]
    evaluation: dict[str, Any]

    @property
    def success(self) -> bool:
        return bool(self.evaluation.get("success", False))


def import_maniskill() -> Any:
    """Import ``gymnasium`` with ManiSkill's envs registered; a typed error says how to get them."""
    try:
        gym = importlib.import_module("gymnasium")
        importlib.import_module("mani_skill.envs")
    except ImportError as exc:
        raise DriverError(
            f"ManiSkill is not importable here ({exc}). It lives in its own venv (numpy < 2, Vulkan): run "
            "`bash scripts/setup_maniskill.sh`, then use `.venv-maniskill/bin/python`."
        ) from exc
    return gym


def make_maniskill_env(task: str, control_mode: str, max_episode_steps: int, sim_backend: str = "physx_cpu") -> Any:
    """A state-only, render-less ManiSkill env on the CPU physics backend (one env, batch dimension 1)."""
    gym = import_maniskill()
    try:
        return gym.make(
            task,
            obs_mode="state",
            sim_backend=sim_backend,
            render_mode=None,
            control_mode=control_mode,
            max_episode_steps=max_episode_steps,
        )
    except RuntimeError as exc:  # SAPIEN raises RuntimeError when it finds no Vulkan device
        raise DriverError(
            f"Could not create ManiSkill env {task!r} ({exc}). SAPIEN needs Vulkan even without rendering: "
            "run `bash scripts/setup_maniskill.sh` (it unpacks Mesa >= 24.3 lavapipe into the venv) and "
            "`source .venv-maniskill/maniskill.env`, or set VK_ICD_FILENAMES to a working ICD."
        ) from exc


def _urdf_velocity_limits(urdf_path: str) -> dict[str, float]:
    """Joint name → velocity limit [rad/s or m/s] from the robot's URDF ``<limit velocity=...>``."""
    limits = {}
    for joint in ET.parse(urdf_path).getroot().iter("joint"):
        limit = joint.find("limit")
        if limit is not None and "velocity" in limit.attrib:
            limits[joint.attrib["name"]] = float(limit.attrib["velocity"])
    return limits


def _scalar(value: Any) -> Any:
    """A batch-of-one tensor or array → Python bool/float."""
    array = np.asarray(value.cpu() if hasattr(value, "cpu") else value).reshape(-1)
    item = array[0].item()
    return bool(item) if array.dtype == bool else float(item)


def _pose7(pose: Any) -> np.ndarray:
    """ManiSkill ``Pose`` (batch of one) → ``[7]`` position [m] + quaternion (w, x, y, z)."""
    return np.asarray(pose.raw_pose.cpu(), dtype=np.float64).reshape(-1)[:7]


def maniskill_features(config: ManiSkillConfig, env: Any) -> RobotFeatures:
    """Features of the Panda in the loaded ``env``: seven arm joints [rad] (limits from the loaded robot, speeds
    from its URDF), the normalized gripper, no cameras, the env's control frequency [Hz], and the task's objects
    when ``config.object_state``. Raises ``DriverError`` when the robot or the objects are not the expected ones."""
    agent = env.unwrapped.agent
    names = [j.name for j in agent.robot.get_active_joints()]
    if tuple(names[:7]) != ARM_JOINTS:
        raise DriverError(f"Expected the Panda's joints {ARM_JOINTS} first, got {names}; is this the Panda?")
    qlimits = np.asarray(agent.robot.get_qlimits().cpu())[0]  # [9, 2]
    velocity = _urdf_velocity_limits(agent.urdf_path)
    arm = tuple(
        JointFeature(n, "rad", float(lo), float(hi), velocity[n])
        for n, (lo, hi) in zip(ARM_JOINTS, qlimits[:7], strict=True)
    )
    hand = JointFeature(GRIPPER_NAME, "normalized", 0.0, 1.0, GRIPPER_MAX_VELOCITY)
    objects = TASKS[config.task].objects if config.object_state else ()
    actors = list(env.unwrapped.scene.actors)
    missing = [n for n in objects if n not in actors]
    if missing:
        raise DriverError(
            f"{config.task} has no actors {missing}, only {actors} (another ManiSkill "
            "version?); fix ManiSkillTaskSpec.objects in failforward.robots.maniskill."
        )
    return RobotFeatures(
        joints=(*arm, hand), cameras=(), control_hz=float(env.unwrapped.control_freq), object_names=objects
    )


def _finger_range(env: Any) -> tuple[float, float]:
    """``(closed, open)`` finger targets [m] of the gripper controller (the normalized gripper's 0 and 1)."""
    gripper = env.unwrapped.agent.controller.controllers["gripper"].config
    return float(gripper.lower), float(gripper.upper)


def _close(env: Any) -> None:
    try:
        env.close()
    except Exception:
        logger.exception("Closing the ManiSkill env failed")


@register_description("maniskill")
def describe_maniskill(config: ManiSkillConfig) -> RobotDescription:
    """Features and the task's prompt. The limits live in the loaded robot: this loads the env once (seconds,
    and ManiSkill's venv) and closes it."""
    env = make_maniskill_env(config.task, config.control_mode, config.max_episode_steps, config.sim_backend)
    try:
        return RobotDescription(maniskill_features(config, env), TASKS[config.task].prompt, episodic=True)
    finally:
        _close(env)


@register_driver("maniskill")
class ManiSkillDriver(EpisodicDriver):
    """One ManiSkill 3 Panda task (state only, CPU physics), commanded with absolute joint targets.

    Args:
        config: task, control mode and the env's own step limit.

    Raises:
        DriverError: ManiSkill or its Vulkan device is missing (the message says how to set them up).
    """

    def __init__(self, config: ManiSkillConfig) -> None:
        self.config = config
        self.task: ManiSkillTaskSpec = TASKS[config.task]
        self._env: Any = self._make_env()  # built now: the joint limits are read from the loaded robot
        self._set_torch_threads()
        self._features = maniskill_features(config, self._env)
        self._finger_lower, self._finger_upper = _finger_range(self._env)  # [m]
        self._connected = False
        self._seed = 0
        self._tick = 0
        self._reached = 0  # furthest stage reached this episode
        self._success_tick: int | None = None
        self._evaluation: dict[str, Any] = {}

    # ------------------------------------------------------------------ set-up
    def _set_torch_threads(self) -> None:
        if self.config.torch_threads > 0:
            importlib.import_module("torch").set_num_threads(self.config.torch_threads)

    def _make_env(self) -> Any:
        cfg = self.config
        return make_maniskill_env(cfg.task, cfg.control_mode, cfg.max_episode_steps, cfg.sim_backend)

    # ------------------------------------------------------------------ interface
    @property
    def features(self) -> RobotFeatures:
        return self._features

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def task_prompt(self) -> str:
        return self.task.prompt

    @property
    def env(self) -> Any:
        """The underlying ManiSkill gym env (for tests and tools; the loop goes through this driver)."""
        if not self._connected:
            raise NotConnectedError("ManiSkillDriver is not connected: call connect() or use it as a context manager.")
        return self._env

    def connect(self) -> None:
        if self._connected:
            return
        if self._env is None:
            self._env = self._make_env()
        self._connected = True
        self.reset(seed=0)

    def reset(self, seed: int) -> Observation:
        """Reset the task from ``seed`` (same seed, same scene: object poses and robot start)."""
        self.env.reset(seed=seed)
        self._seed, self._tick, self._reached, self._success_tick = seed, 0, 0, None
        self._judge()
        return self.get_observation()

    def get_observation(self) -> Observation:
        robot = self.env.unwrapped.agent.robot
        qpos = np.asarray(robot.get_qpos().cpu(), dtype=np.float64)[0]
        qvel = np.asarray(robot.get_qvel().cpu(), dtype=np.float64)[0]
        span = self._finger_upper - self._finger_lower
        positions = np.append(qpos[:7], (qpos[7] - self._finger_lower) / span)
        velocities = np.append(qvel[:7], qvel[7] / span)
        return Observation(
            timestamp=self._time(),
            joint_positions=positions,
            joint_velocities=velocities,
            object_state=self._object_state(),
        )

    def send_action(self, command: JointCommand) -> JointCommand:
        """Step the simulation one control tick (50 ms) towards ``command``; returns the clamped target."""
        env = self.env
        positions = command.positions
        if positions.shape != (self._features.action_dim,):
            raise ShapeError(
                f"maniskill expects positions [{self._features.action_dim}] (7 arm joints [rad] + "
                f"gripper [0 closed, 1 open]), got {positions.shape}."
            )
        if not np.all(np.isfinite(positions)):
            raise DriverError("maniskill refuses non-finite joint targets; pass commands through the safety layer.")
        sent = np.clip(positions, self._features.lower, self._features.upper)
        action = np.append(sent[:7], 2.0 * sent[7] - 1.0).astype(np.float32)
        env.step(action)
        self._tick += 1
        self._judge()
        return JointCommand(timestamp=self._time(), positions=sent)

    def privileged_state(self) -> ManiSkillState:
        base = self.env.unwrapped
        objects = {
            name: _pose7(actor.pose)
            for name, actor in base.scene.actors.items()
            if name not in ("table-workspace", "ground")
        }
        return ManiSkillState(
            task=self.config.task,
            control_mode=self.config.control_mode,
            seed=self._seed,
            tick=self._tick,
            sim_state=base.get_state_dict(),
            tcp_pose=_pose7(base.agent.tcp.pose),
            object_poses=objects,
            evaluation=dict(self._evaluation),
        )

    @property
    def stage(self) -> int:
        """The task stage now: 1 + the index of the last stage whose flag holds at this tick, 0 if none does.

        Unlike ``episode_outcome().stage`` (the furthest stage reached) it drops when progress is lost, e.g.
        a cube slipping out of the hand; failure correction hands over where it was last at its maximum.
        """
        flags = [self._evaluation.get(stage.flag, False) for stage in self.task.stages]
        return max((i + 1 for i, flag in enumerate(flags) if flag), default=0)

    def episode_outcome(self) -> EpisodeOutcome:
        """Success once ManiSkill's ``evaluate()`` said so at any tick; else the furthest stage and why not."""
        stages = self.task.stages
        if self._success_tick is not None:
            reason = f"success: evaluate() reported success at tick {self._success_tick}"
            return EpisodeOutcome(True, len(stages), reason)
        return EpisodeOutcome(False, self._reached, stages[min(self._reached, len(stages) - 1)].failure)

    def disconnect(self) -> None:
        if self._env is not None:
            _close(self._env)
            self._env = None
        self._connected = False

    # ------------------------------------------------------------------ helpers
    def _time(self) -> float:
        return self._tick / self._features.control_hz

    def _object_state(self) -> np.ndarray:
        """``[7 · objects]`` poses of ``features.object_names`` (world frame, xyz [m] + quaternion wxyz)."""
        actors = self._env.unwrapped.scene.actors
        poses = [_pose7(actors[name].pose) for name in self._features.object_names]
        return np.concatenate(poses) if poses else np.zeros(0)

    def _judge(self) -> None:
        """Evaluate the task now and advance the furthest stage reached (and the success tick)."""
        base = self._env.unwrapped
        evaluation = {key: _scalar(value) for key, value in base.evaluate().items()}
        evaluation.update(self.task.extra_flags(base))
        self._evaluation = evaluation
        for index, stage in enumerate(self.task.stages):
            if evaluation.get(stage.flag, False):
                self._reached = max(self._reached, index + 1)
        if evaluation.get("success", False) and self._success_tick is None:
            self._success_tick = self._tick
