"""One corrective motion planned with PMC, and the diagnosis (text + symbols) a supervisor would give for it.

The commands go through the very path of a runtime correction: PMC (:class:`~failforward.recovery.modes.pmc.PmcMode`:
:mod:`~failforward.recovery.pmc_goals` → :mod:`~failforward.recovery.arm_ik` → :mod:`~failforward.recovery.trajectory`)
turns them into a joint trajectory ``[T, A]`` from the last command sent. The symbols are drawn from the tool
point's planned start and goal (:mod:`.draw`), written as a ViFailback answer (:func:`write_answer`, 0–1000
coordinates) and read back with the runtime's parser, so the recorded :class:`Diagnosis` is exactly what the
VSF mode would receive from the oracle supervisor.

Frames: tool points and rotations in the world (table) frame [m]; symbols in pixels of the head image at the
driver's configured size; joint rows in the driver's order and units.

Example:
    >>> planner = SymbolPlanner.for_sim_aloha(driver, SymbolDataConfig())
    >>> plan = planner.plan(observation, hold, (Move(gripper="right", direction="left", magnitude="slightly"),))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from mink import SO3

from failforward.config.recovery import RecoveryConfig
from failforward.learn.symbols.config import SymbolDataConfig
from failforward.learn.symbols.draw import correction_symbols
from failforward.recovery.arm_ik import ARM_COLUMNS, GRIPPER_COLUMN
from failforward.recovery.camera import CameraModel, clockwise_sign, robot_axes
from failforward.recovery.context import JointHistory, PlanContext
from failforward.recovery.correction import Refusal, TrajectoryCorrection
from failforward.recovery.errors import RecoveryError
from failforward.recovery.modes.base import CorrectiveMode, ModeResources, make_mode
from failforward.supervisor.answer_writer import AnswerContent, write_answer
from failforward.supervisor.commands import Grasp, Move, Rotate, format_commands
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.oracle.camera import CameraView
from failforward.supervisor.parser import parse_answer
from failforward.supervisor.questions import FailureType, QuestionType
from failforward.types import Observation

if TYPE_CHECKING:  # MuJoCo / ManiSkill are only needed when these run
    from failforward.robots.sim_aloha import SimAlohaDriver

Command = Move | Rotate | Grasp
GRASP_TARGET = {"open": 1.0, "close": 0.0}


@dataclass(frozen=True)
class ToolState:
    """One arm's tool: fingertip-centre ``position [3]`` [m] and ``rotation [3, 3]`` (world), normalized opening."""

    position: np.ndarray
    rotation: np.ndarray
    opening: float


@dataclass(frozen=True)
class SymbolPlan:
    """A planned corrective motion.

    Attributes:
        commands: what is followed; ``arm``: the gripper they address.
        targets: ``float64 [T, A]`` joint targets, one per tick (PMC's trajectory, settle ticks included).
        start, goal: the arm's tool at the first (the last command sent) and last row (forward kinematics).
        requested: the tool the commands ask for, computed independently of PMC: ``start`` moved by the configured
            distances along the head-camera robot axes, turned by ``rotate_rad`` per rotation about the world
            vertical, opening 1 / 0 after open / close (the success check compares the measured tool with it).
        diagnosis: the correction as the runtime's parser reads it (text, typed commands, symbols in pixels).
    """

    commands: tuple[Command, ...]
    arm: str
    targets: np.ndarray
    start: ToolState
    goal: ToolState
    requested: ToolState
    diagnosis: Diagnosis

    @property
    def prompt(self) -> str:
        """The textual correction VSF prompts the policy with."""
        return self.diagnosis.command_text


def failure_type(commands: Sequence[Command]) -> FailureType:
    """ViFailback failure type a supervisor would give with these commands."""
    return FailureType.GRIPPER_STATE if all(isinstance(c, Grasp) for c in commands) else FailureType.GRIPPER_6D_POSE


def requested_tool(
    start: ToolState, commands: Sequence[Command], world_from_camera: np.ndarray, config: SymbolDataConfig
) -> ToolState:
    """The tool ``commands`` ask for from ``start`` (see :attr:`SymbolPlan.requested`); ``world_from_camera``
    ``[4, 4]`` is the head camera's optical-frame pose, which defines the robot axes."""
    axes, pmc = robot_axes(world_from_camera), config.pmc
    moves = [c for c in commands if isinstance(c, Move)]
    shift = sum((pmc.distance(m.magnitude) * (m.unit_vector @ axes) for m in moves), np.zeros(3))
    turns = [1.0 if c.direction == "clockwise" else -1.0 for c in commands if isinstance(c, Rotate)]
    angle = clockwise_sign(world_from_camera) * pmc.rotate_rad * sum(turns)
    rotation = SO3.from_z_radians(angle).as_matrix() @ start.rotation
    grasps = [GRASP_TARGET[c.state] for c in commands if isinstance(c, Grasp)]
    return ToolState(start.position + shift, rotation, grasps[-1] if grasps else start.opening)


