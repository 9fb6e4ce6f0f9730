"""Write the URDFs of our robots from the MuJoCo models they are simulated with, so TF matches the simulator.

Run after a MuJoCo model (gym-aloha, franky-sim) changes: ./run python tools/write_urdf.py
tests/test_urdf_kinematics.py fails until the committed files equal this output, and compares their forward
kinematics with MuJoCo's.

Files (``src/failforward/robots/urdf/``, see ``failforward.robots.urdf`` for which robot kind loads which):

- ``sim_aloha.urdf``: both ViperX 300 S arms of gym-aloha's ``bimanual_viperx_transfer_cube.xml`` (the
  insertion scene holds the same arms), their tool frames and the cameras MuJoCo holds fixed on a body.
- ``aloha.urdf``: the same arms without cameras: a real cell's camera frames come from its calibration.
- ``franka.urdf``: franky-sim's ``fr3.xml`` (MuJoCo Menagerie's FR3 with the Franka Hand), base at the world
  origin as ``franky-sim --simulator mujoco`` places it, with franka_description's ``fr3_link8`` and
  ``fr3_hand_tcp`` frames.

Rules (one MJCF body → one URDF link with the body's frame; the root link is ``world``, MuJoCo's world frame):

- A body with one hinge/slide joint → a revolute/prismatic joint: origin = the body's pose in its parent,
  axis and limits from the MJCF (radians, metres); a body without joints → a fixed joint.
- Each normalized gripper of ``joint_states`` (0 closed, 1 open) is a *drive* joint: a revolute joint of a
  massless link without geometry on the gripper body (turning it moves nothing). The MJCF finger slides
  mimic it: ``finger [m] = multiplier · gripper + offset``, the map the robot's driver uses.
- Cameras: the optical frame (x right, y down, z forward; MuJoCo cameras look along their −z with y up) as a
  fixed link named like the camera (the images' ``frame_id``), on the camera's body. A ``targetbody`` camera
  is kept only when MuJoCo's aim is rigid on that body (``front_close``, on the world and aimed at the left
  gripper, is not: it turns with the arm).
- Visuals: one box per geom of ``visual_group``: the geom's bounding box (MuJoCo's ``geom_aabb``) in the geom's
  frame. Inertials: body mass, centre of mass and principal inertia.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import mujoco
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "src" / "failforward" / "robots" / "urdf"
MUJOCO_TO_OPTICAL = np.diag([1.0, -1.0, -1.0])  # right-multiplied on a MuJoCo camera rotation
CAMERA_RIGID_TOL = 1e-9  # [m], [-]: how much a rigid camera pose on its body may differ across joint samples
DIGITS = 10  # significant digits written


class UrdfSourceError(RuntimeError):
    """The MJCF holds something this converter cannot express in URDF."""


@dataclass(frozen=True)
class Drive:
    """A normalized gripper of ``joint_states``: ``joint`` (its name) on MJCF ``body``; ``lower``/``upper`` [-]."""

    joint: str
    body: str
    lower: float
    upper: float
    velocity: float  # [1/s]


@dataclass(frozen=True)
class Mimic:
    """MJCF joint ``source`` follows drive ``joint``: position = ``multiplier`` · drive + ``offset`` [m]."""

    source: str
    joint: str
    multiplier: float
    offset: float


@dataclass(frozen=True)
class Frame:
    """An extra fixed frame ``name`` at ``xyz`` [m], ``quat`` (w, x, y, z) in MJCF body ``body``."""

    name: str
    body: str
    xyz: tuple[float, float, float]
    quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class RobotSpec:
    """How one MuJoCo model becomes one URDF.

    ``link_name``/``joint_name`` map MJCF body/joint names to URDF names (joint names = ``joint_states`` names);
    ``velocity`` maps a URDF joint name to its speed limit [rad/s or m/s].
    """

    name: str
    source: str
    load: Callable[[], mujoco.MjModel]
    roots: tuple[str, ...]
    link_name: Callable[[str], str]
    joint_name: Callable[[str], str]
    velocity: Callable[[str], float]
    visual_group: int
    drives: tuple[Drive, ...] = ()
    mimics: tuple[Mimic, ...] = ()
    frames: tuple[Frame, ...] = ()
    cameras: bool = True


# --------------------------------------------------------------------------- numbers
def fmt(*values: float) -> str:
    """Space-separated numbers with ``DIGITS`` significant digits; below ``1e-12`` in magnitude they are 0."""
    return " ".join("0" if abs(v) < 1e-12 else f"{float(v):.{DIGITS}g}" for v in values)


def rpy(rotation: np.ndarray) -> tuple[float, float, float]:
    """URDF roll, pitch, yaw [rad] of a rotation matrix ``[3, 3]`` (``R = Rz(yaw) Ry(pitch) Rx(roll)``)."""
    r = rotation
    if abs(r[2, 0]) < 1.0 - 1e-12:
        return math.atan2(r[2, 1], r[2, 2]), math.asin(-r[2, 0]), math.atan2(r[1, 0], r[0, 0])
    pitch = math.copysign(math.pi / 2, -r[2, 0])  # gimbal lock: roll folded into yaw
    return 0.0, pitch, math.atan2(-r[0, 1], r[1, 1])


def quat_matrix(quat: np.ndarray) -> np.ndarray:
    """``[3, 3]`` rotation of a unit quaternion (w, x, y, z)."""
    matrix = np.zeros(9)
    mujoco.mju_quat2Mat(matrix, np.asarray(quat, dtype=np.float64))
    return matrix.reshape(3, 3)


def origin(parent: ET.Element, xyz: np.ndarray, rotation: np.ndarray) -> None:
    ET.SubElement(parent, "origin", xyz=fmt(*xyz), rpy=fmt(*rpy(rotation)))


# --------------------------------------------------------------------------- model walk
def robot_bodies(model: mujoco.MjModel, roots: tuple[str, ...]) -> list[int]:
    """Body ids of the subtrees under ``roots``, parents before children."""
    ids = [model.body(name).id for name in roots]
    for body in range(model.nbody):
        if body not in ids and model.body_parentid[body] in ids:
            ids.append(body)
    return ids


def body_joint(model: mujoco.MjModel, body: int) -> int | None:
    """The body's joint id, ``None`` without one; raises for what URDF cannot express."""
    count, first = int(model.body_jntnum[body]), int(model.body_jntadr[body])
    if count == 0:
        return None
    kind = model.jnt_type[first]
    if count > 1 or kind not in (mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE):
        raise UrdfSourceError(f"body {model.body(body).name!r}: URDF needs at most one hinge or slide joint per body")
    if np.any(model.jnt_pos[first] != 0.0):
        raise UrdfSourceError(f"joint {model.joint(first).name!r} sits off its body origin: move it in the MJCF")
    return first


