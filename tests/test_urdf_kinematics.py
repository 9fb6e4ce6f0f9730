"""The URDFs move like the MuJoCo models they stand for: forward kinematics (yourdfpy) against MuJoCo over random
joint samples within the limits, every link with a MuJoCo body, the tool frames and the cameras within 1 mm and
0.5°; their joints are the ``joint_states`` names; the committed files are what ``tools/write_urdf.py`` writes.

``robot_state_publisher`` is not on PyPI, so this is the check of the TF it would publish from these files and
the bridge's joint states.
"""

from __future__ import annotations

import importlib.util
import io
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np
import pytest

from failforward.config import SimAlohaConfig
from failforward.kinematics.aloha_ik import AlohaIK
from failforward.recovery.camera import MUJOCO_TO_OPTICAL
from failforward.robots.registry import describe_robot
from failforward.robots.urdf import URDF_OF_KIND, urdf_path
from failforward.sim.aloha_scene import JOINT_NAMES, to_actuator_targets
from failforward.sim.tasks import get_task

yourdfpy = pytest.importorskip("yourdfpy", reason="yourdfpy (the dev extra) checks the URDFs")

ROOT = Path(__file__).resolve().parents[1]
POSITION_TOL_M = 1e-3
ANGLE_TOL_RAD = np.deg2rad(0.5)
SAMPLES = 40
ROLLING_CAMERAS = ("left_wrist", "right_wrist")  # MuJoCo keeps their image x axis horizontal: roll not rigid
Pose = np.ndarray  # [4, 4] world_from_frame [m]


def load_urdf(text: str) -> yourdfpy.URDF:
    return yourdfpy.URDF.load(io.BytesIO(text.encode()), load_meshes=False, build_scene_graph=True)


def angle_between(a: np.ndarray, b: np.ndarray) -> float:
    """[rad] of the rotation between two ``[3, 3]`` rotations."""
    cos = (np.trace(a.T @ b) - 1.0) / 2.0
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def pose(xpos: np.ndarray, xmat: np.ndarray) -> Pose:
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = np.asarray(xmat).reshape(3, 3), xpos
    return out


@dataclass
class Errors:
    """Largest position [m] and angle [rad] error seen per URDF frame."""

    position: dict[str, float]
    angle: dict[str, float]

    def add(self, frame: str, urdf: Pose, reference: Pose, *, axis_only: bool = False) -> None:
        position = float(np.linalg.norm(urdf[:3, 3] - reference[:3, 3]))
        if axis_only:  # the view axis (optical z) only
            angle = float(np.arccos(np.clip(urdf[:3, 2] @ reference[:3, 2], -1.0, 1.0)))
        else:
            angle = angle_between(urdf[:3, :3], reference[:3, :3])
        self.position[frame] = max(self.position.get(frame, 0.0), position)
        self.angle[frame] = max(self.angle.get(frame, 0.0), angle)

    def worst(self) -> tuple[float, float]:
        return max(self.position.values()), max(self.angle.values())

    def assert_within(self) -> None:
        far = {f: round(e * 1e3, 3) for f, e in self.position.items() if e > POSITION_TOL_M}
        turned = {f: round(float(np.rad2deg(e)), 3) for f, e in self.angle.items() if e > ANGLE_TOL_RAD}
        assert not far and not turned, f"beyond 1 mm [mm]: {far}; beyond 0.5° [deg]: {turned}"


# ------------------------------------------------------------------------------------------------ ALOHA
def aloha_link(body: str) -> str:
    """MJCF body of gym-aloha's arms → URDF link: ``vx300s_left/wrist_link`` → ``left_arm_wrist_link``."""
    side, _, rest = body.removeprefix("vx300s_").partition("/")
    return f"{side}_arm_{rest or 'base_link'}"


def aloha_samples(count: int, seed: int = 0) -> Iterator[np.ndarray]:
    """gym-aloha's start pose, then ``count`` uniform ``[14]`` joint vectors within the driver's limits."""
    joints = describe_robot(SimAlohaConfig()).features.joints
    lower, upper = np.array([j.lower for j in joints]), np.array([j.upper for j in joints])
    yield np.array([0.0, -0.96, 1.16, 0.0, -0.3, 0.0, 0.5] * 2)
    rng = np.random.default_rng(seed)
    for _ in range(count):
        yield rng.uniform(lower, upper)


