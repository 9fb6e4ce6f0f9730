"""One config system: frozen pydantic models, invariants checked on construction, named presets.

A preset is a complete :class:`RunConfig`. Entry points start from a preset and apply overrides
(``with_overrides``); ROS parameter files (``launch/params/*.yaml``) mirror a preset and are loaded
through the same models, so a typo in either is an error that names the valid fields.

Example:
    >>> cfg = get_preset("sim_transfer_cube")
    >>> cfg.robot.task
    'transfer_cube'
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from failforward.errors import ConfigError, UnknownNameError

SimAlohaTask = Literal["transfer_cube", "insertion"]
AlohaCamera = Literal["top", "left_wrist", "right_wrist", "angle", "front_close"]


class FrozenModel(BaseModel):
    """Base of every config: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SimAlohaConfig(FrozenModel):
    """The simulated ALOHA cell (gym-aloha's MuJoCo scene).

    ``cameras`` are the only cameras rendered each tick; ``depth_cameras`` also get depth [m].
    """

    kind: Literal["sim_aloha"] = "sim_aloha"
    task: SimAlohaTask = "transfer_cube"
    cameras: tuple[AlohaCamera, ...] = ("top",)
    depth_cameras: tuple[AlohaCamera, ...] = ()
    image_height: int = Field(240, ge=16, le=1080)
    image_width: int = Field(320, ge=16, le=1920)
    shadows: bool = False

    @model_validator(mode="after")
    def _depth_needs_rgb(self) -> SimAlohaConfig:
        missing = set(self.depth_cameras) - set(self.cameras)
        if missing:
            raise ValueError(f"depth_cameras {sorted(missing)} must also be listed in cameras")
        return self


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


class AlohaConfig(FrozenModel):
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