def link_rgba(model: mujoco.MjModel, geom: int) -> tuple[float, ...]:
    material = model.geom_matid[geom]
    rgba = model.mat_rgba[material] if material >= 0 else model.geom_rgba[geom]
    return tuple(round(float(c), 3) for c in rgba)


# --------------------------------------------------------------------------- elements
class Writer:
    """Builds the ``<robot>`` element of one spec."""

    def __init__(self, spec: RobotSpec) -> None:
        self.spec = spec
        self.model = spec.load()
        self.data = mujoco.MjData(self.model)  # cameras are read at the first keyframe (the robot's start pose)
        if self.model.nkey:
            mujoco.mj_resetDataKeyframe(self.model, self.data, 0)
        mujoco.mj_forward(self.model, self.data)
        self.robot = ET.Element("robot", name=spec.name)
        self.skipped_cameras: list[str] = []
        self.rolling_cameras: list[str] = []
        self._materials: dict[tuple[float, ...], str] = {}

    def build(self) -> ET.Element:
        ET.SubElement(self.robot, "link", name="world")
        bodies = robot_bodies(self.model, self.spec.roots)
        for body in bodies:
            self.body(body)
        for drive in self.spec.drives:
            self.drive(drive)
        for frame in self.spec.frames:
            self.fixed(frame.name, self.link_of(frame.body), np.array(frame.xyz), quat_matrix(np.array(frame.quat)))
        if self.spec.cameras:
            for camera in range(self.model.ncam):
                if self.model.cam_bodyid[camera] == 0 or self.model.cam_bodyid[camera] in bodies:
                    self.camera(camera)
        return self.robot

    def link_of(self, body: int | str) -> str:
        name = self.model.body(body).name
        return "world" if name == "world" else self.spec.link_name(name)

    def body(self, body: int) -> None:
        link = ET.SubElement(self.robot, "link", name=self.link_of(body))
        self.inertial(link, body)
        for geom in range(self.model.ngeom):
            if self.model.geom_bodyid[geom] == body and self.model.geom_group[geom] == self.spec.visual_group:
                self.visual(link, geom)
        joint = body_joint(self.model, body)
        parent = self.link_of(int(self.model.body_parentid[body]))
        xyz, rotation = self.model.body_pos[body], quat_matrix(self.model.body_quat[body])
        if joint is None:
            self.fixed(self.link_of(body), parent, xyz, rotation, make_link=False)
            return
        self.moving(joint, parent, self.link_of(body), xyz, rotation)

    def inertial(self, link: ET.Element, body: int) -> None:
        if self.model.body_mass[body] <= 0.0:
            return
        inertial = ET.SubElement(link, "inertial")
        origin(inertial, self.model.body_ipos[body], quat_matrix(self.model.body_iquat[body]))
        ET.SubElement(inertial, "mass", value=fmt(self.model.body_mass[body]))
        ixx, iyy, izz = self.model.body_inertia[body]
        ET.SubElement(inertial, "inertia", ixx=fmt(ixx), ixy="0", ixz="0", iyy=fmt(iyy), iyz="0", izz=fmt(izz))

    def visual(self, link: ET.Element, geom: int) -> None:
        centre, half = self.model.geom_aabb[geom][:3], self.model.geom_aabb[geom][3:]
        rotation = quat_matrix(self.model.geom_quat[geom])
        visual = ET.SubElement(link, "visual")
        origin(visual, self.model.geom_pos[geom] + rotation @ centre, rotation)
        ET.SubElement(ET.SubElement(visual, "geometry"), "box", size=fmt(*(2.0 * half)))
        ET.SubElement(visual, "material", name=self.material(link_rgba(self.model, geom)))

    def material(self, rgba: tuple[float, ...]) -> str:
        if rgba not in self._materials:
            name = self._materials[rgba] = f"{self.spec.name}_color_{len(self._materials)}"
            material = ET.Element("material", name=name)
            ET.SubElement(material, "color", rgba=fmt(*rgba))
            self.robot.insert(len(self._materials) - 1, material)
        return self._materials[rgba]

    def fixed(self, child: str, parent: str, xyz: np.ndarray, rotation: np.ndarray, make_link: bool = True) -> None:
        if make_link:
            ET.SubElement(self.robot, "link", name=child)
        joint = ET.SubElement(self.robot, "joint", name=f"{child}_fixed", type="fixed")
        origin(joint, xyz, rotation)
        ET.SubElement(joint, "parent", link=parent)
        ET.SubElement(joint, "child", link=child)

    def moving(self, joint: int, parent: str, child: str, xyz: np.ndarray, rotation: np.ndarray) -> None:
        model, mjcf_name = self.model, self.model.joint(joint).name
        kind = "revolute" if model.jnt_type[joint] == mujoco.mjtJoint.mjJNT_HINGE else "prismatic"
        name = self.spec.joint_name(mjcf_name)
        element = ET.SubElement(self.robot, "joint", name=name, type=kind)
        origin(element, xyz, rotation)
        ET.SubElement(element, "parent", link=parent)
        ET.SubElement(element, "child", link=child)
        ET.SubElement(element, "axis", xyz=fmt(*model.jnt_axis[joint]))
        lower, upper = model.jnt_range[joint] if model.jnt_limited[joint] else (-math.pi, math.pi)
        mimic = next((m for m in self.spec.mimics if m.source == mjcf_name), None)
        speed = abs(mimic.multiplier) * self.drive_speed(mimic.joint) if mimic else self.spec.velocity(name)
        ET.SubElement(
            element, "limit", lower=fmt(lower), upper=fmt(upper), effort=fmt(self.effort(joint)), velocity=fmt(speed)
        )
        if mimic is not None:
            ET.SubElement(
                element, "mimic", joint=mimic.joint, multiplier=fmt(mimic.multiplier), offset=fmt(mimic.offset)
            )

    def effort(self, joint: int) -> float:
        """[N m] or [N]: the joint's actuator force limit in the MJCF, 0 where it sets none."""
        model = self.model
        if model.jnt_actfrclimited[joint]:
            return float(np.abs(model.jnt_actfrcrange[joint]).max())
        for actuator in range(model.nu):
            if model.actuator_trnid[actuator, 0] == joint and model.actuator_forcelimited[actuator]:
                return float(np.abs(model.actuator_forcerange[actuator]).max())
        return 0.0

    def drive_speed(self, joint: str) -> float:
        return next(d.velocity for d in self.spec.drives if d.joint == joint)

    def drive(self, drive: Drive) -> None:
        link = f"{drive.joint}_drive"
        ET.SubElement(self.robot, "link", name=link)
        element = ET.SubElement(self.robot, "joint", name=drive.joint, type="revolute")
        origin(element, np.zeros(3), np.eye(3))
        ET.SubElement(element, "parent", link=self.link_of(drive.body))
        ET.SubElement(element, "child", link=link)
        ET.SubElement(element, "axis", xyz="1 0 0")
        ET.SubElement(
            element, "limit", lower=fmt(drive.lower), upper=fmt(drive.upper), effort="0", velocity=fmt(drive.velocity)
        )

    def camera(self, camera: int) -> None:
        name, body = self.model.camera(camera).name, int(self.model.cam_bodyid[camera])
        pose = body_from_camera(self.model, self.data, camera)
        mount = camera_mount(self.model, camera, pose)
        if mount == "tracks":
            self.skipped_cameras.append(name)
            return
        if mount == "rolls":
            self.rolling_cameras.append(name)
        self.fixed(name, self.link_of(body), pose[:3, 3], pose[:3, :3])


