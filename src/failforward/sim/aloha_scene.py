"""The simulated ALOHA cell on plain MuJoCo, loading gym-aloha's scene files.

gym-aloha's ``AlohaEnv.step`` renders three 480x640 cameras every step (170–250 ms). This scene
steps physics alone (~1.3 ms per 20 ms tick) and renders only the cameras a consumer asks for.

Frames: world frame is the table frame of the MJCF (z up, metres). Joint order (14):
left waist, shoulder, elbow, forearm_roll, wrist_angle, wrist_rotate, left gripper,
then the same for the right arm. Grippers are normalized: 0 closed, 1 open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco
import numpy as np
from gym_aloha.constants import (
    DT,
    START_ARM_POSE,
    normalize_puppet_gripper_position,
    normalize_puppet_gripper_velocity,
    unnormalize_puppet_gripper_position,
)

from failforward.sim.tasks import ContactSet, SimTaskSpec

ARM_JOINTS = ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate")
JOINT_NAMES = tuple(f"{side}_arm_{j}" for side in ("left", "right") for j in (*ARM_JOINTS, "gripper"))
GRIPPER_INDICES = (6, 13)
CONTROL_DT = DT  # [s]


@dataclass(frozen=True)
class SimState:
    """Privileged simulator state, never part of an ``Observation``.

    Attributes:
        time: simulation time [s].
        qpos: full MuJoCo ``qpos [nq]`` (arms, fingers, free joints of objects).
        qvel: full MuJoCo ``qvel [nv]``.
        object_poses: body name → ``[7]`` xyz [m] + quat (w, x, y, z), world frame.
        contacts: unordered geom-name pairs currently in contact.
        stage: task reward stage 0–4 (gym-aloha's reward; ``plug_strip``: see ``sim.plug_strip_status``).
        success: ``stage == 4``.
        variant: the episode's scene variant of a task that varies per seed (``plug_strip``: a
            ``PlugStripLayout``), else ``None``.
    """

    time: float
    qpos: np.ndarray
    qvel: np.ndarray
    object_poses: dict[str, np.ndarray]
    contacts: ContactSet
    stage: int
    success: bool
    variant: Any = None


class AlohaScene:
    """MuJoCo model + data of one task, with gym-aloha's action and observation conventions."""

    def __init__(self, task: SimTaskSpec, *, shadows: bool = False, antialias: bool = True) -> None:
        self.task = task
        self.model = mujoco.MjModel.from_xml_path(task.xml_path)
        self.data = mujoco.MjData(self.model)
        if not shadows:
            self.model.light_castshadow[:] = 0
        if not antialias:  # no multisampling in offscreen rendering (set before the first renderer exists)
            self.model.vis.quality.offsamples = 0
        self.n_substeps = int(round(CONTROL_DT / self.model.opt.timestep))
        self.variant: Any = None  # the seed's scene variant (tasks with ``configure``), set by ``reset``
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        self._geom_names = [self.model.geom(i).name for i in range(self.model.ngeom)]
        self._object_qposadr = {
            name: int(self.model.jnt_qposadr[self.model.body(name).jntadr[0]]) for name in task.objects
        }

    # ------------------------------------------------------------------ state
    def reset(self, seed: int) -> None:
        """Arms to gym-aloha's start pose, objects to the task's seeded initial poses."""
        mujoco.mj_resetData(self.model, self.data)
        if self.task.configure is not None:
            self.variant = self.task.configure(self.model, seed)
        self.data.qpos[:16] = START_ARM_POSE
        self.data.ctrl[:] = START_ARM_POSE
        self.data.qpos[16:] = self.task.sample_object_qpos(seed)
        mujoco.mj_forward(self.model, self.data)

    def set_qpos(self, qpos: np.ndarray) -> None:
        """Teleport to a full state ``qpos [nq]`` (arms keep their position targets)."""
        self.data.qpos[:] = qpos
        self.data.qvel[:] = 0.0
        self.data.ctrl[:] = qpos[:16]
        mujoco.mj_forward(self.model, self.data)

    def step(self, action: np.ndarray) -> None:
        """Apply ``action [14]`` (joint targets [rad], grippers normalized) for one 20 ms tick."""
        self.data.ctrl[:] = to_actuator_targets(action)
        mujoco.mj_step(self.model, self.data, nstep=self.n_substeps)
        # Contacts and derived quantities at the state we report (as dm_control's split step leaves
        # them, which gym-aloha's reward reads); mj_step alone leaves them one substep behind.
        mujoco.mj_forward(self.model, self.data)

    def joint_positions(self) -> np.ndarray:
        """``[14]`` arm joints [rad] and normalized grippers."""
        q = self.data.qpos
        grip = normalize_puppet_gripper_position
        return np.concatenate([q[0:6], [grip(q[6])], q[8:14], [grip(q[14])]])

    def joint_velocities(self) -> np.ndarray:
        """``[14]`` arm joint speeds [rad/s] and normalized gripper speeds [1/s]."""
        v = self.data.qvel
        grip = normalize_puppet_gripper_velocity
        return np.concatenate([v[0:6], [grip(v[6])], v[8:14], [grip(v[14])]])

    def contacts(self) -> ContactSet:
        names = self._geom_names
        return frozenset((names[c.geom1], names[c.geom2]) for c in self.data.contact[: self.data.ncon])

    def object_poses(self) -> dict[str, np.ndarray]:
        return {name: self.data.qpos[adr : adr + 7].copy() for name, adr in self._object_qposadr.items()}

    def stage(self, contacts: ContactSet | None = None) -> int:
        """Task stage 0–4 now (``contacts``: this instant's, if already read)."""
        contacts = self.contacts() if contacts is None else contacts
        if self.task.variant_stage is not None:
            return self.task.variant_stage(self.variant, self.object_poses(), contacts)
        return self.task.stage(contacts)

    def state(self) -> SimState:
        contacts = self.contacts()
        stage = self.stage(contacts)
        return SimState(
            time=float(self.data.time),
            qpos=self.data.qpos.copy(),
            qvel=self.data.qvel.copy(),
            object_poses=self.object_poses(),
            contacts=contacts,
            stage=stage,
            success=stage == 4,
            variant=self.variant,
        )

    # --------------------------------------------------------------- cameras
    def render(self, camera: str, height: int, width: int, *, depth: bool = False) -> np.ndarray:
        """RGB ``uint8 [H, W, 3]`` or, with ``depth=True``, ``float32 [H, W]`` depth [m]."""
        renderer = self._renderer(height, width)
        if depth:
            renderer.enable_depth_rendering()
        renderer.update_scene(self.data, camera=camera)
        try:
            return renderer.render().copy()
        finally:
            renderer.disable_depth_rendering()

    def camera_intrinsics(self, camera: str, height: int, width: int) -> np.ndarray:
        """Pinhole ``K [3, 3]`` in pixels for ``camera`` at this resolution (MuJoCo fovy is vertical)."""
        fovy = np.deg2rad(self.model.camera(camera).fovy[0])
        f = 0.5 * height / np.tan(0.5 * fovy)
        return np.array([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]])

    def _renderer(self, height: int, width: int) -> mujoco.Renderer:
        key = (height, width)
        if key not in self._renderers:
            self._renderers[key] = mujoco.Renderer(self.model, height, width)
        return self._renderers[key]

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()


def to_actuator_targets(action: np.ndarray) -> np.ndarray:
    """``[14]`` joint action → ``[16]`` MuJoCo position targets (each gripper drives two fingers)."""
    left_grip = unnormalize_puppet_gripper_position(action[6])
    right_grip = unnormalize_puppet_gripper_position(action[13])
    return np.concatenate([action[0:6], [left_grip, -left_grip], action[7:13], [right_grip, -right_grip]])