def aloha_errors(urdf_text: str, task: str, samples: int = SAMPLES) -> Errors:
    """FK of ``urdf_text`` against the task scene: arm bodies, tool frames, cameras."""
    robot = load_urdf(urdf_text)
    model = mujoco.MjModel.from_xml_path(get_task(task).xml_path)
    data = mujoco.MjData(model)
    ik = AlohaIK(get_task(task).xml_path)
    bodies = [b for b in range(model.nbody) if model.body(b).name.startswith("vx300s_")]
    cameras = [c for c in range(model.ncam) if model.camera(c).name in robot.link_map]
    errors = Errors({}, {})
    for index, q in enumerate(aloha_samples(samples)):
        robot.update_cfg(dict(zip(JOINT_NAMES, q, strict=True)))
        data.qpos[:16] = to_actuator_targets(q)
        mujoco.mj_forward(model, data)
        for body in bodies:
            link = aloha_link(model.body(body).name)
            errors.add(link, robot.get_transform(link, "world"), pose(data.xpos[body], data.xmat[body]))
        for side, tool in ik.tool_poses(np.r_[q[0:6], q[7:13]]).items():
            errors.add(f"{side}_arm_tool", robot.get_transform(f"{side}_arm_tool", "world"), tool.as_matrix())
        for camera in cameras:
            name = model.camera(camera).name
            reference = pose(data.cam_xpos[camera], data.cam_xmat[camera].reshape(3, 3) @ MUJOCO_TO_OPTICAL)
            rolls = name in ROLLING_CAMERAS and index > 0  # the roll is the start pose's (sample 0)
            errors.add(name, robot.get_transform(name, "world"), reference, axis_only=rolls)
    return errors


@pytest.fixture(scope="module")
def sim_aloha_urdf() -> str:
    return urdf_path("sim_aloha").read_text()


@pytest.mark.parametrize("task", ["transfer_cube", "insertion"])
def test_sim_aloha_urdf_matches_mujoco_forward_kinematics(sim_aloha_urdf: str, task: str) -> None:
    errors = aloha_errors(sim_aloha_urdf, task)
    frames = set(errors.position)
    assert {f"{s}_arm_{link}" for s in ("left", "right") for link in ("gripper_link", "tool", "left_finger_link")} <= (
        frames
    )
    assert {"top", "angle", "left_pillar", "right_pillar", "left_wrist", "right_wrist"} <= frames
    assert len(frames) == 2 * (11 + 1) + 4 + 2  # per arm 11 bodies and the tool; 4 fixed and 2 wrist cameras
    errors.assert_within()
    position, angle = errors.worst()
    print(f"sim_aloha on {task}: largest errors {position * 1e3:.2e} mm, {np.rad2deg(angle):.2e}°")


def test_aloha_urdf_is_the_simulated_arms_without_cameras(sim_aloha_urdf: str) -> None:
    """The real cell's file: the same arms (FK checked), no camera frames (they come from the calibration)."""
    real = load_urdf(urdf_path("aloha").read_text())
    assert not {"top", "left_wrist", "right_wrist"} & set(real.link_map)
    assert set(real.link_map) | {"top", "angle", "left_pillar", "right_pillar", "left_wrist", "right_wrist"} == set(
        load_urdf(sim_aloha_urdf).link_map
    )
    aloha_errors(urdf_path("aloha").read_text(), "transfer_cube", samples=10).assert_within()


@pytest.mark.parametrize("kind", ["sim_aloha", "aloha"])
def test_aloha_urdf_joints_are_the_joint_states_names(kind: str) -> None:
    """robot_state_publisher computes TF from exactly the bridge's joint states; the fingers are mimic joints."""
    robot = load_urdf(urdf_path(kind).read_text())
    assert set(robot.actuated_joint_names) == set(JOINT_NAMES)
    mimics = {j.name: j.mimic.joint for j in robot.robot.joints if j.mimic is not None}
    assert mimics == {f"{s}_arm_{f}_finger": f"{s}_arm_gripper" for s in ("left", "right") for f in ("left", "right")}
    assert robot.base_link == "world"


def perturbed(text: str, joint: str, xyz: tuple[float, float, float] = (0, 0, 0), rpy: float = 0.0) -> str:
    """``text`` with ``joint``'s origin moved by ``xyz`` [m] and its roll changed by ``rpy`` [rad]."""
    pattern = rf'(<joint name="{joint}".*?<origin xyz=")([^"]+)(" rpy=")([^"]+)'
    match = re.search(pattern, text, flags=re.S)
    assert match, f"no joint {joint} with an origin"
    moved = " ".join(str(float(v) + d) for v, d in zip(match.group(2).split(), xyz, strict=True))
    r, p, y = (float(v) for v in match.group(4).split())
    return text[: match.start(2)] + moved + match.group(3) + f"{r + rpy} {p} {y}" + text[match.end(4) :]


@pytest.mark.parametrize(
    ("joint", "xyz", "rpy"),
    [("left_arm_elbow", (0.0015, 0.0, 0.0), 0.0), ("right_arm_wrist_angle", (0, 0, 0), np.deg2rad(0.7))],
    ids=["elbow moved 1.5 mm", "wrist turned 0.7 deg"],
)
def test_the_comparison_catches_a_wrong_joint_origin(sim_aloha_urdf: str, joint: str, xyz, rpy: float) -> None:
    errors = aloha_errors(perturbed(sim_aloha_urdf, joint, xyz, rpy), "transfer_cube", samples=5)
    with pytest.raises(AssertionError, match="beyond"):
        errors.assert_within()


