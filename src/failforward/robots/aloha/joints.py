"""Joint order and features of the real ALOHA, identical to the simulated one so policies transfer.

The order equals ``failforward.sim.aloha_scene.JOINT_NAMES`` (a test checks it; it is restated
here so the real driver does not import MuJoCo): per arm waist, shoulder, elbow, forearm_roll,
wrist_angle, wrist_rotate [rad], gripper normalized (0 closed, 1 open); left arm first.
"""

from __future__ import annotations

from failforward.calibration import ArmCalibration
from failforward.types import JointFeature

ARM_JOINTS = ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate")
SIDES = ("left", "right")
JOINT_NAMES = tuple(f"{side}_arm_{j}" for side in SIDES for j in (*ARM_JOINTS, "gripper"))
ARM_MAX_VELOCITY = 3.0  # [rad/s], as the simulated ALOHA
GRIPPER_MAX_VELOCITY = 5.0  # [1/s] normalized gripper travel


def arm_features(side: str, calibration: ArmCalibration) -> tuple[JointFeature, ...]:
    """Seven features of one arm from its calibrated limits."""
    names = [j.name for j in calibration.joints]
    if tuple(names) != ARM_JOINTS:
        raise ValueError(f"calibration joints must be {ARM_JOINTS} in this order, got {tuple(names)}")
    joints = [
        JointFeature(f"{side}_arm_{j.name}", "rad", j.lower, j.upper, ARM_MAX_VELOCITY) for j in calibration.joints
    ]
    grip = calibration.gripper
    joints.append(JointFeature(f"{side}_arm_gripper", "normalized", grip.lower, grip.upper, GRIPPER_MAX_VELOCITY))
    return tuple(joints)