def body_from_camera(model: mujoco.MjModel, data: mujoco.MjData, camera: int) -> np.ndarray:
    """``[4, 4]`` optical frame of ``camera`` in its body's frame, as ``data`` (after ``mj_forward``) has it."""
    body = model.cam_bodyid[camera]
    world_body, world_camera = np.eye(4), np.eye(4)
    world_body[:3, :3], world_body[:3, 3] = data.xmat[body].reshape(3, 3), data.xpos[body]
    world_camera[:3, :3] = data.cam_xmat[camera].reshape(3, 3) @ MUJOCO_TO_OPTICAL
    world_camera[:3, 3] = data.cam_xpos[camera]
    return np.linalg.inv(world_body) @ world_camera


CameraMount = Literal["rigid", "rolls", "tracks"]
"""How a camera sits on its body over joint motion: ``rigid``; ``rolls``: position and view axis rigid, the roll
about the view axis not (a ``targetbody`` camera aimed at a point of its own body keeps its image x axis
horizontal in the world); ``tracks``: the view axis turns too (aimed at another moving body)."""


def camera_mount(model: mujoco.MjModel, camera: int, pose: np.ndarray, samples: int = 8) -> CameraMount:
    """How ``camera`` keeps ``pose`` (``[4, 4]`` on its body) over random joint positions within the limits."""
    data, rng = mujoco.MjData(model), np.random.default_rng(0)
    mount: CameraMount = "rigid"
    for _ in range(samples):
        for joint in np.flatnonzero(model.jnt_limited):
            data.qpos[model.jnt_qposadr[joint]] = rng.uniform(*model.jnt_range[joint])
        mujoco.mj_forward(model, data)
        sample = body_from_camera(model, data, camera)
        if np.abs(sample[:3, 2:] - pose[:3, 2:]).max() > CAMERA_RIGID_TOL:
            return "tracks"
        if np.abs(sample - pose).max() > CAMERA_RIGID_TOL:
            mount = "rolls"
    return mount