class SymbolPlanner:
    """Plans :class:`SymbolPlan` s with PMC on one robot.

    Args:
        config: tolerances, PMC parameters, the head camera.
        mode: a PMC :class:`CorrectiveMode` (``make_mode("pmc", …)``).
        ik: ``AlohaIK`` of the robot (forward kinematics of the tool point).
        camera: the head camera's model (PMC's depth back-projection) and ``view``, its projection for symbols.
        depth_source: head-camera depth ``float32 [H, W]`` [m] now (PMC checks it is there).
        image_size: ``(H, W)`` [px] of the head image the symbols refer to.
    """

    def __init__(
        self,
        config: SymbolDataConfig,
        mode: CorrectiveMode,
        ik: Any,
        camera: CameraModel,
        view: Callable[[], CameraView],
        depth_source: Callable[[], np.ndarray],
        image_size: tuple[int, int],
    ) -> None:
        self.config, self.mode, self.ik, self.camera = config, mode, ik, camera
        self.view, self.depth_source, self.image_size = view, depth_source, image_size

    @classmethod
    def for_sim_aloha(cls, driver: SimAlohaDriver, config: SymbolDataConfig) -> SymbolPlanner:
        """A planner on a connected ``SimAlohaDriver`` (its scene's head camera, depth rendered on demand)."""
        from failforward.kinematics.aloha_ik import AlohaIK
        from failforward.recovery.camera import MujocoCamera

        ik = AlohaIK(driver.task.xml_path)
        resources = ModeResources(driver.features, 1.0 / driver.features.control_hz, ik, None)
        mode = make_mode(
            "pmc",
            RecoveryConfig(mode="pmc", pmc=config.pmc.model_copy(update={"camera": config.head_camera})),
            resources,
        )
        name, size = config.head_camera, (driver.config.image_height, driver.config.image_width)
        scene = driver.scene

        def view() -> CameraView:
            intrinsics = scene.camera_intrinsics(name, *size)
            return CameraView.from_mujoco(scene.model, scene.data, name, intrinsics, *size)

        return cls(config, mode, ik, MujocoCamera(scene, name), view, lambda: driver.render(name, depth=True), size)

    def tool(self, row: np.ndarray, arm: str) -> ToolState:
        """``arm``'s tool for joint row ``[A]`` (forward kinematics)."""
        pose = self.ik.tool_poses(np.asarray(row, dtype=np.float64)[ARM_COLUMNS])[arm]
        return ToolState(pose.translation(), pose.rotation().as_matrix(), float(row[GRIPPER_COLUMN[arm]]))

    def plan(self, observation: Observation, hold: np.ndarray, commands: Sequence[Command]) -> SymbolPlan | Refusal:
        """Plan ``commands`` from ``hold [A]`` (the last command sent), or say why they cannot be followed."""
        commands = tuple(commands)
        text = format_commands(commands)
        noop = self._noop(commands, hold)
        if noop is not None:
            return Refusal("symbols", noop)
        request = Diagnosis(
            question=QuestionType.VISUAL_CORRECTION_COT,
            success=False,
            command_text=text,
            commands=commands,
            failure_type=failure_type(commands),
        )
        context = PlanContext(
            observation,
            np.asarray(hold, dtype=np.float64),
            JointHistory(1.0),
            depth=self.depth_source(),
            camera=self.camera,
            image_size=self.image_size,
        )
        result = self.mode.plan(request, context)
        if isinstance(result, Refusal):
            return result
        if not isinstance(result, TrajectoryCorrection) or result.then_replan:
            return Refusal("symbols", f"PMC did not plan a direct motion for {text!r}: {result}")
        if len(result.targets) > self.config.max_motion_ticks:
            return Refusal(
                "symbols",
                f"the motion takes {len(result.targets)} ticks, more than max_motion_ticks "
                f"{self.config.max_motion_ticks}",
            )
        arm = result.arm
        start, goal = self.tool(hold, arm), self.tool(result.targets[-1], arm)
        requested = requested_tool(start, commands, self.camera.world_from_camera(), self.config)
        return SymbolPlan(commands, arm, result.targets, start, goal, requested, self._diagnosis(commands, start, goal))

    def _noop(self, commands: tuple[Command, ...], hold: np.ndarray) -> str | None:
        grasp = commands[0] if len(commands) == 1 else None
        if not isinstance(grasp, Grasp) or grasp.gripper is None:
            return None
        opening = float(hold[GRIPPER_COLUMN[grasp.gripper]])
        if abs(opening - GRASP_TARGET[grasp.state]) < self.config.gripper_tolerance:
            state = "open" if grasp.state == "open" else "closed"
            return f"the {grasp.gripper} gripper is already {state} (commanded opening {opening:.2f}): nothing to do"
        return None

    def _diagnosis(self, commands: tuple[Command, ...], start: ToolState, goal: ToolState) -> Diagnosis:
        height, width = self.image_size
        symbols = correction_symbols(self.view(), commands, start.position, goal.position)
        content = AnswerContent(False, failure_type(commands), commands, symbols, correction_frame=1)
        answer = write_answer(content, width=width, height=height)
        parsed = parse_answer(answer, frame_shapes=[(height, width)], correction_frame=0)
        if not isinstance(parsed, Diagnosis):  # the writer and parser are tested together; never expected
            raise RecoveryError(f"the symbol answer did not parse back: {parsed}")
        return parsed
