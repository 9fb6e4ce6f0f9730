"""Robot configs; the ``kind`` field names the driver in the robot registry."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from failforward.config.base import AlohaCamera, FrozenModel, SimAlohaTask, SimSplit

SIM_ALOHA_CONTROL_HZ = 50.0
"""The simulated ALOHA's control rate [Hz]: one tick is gym-aloha's ``DT`` = 0.02 s (``sim.aloha_scene.CONTROL_DT``)."""


class RobotConfig(FrozenModel):
    """What every robot config says, so that code holding any of them reads it without ``getattr``.

    Attributes:
        kind: the driver's name in the robot registry; each config narrows it to one ``Literal``.
        task: the task's name: a simulated task (narrowed to that simulator's ``Literal``), or ``""`` on hardware
            whose task is set up by people (a hardware config may still name the task it is used for).
        control_hz: [Hz] the rate the robot is commanded at, equal to its driver's ``features.control_hz``: a
            field on hardware (configurable), a property on simulators (their fixed control tick).
    """

    kind: str
    task: str

    if TYPE_CHECKING:  # declared for type checkers only: a property here would hide the hardware configs' field

        @property
        def control_hz(self) -> float: ...

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "control_hz" not in cls.model_fields and not isinstance(getattr(cls, "control_hz", None), property):
            raise TypeError(f"{cls.__name__} must define control_hz [Hz], as a field or a property.")


class SimAlohaConfig(RobotConfig):
    """The simulated ALOHA cell (gym-aloha's MuJoCo scene).

    ``cameras`` are the only cameras rendered each tick; ``depth_cameras`` also get depth [m].
    ``object_state`` adds the task objects' ground-truth poses to each observation (for state-only
    policies that must see where the cube or peg is; a real cell needs a pose estimator for that).
    ``antialias`` renders with the scene's multisampling (4 samples); off renders ~2.8× faster on a
    software renderer (llvmpipe: 12 ms instead of 33 ms CPU for the top camera at 72x96) with aliased
    edges; a vision policy must run with the setting it was trained on.
    ``split`` chooses the variations a seed draws from (``plug_strip``: seen or unseen strip placement, strip colour
    and plug shape, see ``failforward.sim.plug_strip_layout``); the gym-aloha tasks have only ``"seen"``.
    """

    kind: Literal["sim_aloha"] = "sim_aloha"
    task: SimAlohaTask = "transfer_cube"
    split: SimSplit = "seen"
    cameras: tuple[AlohaCamera, ...] = ("top",)
    depth_cameras: tuple[AlohaCamera, ...] = ()
    image_height: int = Field(240, ge=16, le=1080)
    image_width: int = Field(320, ge=16, le=1920)
    shadows: bool = False
    antialias: bool = True
    object_state: bool = False

    @model_validator(mode="after")
    def _depth_needs_rgb(self) -> SimAlohaConfig:
        missing = set(self.depth_cameras) - set(self.cameras)
        if missing:
            raise ValueError(f"depth_cameras {sorted(missing)} must also be listed in cameras")
        if self.split != "seen" and self.task != "plug_strip":
            raise ValueError(f"task {self.task!r} has no {self.split!r} split: only plug_strip has unseen splits")
        return self

    @property
    def control_hz(self) -> float:
        """[Hz] one tick per gym-aloha control step (the driver steps the physics ``DT / timestep`` times)."""
        return SIM_ALOHA_CONTROL_HZ


class CameraConfig(FrozenModel):
    """One OpenCV camera of a real cell.

    Attributes:
        name: observation key (``"top"``, ``"left_wrist"``...; calibration is looked up by it).
        device: ``/dev/video0``, a stable ``/dev/v4l/by-id/...`` path, or a video file (tests).
        width, height: requested frame size [px]; frames of another size are an error.
        fps: requested frame rate [Hz]; frame drops are counted against it.
        stale_after_s: a frame older than this [s] raises ``StaleFrameError``.
    """

    name: str
    device: str
    width: int = Field(640, ge=16, le=4096)
    height: int = Field(480, ge=16, le=4096)
    fps: float = Field(30.0, gt=0.0, le=240.0)
    stale_after_s: float = Field(0.2, gt=0.0)


DynamixelBaud = Literal[57600, 115200, 1000000, 2000000, 3000000, 4000000]


class AlohaConfig(RobotConfig):
    """A real bimanual ALOHA: two ViperX 300 S followers over Dynamixel Protocol 2.0 (``dynamixel-sdk``).

    Ports are serial devices (udev symlinks of the U2D2s) or the emulator's ptys. Leader ports are only
    needed for teleoperation. ``homing_speed`` [rad/s] (grippers: [1/s]) paces the smooth move to the first
    commanded pose after ``connect()``/``recover()``. ``comm_retries`` extra attempts follow a timeout or
    bad CRC before a ``MotorCommunicationError``.
    """

    kind: Literal["aloha"] = "aloha"
    task: str = ""
    calibration_dir: Path = Path("calibration/aloha/default")
    follower_left_port: str = "/dev/ttyDXL_puppet_left"
    follower_right_port: str = "/dev/ttyDXL_puppet_right"
    leader_left_port: str | None = None
    leader_right_port: str | None = None
    baudrate: DynamixelBaud = 1000000
    control_hz: float = Field(50.0, gt=0.0, le=500.0)
    comm_retries: int = Field(2, ge=0, le=10)
    homing_speed: float = Field(0.5, gt=0.0, le=3.0)
    cameras: tuple[CameraConfig, ...] = ()


class FrankaConfig(RobotConfig):
    """A Franka arm through ``franky`` (libfranka), or franky-sim on loopback (``host="127.0.0.1"``).

    ``realtime="ignore"`` is for simulation and machines without a real-time kernel.
    ``relative_dynamics_factor`` (0, 1] scales velocity, acceleration and jerk limits of every motion.
    The gripper is commanded as one normalized joint (0 closed, 1 open) after the 7 arm joints [rad].
    ``contact_force_limit_n`` [N]: an estimated external force beyond this on any base-frame axis stops
    the running motion (a franky reaction) and latches a fault until ``recover()``; ``None`` disables it.
    """

    kind: Literal["franka"] = "franka"
    task: str = ""
    host: str = "172.16.0.2"
    calibration_dir: Path = Path("calibration/franka/fr3_sim")
    realtime: Literal["enforce", "ignore"] = "enforce"
    relative_dynamics_factor: float = Field(0.1, gt=0.0, le=1.0)
    control_hz: float = Field(10.0, gt=0.0, le=1000.0)
    gripper: bool = True
    gripper_speed: float = Field(0.05, gt=0.0, le=0.2)
    gripper_force: float = Field(20.0, gt=0.0, le=70.0)
    contact_force_limit_n: float | None = Field(30.0, gt=0.0, le=200.0)
    cameras: tuple[CameraConfig, ...] = ()


class FakeRobotConfig(RobotConfig):
    """A fake arm for tests (``failforward.testing.FakeRobot``): no simulator, deterministic per seed.

    Each joint [rad] follows its commanded target as a first-order lag with time constant
    ``time_constant_s`` [s], within ``±joint_limit_rad``. ``reset(seed)`` draws a start pose and a goal
    pose; the ``reach`` task succeeds once every joint is within ``goal_tolerance_rad`` of the goal.
    ``cameras`` are names of synthetic RGB cameras (a ramp that changes with the joints).
    """

    kind: Literal["fake"] = "fake"
    task: Literal["reach"] = "reach"
    joint_names: tuple[str, ...] = tuple(f"joint_{i}" for i in range(6))
    joint_limit_rad: float = Field(3.0, gt=0.0, le=10.0)
    max_velocity: float = Field(3.0, gt=0.0, le=50.0)
    time_constant_s: float = Field(0.05, ge=0.0, le=10.0)
    goal_tolerance_rad: float = Field(0.02, gt=0.0)
    cameras: tuple[str, ...] = ()
    image_height: int = Field(16, ge=1, le=1080)
    image_width: int = Field(16, ge=1, le=1920)
    control_hz: float = Field(50.0, gt=0.0, le=1000.0)

    @model_validator(mode="after")
    def _distinct_names(self) -> FakeRobotConfig:
        for field, names in (("joint_names", self.joint_names), ("cameras", self.cameras)):
            if len(set(names)) != len(names):
                raise ValueError(f"{field} {list(names)} must be distinct")
        if not self.joint_names:
            raise ValueError("joint_names must name at least one joint")
        return self