def render(spec: RobotSpec) -> str:
    """The URDF text of ``spec``."""
    writer = Writer(spec)
    robot = writer.build()
    ET.indent(robot, space="  ")
    lines = [f"Generated by tools/write_urdf.py from {spec.source}: do not edit, run ./run python tools/write_urdf.py."]
    if writer.skipped_cameras:
        lines.append(f"Cameras MuJoCo aims at another moving body, left out: {', '.join(writer.skipped_cameras)}.")
    if writer.rolling_cameras:
        lines.append(
            f"{', '.join(writer.rolling_cameras)}: MuJoCo keeps their image x axis horizontal in the world, so their "
            "roll about the view axis changes with the arm; here it is their roll at the model's first keyframe "
            "(the start pose)."
        )
    header = '<?xml version="1.0"?>\n<!--\n' + "".join(f"  {line}\n" for line in lines) + "-->\n"
    return header + ET.tostring(robot, encoding="unicode") + "\n"


# --------------------------------------------------------------------------- our robots
def aloha_spec(name: str, cameras: bool) -> RobotSpec:
    from gym_aloha.constants import PUPPET_GRIPPER_POSITION_CLOSE, PUPPET_GRIPPER_POSITION_OPEN

    from failforward.config import SimAlohaConfig
    from failforward.kinematics.aloha_ik import TOOL_OFFSET
    from failforward.robots.registry import describe_robot
    from failforward.sim.tasks import get_task

    task = get_task("transfer_cube")
    features = describe_robot(SimAlohaConfig(task="transfer_cube")).features
    joints = {j.name: j for j in features.joints}
    span, closed = PUPPET_GRIPPER_POSITION_OPEN - PUPPET_GRIPPER_POSITION_CLOSE, PUPPET_GRIPPER_POSITION_CLOSE
    sides = ("left", "right")

    def link_name(body: str) -> str:
        side, _, rest = body.removeprefix("vx300s_").partition("/")
        return f"{side}_arm_{rest or 'base_link'}"

    def joint_name(joint: str) -> str:
        side, _, rest = joint.removeprefix("vx300s_").partition("/")
        return f"{side}_arm_{rest}"

    drives = tuple(
        Drive(
            f"{s}_arm_gripper",
            f"vx300s_{s}/gripper_link",
            joints[f"{s}_arm_gripper"].lower,
            joints[f"{s}_arm_gripper"].upper,
            joints[f"{s}_arm_gripper"].max_velocity,
        )
        for s in sides
    )
    mimics = tuple(
        Mimic(f"vx300s_{s}/{finger}_finger", f"{s}_arm_gripper", sign * span, sign * closed)
        for s in sides
        for finger, sign in (("left", 1.0), ("right", -1.0))
    )
    return RobotSpec(
        name=name,
        source=f"gym-aloha {importlib.metadata.version('gym-aloha')} assets/{Path(task.xml_path).name}",
        load=lambda: mujoco.MjModel.from_xml_path(task.xml_path),
        roots=("vx300s_left", "vx300s_right"),
        link_name=link_name,
        joint_name=joint_name,
        velocity=lambda joint: joints[joint].max_velocity,
        visual_group=0,
        drives=drives,
        mimics=mimics,
        frames=tuple(Frame(f"{s}_arm_tool", f"vx300s_{s}/gripper_link", (TOOL_OFFSET, 0.0, 0.0)) for s in sides),
        cameras=cameras,
    )