# ------------------------------------------------------------------------------------------------ Franka
FRANKA_LINKS = {"hand": "fr3_hand", "left_finger": "fr3_leftfinger", "right_finger": "fr3_rightfinger"}
FRANKA_TCP_M = 0.1034  # [m] along the hand's z: franka_description's fr3_hand_tcp


def write_urdf_tool():
    spec = importlib.util.spec_from_file_location("write_urdf", ROOT / "tools" / "write_urdf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


needs_franky_sim = pytest.mark.skipif(
    importlib.util.find_spec("franky_sim") is None, reason="franky-sim (hardware extra) holds the FR3 MuJoCo model"
)


def franka_samples(count: int, seed: int = 0) -> Iterator[np.ndarray]:
    """``[8]``: seven joints [rad] within the fr3_sim calibration, normalized gripper in [0, 1]."""
    from failforward.calibration import load_calibration

    calibration = load_calibration(ROOT / "calibration" / "franka" / "fr3_sim")
    lower, upper = np.r_[calibration.joint_lower, 0.0], np.r_[calibration.joint_upper, 1.0]
    rng = np.random.default_rng(seed)
    for _ in range(count):
        yield rng.uniform(lower, upper)


def franka_errors(urdf_text: str, load_model: Callable[[], mujoco.MjModel], samples: int = SAMPLES) -> Errors:
    from failforward.robots.franka import ARM_JOINTS, GRIPPER_JOINT

    robot, model = load_urdf(urdf_text), load_model()
    data = mujoco.MjData(model)
    arm = [model.joint(name).qposadr[0] for name in ARM_JOINTS]
    fingers = [model.joint(f"finger_joint{i}").qposadr[0] for i in (1, 2)]
    hand = model.body("hand").id
    errors = Errors({}, {})
    for q in franka_samples(samples):
        robot.update_cfg(dict(zip((*ARM_JOINTS, GRIPPER_JOINT), q, strict=True)))
        data.qpos[arm], data.qpos[fingers] = q[:7], q[7] * 0.08 / 2  # franky-sim: each finger half the width
        mujoco.mj_forward(model, data)
        for body in range(1, model.nbody):
            name = model.body(body).name
            link = FRANKA_LINKS.get(name, "fr3_base" if name == "base" else name)
            errors.add(link, robot.get_transform(link, "world"), pose(data.xpos[body], data.xmat[body]))
        tcp = pose(data.xpos[hand], data.xmat[hand]) @ pose(np.array([0.0, 0.0, FRANKA_TCP_M]), np.eye(3))
        errors.add("fr3_hand_tcp", robot.get_transform("fr3_hand_tcp", "world"), tcp)
    return errors


@needs_franky_sim
def test_franka_urdf_matches_franky_sims_mujoco_model() -> None:
    from failforward.robots.franka import ARM_JOINTS, GRIPPER_JOINT

    text = urdf_path("franka").read_text()
    assert set(load_urdf(text).actuated_joint_names) == {*ARM_JOINTS, GRIPPER_JOINT}
    errors = franka_errors(text, write_urdf_tool().load_fr3)
    assert {"fr3_link1", "fr3_link7", "fr3_hand", "fr3_leftfinger", "fr3_rightfinger", "fr3_hand_tcp"} <= set(
        errors.position
    )
    errors.assert_within()
    position, angle = errors.worst()
    print(f"franka: largest errors {position * 1e3:.2e} mm, {np.rad2deg(angle):.2e}°")
    moved = perturbed(text, "fr3_joint4", (0.0, 0.0015, 0.0))
    with pytest.raises(AssertionError, match="beyond"):
        franka_errors(moved, write_urdf_tool().load_fr3, samples=5).assert_within()


# ------------------------------------------------------------------------------------------------ drift
@pytest.mark.parametrize("file_name", sorted(set(URDF_OF_KIND.values())))
def test_committed_urdfs_are_what_the_tool_writes(file_name: str) -> None:
    """Regenerate with ./run python tools/write_urdf.py when a MuJoCo model (gym-aloha, franky-sim) changed."""
    if file_name == "franka.urdf" and importlib.util.find_spec("franky_sim") is None:
        pytest.skip("franky-sim (hardware extra) holds the FR3 MuJoCo model")
    tool = write_urdf_tool()
    assert (tool.OUT_DIR / file_name).read_text() == tool.render(tool.specs()[file_name]()), (
        f"{file_name} is stale: run ./run python tools/write_urdf.py"
    )
