"""Calibration schemas for ALOHA (Dynamixel arms) and Franka, validated on load.

Angle convention for a Dynamixel motor: ``motor_rad = sign · q + offset_rad`` (so
``q = sign · (motor_rad − offset_rad)``) where ``motor_rad`` is the motor's angle from its centre
tick 2048 [rad] and ``q`` the joint angle of the model [rad] (the same zero and direction as the
simulated ALOHA). A gripper's ``q`` (same formula) is normalized as
``g = (q − closed_rad) / (open_rad − closed_rad)``: 0 closed, 1 open.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from failforward.calibration.camera import CalibrationModel, CameraCalibration

MotorModelName = Literal["XM430-W350", "XM540-W270"]


class MotorCalibration(CalibrationModel):
    """One Dynamixel: bus ``id``, model, direction ``sign`` and ``offset_rad`` (see module docstring)."""

    id: int = Field(ge=0, le=252)
    model: MotorModelName = "XM430-W350"
    sign: Literal[1, -1] = 1
    offset_rad: float = 0.0


class JointCalibration(CalibrationModel):
    """An arm joint driven by one motor or a pair (shoulder, elbow); the first motor is read back.

    ``lower``, ``upper``: joint limits [rad].
    """

    name: str
    motors: tuple[MotorCalibration, ...] = Field(min_length=1, max_length=2)
    lower: float
    upper: float

    @model_validator(mode="after")
    def _ordered_limits(self) -> JointCalibration:
        if not self.lower < self.upper:
            raise ValueError(f"joint {self.name}: lower ({self.lower}) must be below upper ({self.upper}) [rad]")
        return self


class GripperCalibration(CalibrationModel):
    """The gripper motor, its angles ``q`` when closed and open [rad], and its current limit.

    ``current_limit`` in Dynamixel current units (2.69 mA); ``lower``/``upper`` normalized limits.
    """

    motor: MotorCalibration
    closed_rad: float
    open_rad: float
    current_limit: int = Field(300, ge=1, le=2047)
    lower: float = Field(0.0, ge=-0.1, le=1.1)
    upper: float = Field(1.0, ge=-0.1, le=1.1)

    @model_validator(mode="after")
    def _range(self) -> GripperCalibration:
        if abs(self.open_rad - self.closed_rad) < 0.05:
            raise ValueError("gripper open_rad and closed_rad must differ by at least 0.05 rad; re-measure them")
        if not self.lower < self.upper:
            raise ValueError("gripper lower must be below upper (normalized)")
        return self

    def normalize(self, motor_rad: float) -> float:
        """Gripper motor angle ``q`` [rad] → opening (0 closed, 1 open)."""
        return (motor_rad - self.closed_rad) / (self.open_rad - self.closed_rad)

    def denormalize(self, opening: float) -> float:
        """Gripper opening (0 closed, 1 open) → motor angle ``q`` [rad]."""
        return self.closed_rad + opening * (self.open_rad - self.closed_rad)


class ArmCalibration(CalibrationModel):
    """One ViperX 300 S / WidowX arm: six joints (waist → wrist_rotate), a gripper, a home pose [rad]."""

    joints: tuple[JointCalibration, ...] = Field(min_length=6, max_length=6)
    gripper: GripperCalibration
    home_rad: tuple[float, float, float, float, float, float]

    @model_validator(mode="after")
    def _consistent(self) -> ArmCalibration:
        ids = [m.id for j in self.joints for m in j.motors] + [self.gripper.motor.id]
        if len(ids) != len(set(ids)):
            raise ValueError(f"motor ids must be unique within an arm, got {ids}")
        for joint, home in zip(self.joints, self.home_rad, strict=True):
            if not joint.lower <= home <= joint.upper:
                raise ValueError(f"home pose of {joint.name} ({home} rad) is outside [{joint.lower}, {joint.upper}]")
        return self

    @property
    def motor_ids(self) -> tuple[int, ...]:
        return tuple(m.id for j in self.joints for m in j.motors) + (self.gripper.motor.id,)


class AlohaCalibration(CalibrationModel):
    """A bimanual ALOHA cell: two follower arms, optional leader arms, cameras by name."""

    schema_version: Literal[1] = 1
    robot: Literal["aloha"] = "aloha"
    id: str
    follower_left: ArmCalibration
    follower_right: ArmCalibration
    leader_left: ArmCalibration | None = None
    leader_right: ArmCalibration | None = None
    cameras: dict[str, CameraCalibration] = Field(default_factory=dict)


class FrankaCalibration(CalibrationModel):
    """A Franka arm: joint limits and speed [rad], [rad/s], home pose, gripper width [m], mounting, cameras."""

    schema_version: Literal[1] = 1
    robot: Literal["franka"] = "franka"
    id: str
    joint_lower: tuple[float, float, float, float, float, float, float]
    joint_upper: tuple[float, float, float, float, float, float, float]
    max_velocity: tuple[float, float, float, float, float, float, float]
    home_rad: tuple[float, float, float, float, float, float, float]
    gripper_max_width_m: float = Field(0.08, gt=0.0, le=0.2)
    base_in_world_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cameras: dict[str, CameraCalibration] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _limits(self) -> FrankaCalibration:
        for i, (lo, hi, home) in enumerate(zip(self.joint_lower, self.joint_upper, self.home_rad, strict=True)):
            if not lo < home < hi:
                raise ValueError(f"joint {i + 1}: need lower < home < upper, got {lo}, {home}, {hi} [rad]")
        if min(self.max_velocity) <= 0:
            raise ValueError("max_velocity must be positive [rad/s]")
        return self