FRANKA_LINKS = {
    "base": "fr3_base",
    "hand": "fr3_hand",
    "left_finger": "fr3_leftfinger",
    "right_finger": "fr3_rightfinger",
}
FRANKA_JOINTS = {"finger_joint1": "fr3_finger_joint1", "finger_joint2": "fr3_finger_joint2"}
FRANKA_FLANGE_M = 0.107  # [m] fr3_link7 → fr3_link8 (flange) along z, franka_description
FRANKA_TCP_M = 0.1034  # [m] fr3_hand → fr3_hand_tcp along z, franka_description (franky's default end effector)


def franky_sim_assets() -> Path:
    """franky-sim's asset folder, found without importing franky-sim."""
    found = importlib.util.find_spec("franky_sim")
    if found is None or not found.submodule_search_locations:
        raise UrdfSourceError("franky-sim is not installed: install the hardware extra to write franka.urdf")
    return Path(next(iter(found.submodule_search_locations))) / "assets"


def load_fr3() -> mujoco.MjModel:
    """franky-sim's ``fr3.xml`` with its meshes found as franky-sim's own scene builder finds them."""
    spec = mujoco.MjSpec.from_file(str(franky_sim_assets() / "fr3.xml"))
    spec.meshdir = str(franky_sim_assets() / "meshes")
    return spec.compile()