class FrankaConfig(FrozenModel):
    """A Franka arm through ``franky`` (libfranka), or franky-sim on loopback (``host="127.0.0.1"``).

    ``realtime="ignore"`` is for simulation and machines without a real-time kernel.
    ``relative_dynamics_factor`` (0, 1] scales velocity, acceleration and jerk limits of every motion.
    The gripper is commanded as one normalized joint (0 closed, 1 open) after the 7 arm joints [rad].
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
    cameras: tuple[CameraConfig, ...] = ()


class SafetyConfig(FrozenModel):
    """Safety layer: every command passes it before it reaches a driver.

    Attributes:
        joint_margin: fraction (0–0.2) of each joint's range kept clear of the hard limits.
        velocity_scale: fraction (0–1] of each joint's max velocity allowed per tick.
        watchdog_timeout_s: deadman: with no fresh command for this long [s] the robot holds.
        workspace_lower_m, workspace_upper_m: Cartesian box [m] (robot base frame) every end effector
            must stay in; used when a forward-kinematics function is given to the safety layer.
    """

    joint_margin: float = Field(0.02, ge=0.0, le=0.2)
    velocity_scale: float = Field(1.0, gt=0.0, le=1.0)
    watchdog_timeout_s: float = Field(0.2, gt=0.0, le=5.0)
    workspace_lower_m: tuple[float, float, float] | None = None
    workspace_upper_m: tuple[float, float, float] | None = None

    @model_validator(mode="after")
    def _workspace_box(self) -> SafetyConfig:
        box = (self.workspace_lower_m, self.workspace_upper_m)
        if (box[0] is None) != (box[1] is None):
            raise ValueError("set both workspace_lower_m and workspace_upper_m [m], or neither")
        if box[0] is not None and not all(lo < hi for lo, hi in zip(*box, strict=True)):
            raise ValueError(f"workspace_lower_m {box[0]} must be below workspace_upper_m {box[1]} on every axis")
        return self


class BrokerConfig(FrozenModel):
    """Chunk broker: how a chunk ``[H, A]`` becomes per-tick actions.

    ``mode="chunk"`` executes the first ``execute_steps`` actions of each chunk then asks for a new one;
    ``mode="ensemble"`` asks every tick and averages overlapping chunks with weights
    ``exp(-ensemble_decay * i)`` (ACT's temporal ensembling, oldest first).
    """

    mode: Literal["chunk", "ensemble"] = "chunk"
    execute_steps: int = Field(25, ge=1)
    ensemble_decay: float = Field(0.01, ge=0.0)


class LoopConfig(FrozenModel):
    """Control loop timing. ``realtime=False`` runs as fast as possible (simulation, benchmarks)."""

    rate_hz: float = Field(50.0, gt=0.0, le=1000.0)
    max_steps: int = Field(400, ge=1)
    realtime: bool = False
    stop_on_success: bool = True


class RecordConfig(FrozenModel):
    """Episode recording (one MCAP file per episode).

    ``chunk_kib`` bounds what a crash can lose: MCAP chunks reach the disk when full, so at most the
    last ``chunk_kib`` KiB (about 0.5 s with one 240x320 camera) are missing from a killed process's file.
    """

    enabled: bool = True
    output_dir: Path = Path("runs")
    jpeg_quality: int = Field(85, ge=10, le=100)
    chunk_kib: int = Field(256, ge=16, le=65536)


class PolicyConfig(FrozenModel):
    """Which policy runs: ``expert`` (scripted demonstrator; needs privileged sim state) or ``hold``."""

    kind: Literal["expert", "hold"] = "expert"


class RunConfig(FrozenModel):
    """Everything one run needs."""

    robot: Annotated[SimAlohaConfig | AlohaConfig | FrankaConfig, Field(discriminator="kind")] = SimAlohaConfig()
    policy: PolicyConfig = PolicyConfig()
    broker: BrokerConfig = BrokerConfig()
    safety: SafetyConfig = SafetyConfig()
    loop: LoopConfig = LoopConfig()
    record: RecordConfig = RecordConfig()
    episodes: int = Field(3, ge=1)
    seed: int = 0

    def with_overrides(self, overrides: dict[str, Any]) -> RunConfig:
        """Return a copy with dotted-key overrides applied, e.g. ``{"robot.task": "insertion"}``."""
        data = self.model_dump()
        for dotted, value in overrides.items():
            node = data
            *parents, leaf = dotted.split(".")
            for key in parents:
                if not isinstance(node.get(key), dict):
                    raise ConfigError(f"Unknown config section {key!r} in {dotted!r}.")
                node = node[key]
            if leaf not in node:
                raise UnknownNameError("config field", dotted, _dotted_keys(self.model_dump()))
            node[leaf] = value
        return load_config(data)


def _dotted_keys(data: dict[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in data.items():
        full = f"{prefix}{key}"
        keys.extend(_dotted_keys(value, full + ".") if isinstance(value, dict) else [full])
    return keys


def load_config(data: dict[str, Any]) -> RunConfig:
    """Build a :class:`RunConfig` from plain data (YAML, ROS params), raising ``ConfigError`` on bad input."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"Invalid configuration:\n{exc}") from exc


PRESETS: dict[str, RunConfig] = {
    "sim_transfer_cube": RunConfig(robot=SimAlohaConfig(task="transfer_cube")),
    "sim_insertion": RunConfig(robot=SimAlohaConfig(task="insertion")),
}


def get_preset(name: str) -> RunConfig:
    """Return the named preset; unknown names raise with the closest valid name."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownNameError("preset", name, PRESETS) from None


def flatten_config(config: RunConfig) -> dict[str, Any]:
    """Dotted-key view of a config with JSON-compatible leaves (the shape of ROS parameter files).

    Empty lists and ``None`` are left out (ROS 2 parameter files can type neither), so they must be
    the preset's values; ``with_overrides`` of the preset with this dict gives the config back.
    """
    flat = dict(zip(_dotted_keys(config.model_dump()), _leaves(config.model_dump(mode="json")), strict=True))
    return {key: value for key, value in flat.items() if value != [] and value is not None}


def _leaves(data: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for value in data.values():
        out.extend(_leaves(value) if isinstance(value, dict) else [value])
    return out
