"""Object perception configs: where a state policy's object poses come from (``RunConfig.perception``).

- ``ground_truth``: the simulator's poses (``robot.object_state``), for evaluation only; a deployed run refuses it.
- ``rgbd``: poses estimated from one camera's colour and depth frame (``failforward.perception.rgbd``).

Both hold the robot when perception fails (a bad frame, no object): ``max_hold_s`` [s of robot time] bounds how long
before the episode is aborted with the reason. :func:`perception_problem` is ``RunConfig``'s check: a deployed run
(a real cell, or ``deployed=true``) refuses the simulator's poses, ``ground_truth`` needs them, ``rgbd`` needs a
depth camera and must not have them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from failforward.config.base import FrozenModel
from failforward.config.maniskill import ManiSkillConfig
from failforward.config.robots import RobotConfig, SimAlohaConfig


class GroundTruthPerceptionConfig(FrozenModel):
    """The simulator's object poses, passed through and checked (needs ``robot.object_state``); evaluation only."""

    kind: Literal["ground_truth"] = "ground_truth"
    max_hold_s: float = Field(5.0, gt=0.0)


class RgbdPerceptionConfig(FrozenModel):
    """Object poses from ``camera``'s RGB-D frame: colour segmentation, depth back-projection, level footprint pose.

    Attributes:
        camera: the camera whose colour and depth frames are used (``robot.cameras`` and ``robot.depth_cameras``).
        max_frame_age_s: [s] a frame captured longer than this before its observation is stale.
        max_occlusion_s: [s] an object out of view keeps its last pose this long (a gripper over the cube), then
            it is not found and the robot holds; one in a closed gripper moves with it while the gripper stays closed.
        min_visible_fraction: an object is seen when at least this fraction of its top face's expected pixels
            shows (fewer: occluded, its last pose is kept).
        max_yaw_rate: [rad/s] how fast a tracked object can turn about the vertical; a footprint turned further since
            the object was last seen (plus ``YAW_JITTER_RAD``) is a partial view, not a turn (a gripper hiding half
            of a small plug leaves a rectangle whose longer side runs across it).
        occluder_radius_m: [m] a gripper whose tool point is within this of an object's footprint (horizontally) may
            hide part of it: its view is read as partial (the last yaw kept, the centre moved only as far as the
            visible part demands).
        hue_tolerance_deg: [deg] how far a pixel's hue may be from the object's colour (less when two objects' hues
            are closer than twice this: then half their distance).
        bright_value: of 255, the brightness above which an unsaturated pixel belongs to a white or grey object
            (above the arms' and the table's brightest pixels under the cell's light).
        in_hand: an object hidden in a closed gripper moves with it (forward kinematics of the measured joints).
        grasp_radius_m: [m] a hidden object is in a gripper whose tool point is this close to its last position...
        grasp_max_opening: ...and whose opening (0 closed, 1 open) is below this.
        max_grasp_width_m: [m] only objects whose footprint's shorter side is at most this can be carried (the
            power strip is not).
        max_hold_s: [s] of consecutive held ticks before the episode is aborted.
    """

    kind: Literal["rgbd"] = "rgbd"
    camera: str = "top"
    max_frame_age_s: float = Field(0.1, gt=0.0)
    max_occlusion_s: float = Field(3.0, ge=0.0)
    min_visible_fraction: float = Field(0.3, gt=0.0, le=1.0)
    max_yaw_rate: float = Field(3.0, gt=0.0)
    occluder_radius_m: float = Field(0.1, ge=0.0)
    hue_tolerance_deg: float = Field(20.0, gt=0.0, le=90.0)
    bright_value: int = Field(248, ge=1, le=255)
    in_hand: bool = True
    grasp_radius_m: float = Field(0.04, gt=0.0, le=0.2)
    grasp_max_opening: float = Field(0.8, gt=0.0, le=1.0)
    max_grasp_width_m: float = Field(0.05, gt=0.0)
    max_hold_s: float = Field(5.0, gt=0.0)


PerceptionConfig = Annotated[GroundTruthPerceptionConfig | RgbdPerceptionConfig, Field(discriminator="kind")]
"""One of the perception configs, chosen by ``kind``."""


DEPLOYED_ROBOTS = ("aloha", "franka")
"""Robot kinds that are always deployed (real cells): they never run on the simulator's poses."""


def perception_problem(robot: RobotConfig, perception: PerceptionConfig | None, deployed: bool) -> str | None:
    """Why ``perception`` cannot run on ``robot`` (``deployed``: the policy may use sensors only), or ``None``."""
    reports_truth = isinstance(robot, SimAlohaConfig | ManiSkillConfig) and robot.object_state
    kind = perception.kind if perception is not None else None
    if (deployed or robot.kind in DEPLOYED_ROBOTS) and (kind == "ground_truth" or reports_truth):
        real = robot.kind in DEPLOYED_ROBOTS
        return (
            f"{f'robot.kind={robot.kind!r} is a real cell' if real else 'this run is deployed (deployed=true)'}: its "
            "policy may not read a simulator's object poses (perception.kind='ground_truth', robot.object_state), "
            "which are for evaluation only; estimate them from the cameras (perception.kind='rgbd')"
            + ("" if real else " with robot.object_state=false, or set deployed=false to evaluate in simulation")
        )
    if kind == "ground_truth" and not reports_truth:
        return "perception.kind='ground_truth' passes the simulator's object poses through: set robot.object_state=true"
    if isinstance(perception, RgbdPerceptionConfig):
        return _rgbd_problem(robot, perception.camera, reports_truth)
    return None


def _rgbd_problem(robot: RobotConfig, camera: str, reports_truth: bool) -> str | None:
    if not isinstance(robot, SimAlohaConfig):
        return (
            f"perception.kind='rgbd' needs colour and depth frames; the {robot.kind!r} driver streams no depth yet "
            "(the simulated ALOHA does: robot.kind='sim_aloha'); use a policy without object state"
        )
    if reports_truth:
        return (
            "perception.kind='rgbd' estimates the poses robot.object_state would give: with both the policy could read "
            "the truth; set robot.object_state=false"
        )
    if camera not in robot.cameras or camera not in robot.depth_cameras:
        return (
            f"perception.kind='rgbd' reads colour and depth of camera {camera!r}: add it to robot.cameras and "
            f"robot.depth_cameras (now {list(robot.cameras)} and {list(robot.depth_cameras)}), or set perception.camera"
        )
    return None