def franka_spec() -> RobotSpec:
    from failforward.calibration import FrankaCalibration, load_calibration
    from failforward.robots.franka import ARM_JOINTS, GRIPPER_JOINT, GRIPPER_MAX_VELOCITY

    calibration = load_calibration(ROOT / "calibration" / "franka" / "fr3_sim")
    if not isinstance(calibration, FrankaCalibration):
        raise UrdfSourceError("calibration/franka/fr3_sim is not a Franka calibration")
    speeds = dict(zip(ARM_JOINTS, calibration.max_velocity, strict=True))
    half = calibration.gripper_max_width_m / 2  # [m] per finger at a normalized opening of 1
    return RobotSpec(
        name="fr3",
        source=f"franky-sim {importlib.metadata.version('franky-sim')} assets/fr3.xml",
        load=load_fr3,
        roots=("base",),
        link_name=lambda body: FRANKA_LINKS.get(body, body),
        joint_name=lambda joint: FRANKA_JOINTS.get(joint, joint),
        velocity=speeds.__getitem__,
        visual_group=3,
        drives=(Drive(GRIPPER_JOINT, "hand", 0.0, 1.0, GRIPPER_MAX_VELOCITY),),
        mimics=tuple(Mimic(f"finger_joint{i}", GRIPPER_JOINT, half, 0.0) for i in (1, 2)),
        frames=(
            Frame("fr3_link8", "fr3_link7", (0.0, 0.0, FRANKA_FLANGE_M)),
            Frame("fr3_hand_tcp", "hand", (0.0, 0.0, FRANKA_TCP_M)),
        ),
    )


def specs() -> dict[str, Callable[[], RobotSpec]]:
    """File name → spec of every URDF this tool writes."""
    return {
        "sim_aloha.urdf": lambda: aloha_spec("aloha", cameras=True),
        "aloha.urdf": lambda: aloha_spec("aloha", cameras=False),
        "franka.urdf": franka_spec,
    }


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for file_name, spec in specs().items():
        path = OUT_DIR / file_name
        path.write_text(render(spec()))
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
