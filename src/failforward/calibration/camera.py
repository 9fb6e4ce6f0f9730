"""Camera calibration: pinhole intrinsics (plumb-bob distortion) and extrinsics in a parent frame."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class CalibrationModel(BaseModel):
    """Base of every calibration record: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CameraIntrinsics(CalibrationModel):
    """Pinhole model at ``width`` x ``height`` [px]: focal lengths and principal point [px], 5 distortion terms."""

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    fx: float = Field(gt=0)
    fy: float = Field(gt=0)
    cx: float
    cy: float
    distortion: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)

    @model_validator(mode="after")
    def _principal_point_in_image(self) -> CameraIntrinsics:
        if not (0 <= self.cx <= self.width and 0 <= self.cy <= self.height):
            raise ValueError(f"principal point ({self.cx}, {self.cy}) is outside the {self.width}x{self.height} image")
        return self

    def matrix(self) -> np.ndarray:
        """``K [3, 3]``."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


class CameraExtrinsics(CalibrationModel):
    """Pose of the camera's optical frame (x right, y down, z forward) in ``parent_frame``.

    ``translation_m`` [m]; ``rotation_wxyz`` a unit quaternion (w, x, y, z).
    """

    parent_frame: str
    translation_m: tuple[float, float, float]
    rotation_wxyz: tuple[float, float, float, float]

    @model_validator(mode="after")
    def _unit_quaternion(self) -> CameraExtrinsics:
        norm = float(np.linalg.norm(self.rotation_wxyz))
        if abs(norm - 1.0) > 1e-3:
            raise ValueError(f"rotation_wxyz must be a unit quaternion, its norm is {norm:.4f}")
        return self


class CameraCalibration(CalibrationModel):
    """Intrinsics and extrinsics of one named camera."""

    intrinsics: CameraIntrinsics
    extrinsics: CameraExtrinsics
