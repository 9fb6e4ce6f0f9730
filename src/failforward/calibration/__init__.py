"""Calibration as data: pydantic schemas for ``calibration/<robot>/<id>/calibration.json`` and their loader.

Example:
    >>> from failforward.calibration import load_calibration
    >>> cal = load_calibration("calibration/aloha/default")
    >>> cal.follower_left.gripper.closed_rad
"""

from failforward.calibration.loader import CALIBRATION_FILE, calibration_dirs, load_calibration
from failforward.calibration.schema import (
    AlohaCalibration,
    ArmCalibration,
    CameraCalibration,
    FrankaCalibration,
    GripperCalibration,
    JointCalibration,
    MotorCalibration,
)

__all__ = [
    "CALIBRATION_FILE",
    "AlohaCalibration",
    "ArmCalibration",
    "CameraCalibration",
    "FrankaCalibration",
    "GripperCalibration",
    "JointCalibration",
    "MotorCalibration",
    "calibration_dirs",
    "load_calibration",
]
