"""State features derived from the raw state and appended to it for the model (``AfilModelConfig.state_features``).

A state policy reads joint angles and object poses in the world frame. Where the task asks for millimetres between a
gripper and an object (the plug strip's grasps), the network must learn the arm's forward kinematics and a
difference of positions before it can tell how far the gripper is from where it must close. A derived feature
computes that once, on the CPU, from the same numbers (the measured joints and the observed object poses), in
training and at inference alike.

- ``aloha_tool_offsets``: for the 14-joint ALOHA: both tool points (the fingertip centre line,
  :data:`failforward.kinematics.aloha_ik.TOOL_OFFSET` ahead of each ``gripper_link``; forward kinematics of the
  measured arm joints in MuJoCo) ``[6]``, then per object its position minus each tool point ``[6 · N]`` [m, world
  frame]: ``6 + 6N`` numbers for ``N`` objects.
- ``aloha_joint_offsets``: per object and arm, the arm's 6 joint motions [rad] that would bring its tool point to
  the object's position to first order: the damped least-squares solution ``Jᵀ(JJᵀ + λ²I)⁻¹ (p_object − p_tool)``
  of the tool point's position Jacobian ``J [3, 6]`` at the measured joints (:data:`JACOBIAN_DAMPING` = λ [m]):
  ``12N`` numbers. A joint-space policy predicts joint offsets; this hands it the object's offset in its own
  coordinates instead of leaving the arm's Jacobian to be learned. Measured on the plug strip, it did not make a
  joint-space regressor follow the plug (``bench/vine_system1_probe.py``); tool-space actions did
  (``policy.afil.action_space``).
- ``plug_strip_socket_offsets``: for the plug strip's state (the ALOHA's 14 joints, then the strip's, ``plug_a``'s
  and ``plug_b``'s poses: :data:`failforward.sim.plug_strip_layout.OBJECTS`): per plug, then per socket (0, 1, 2),
  the plug's prong tip minus the socket's mouth centre ``[18]`` [m, world frame]; the same geometry as the task's
  own rule (:func:`failforward.sim.plug_strip_status.prong_tip`, ``socket_mouth``). An insertion must bring the tip
  within 2–3 mm of a mouth whose position turns with the strip's yaw (8 mm at the outer sockets for 0.2 rad): the
  feature hands the policy that difference instead of leaving a quaternion's rotation to be learned. An absent plug
  (parked under the table, :data:`failforward.sim.plug_strip_layout.PARKED`) has zero offsets, so the sentinel's
  metre-scale distances do not set the feature's normalization (the raw state still says the plug is absent). It
  describes the task's objects, not the robot: a model trained with it runs on plug-strip observations only.

:func:`model_state` is the one entry point: raw state ``[..., S]`` → the model's state ``[..., S + extra]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

import numpy as np

from failforward.errors import ShapeError

if TYPE_CHECKING:  # MuJoCo is imported only when a model asks for a kinematic feature
    import mujoco

StateFeature = Literal["aloha_tool_offsets", "aloha_joint_offsets", "plug_strip_socket_offsets"]
ALOHA_JOINTS = 14  # 6 arm joints + 1 gripper per side
ALOHA_ARM_COLUMNS = (*range(6), *range(7, 13))  # the state's arm joints, left then right, without the grippers
OBJECT_NUMBERS = 7  # an object's pose in the state: position [3] then quaternion [4]
JACOBIAN_DAMPING = 0.02  # [m] λ of the damped least squares: offsets far beyond reach give bounded joint motions


@dataclass(frozen=True)
class FeatureSpec:
    """A derived feature: how many numbers it adds for a raw state of ``state_dim``, and how it computes them from
    raw states ``[T, S]`` (``[T, extra]``); ``requires`` says what raw state it needs (an error message)."""

    size: Callable[[int], int]
    compute: Callable[[np.ndarray], np.ndarray]
    valid: Callable[[int, int], bool]
    requires: str


def _objects(state_dim: int) -> int:
    return (state_dim - ALOHA_JOINTS) // OBJECT_NUMBERS


@dataclass(frozen=True)
class Kinematics:
    """The IK scene's MuJoCo model (read only), its configuration from ``[12]`` arm joints, the tool sites' ids, and
    per side the velocity columns of its 6 arm joints."""

    model: mujoco.MjModel
    full_q: Callable[[np.ndarray], np.ndarray]
    sites: tuple[int, int]
    dofs: tuple[np.ndarray, np.ndarray]


@cache
def aloha_kinematics() -> Kinematics:
    """Built once per process."""
    import mujoco

    from failforward.kinematics.aloha_ik import ARM_JOINTS, SIDES, AlohaIK
    from failforward.sim.tasks import get_task

    ik = AlohaIK(get_task("transfer_cube").xml_path)  # every ALOHA task scene has the same arms
    left, right = (mujoco.mj_name2id(ik.model, mujoco.mjtObj.mjOBJ_SITE, f"{side}_tool") for side in SIDES)
    dofs = [np.array([ik.model.joint(f"vx300s_{s}/{j}").dofadr[0] for j in ARM_JOINTS]) for s in SIDES]
    return Kinematics(ik.model, ik.full_q, (left, right), (dofs[0], dofs[1]))


def aloha_tool_frames(arms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[T, 12]`` arm joints [rad] (left then right, no grippers) → tool points ``[T, 2, 3]`` [m] and tool frame
    rotations ``[T, 2, 3, 3]`` (left, right; world frame) by forward kinematics."""
    import mujoco

    k = aloha_kinematics()
    data = mujoco.MjData(k.model)  # per call: callers on different threads never share one
    points, rotations = np.empty((arms.shape[0], 2, 3)), np.empty((arms.shape[0], 2, 3, 3))
    sites = list(k.sites)
    for t, row in enumerate(arms):
        data.qpos[:] = k.full_q(row)
        mujoco.mj_kinematics(k.model, data)
        points[t], rotations[t] = data.site_xpos[sites], data.site_xmat[sites].reshape(2, 3, 3)
    return points, rotations


def aloha_tool_points(arms: np.ndarray) -> np.ndarray:
    """``[T, 12]`` arm joints [rad] (left then right, no grippers) → ``[T, 6]`` left then right tool points [m]."""
    return aloha_tool_frames(arms)[0].reshape(len(arms), 6)


def aloha_tool_offsets(states: np.ndarray) -> np.ndarray:
    """``[T, 14 + 7N]`` raw states → ``[T, 6 + 6N]``: the tool points, then each object's position minus each."""
    tools = aloha_tool_points(states[:, list(ALOHA_ARM_COLUMNS)])
    n = _objects(states.shape[1])
    positions = states[:, ALOHA_JOINTS:].reshape(len(states), n, OBJECT_NUMBERS)[:, :, :3]  # [T, N, 3]
    offsets = positions[:, :, None, :] - tools.reshape(-1, 1, 2, 3)  # [T, N, 2 tools, 3]
    return np.concatenate([tools, offsets.reshape(len(states), -1)], axis=1)


def aloha_joint_offsets(states: np.ndarray) -> np.ndarray:
    """``[T, 14 + 7N]`` raw states → ``[T, 12N]``: per object (state order), then per arm (left, right), the 6 joint
    motions [rad] toward the object's position (see the module docstring)."""
    import mujoco

    k = aloha_kinematics()
    data = mujoco.MjData(k.model)
    jacp = np.zeros((3, k.model.nv))
    n = _objects(states.shape[1])
    positions = states[:, ALOHA_JOINTS:].reshape(len(states), n, OBJECT_NUMBERS)[:, :, :3]  # [T, N, 3]
    out = np.empty((len(states), n, 2, 6))
    damping = JACOBIAN_DAMPING**2 * np.eye(3)
    for t, row in enumerate(states[:, list(ALOHA_ARM_COLUMNS)]):
        data.qpos[:] = k.full_q(row)
        mujoco.mj_kinematics(k.model, data)
        mujoco.mj_comPos(k.model, data)
        for side, (site, dofs) in enumerate(zip(k.sites, k.dofs, strict=True)):
            mujoco.mj_jacSite(k.model, data, jacp, None, site)
            jac = jacp[:, dofs]  # [3, 6]
            gain = jac.T @ np.linalg.inv(jac @ jac.T + damping)  # [6, 3]
            out[t, :, side] = (positions[t] - data.site_xpos[site]) @ gain.T
    return out.reshape(len(states), -1)


def rotate(quats: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Unit quaternions ``[T, 4]`` (w, x, y, z; normalized here) applied to one ``vector [3]`` → ``[T, 3]``."""
    q = quats / np.linalg.norm(quats, axis=1, keepdims=True)
    w, u = q[:, :1], q[:, 1:]
    twice = 2.0 * np.cross(u, vector)
    return vector + w * twice + np.cross(u, twice)


def plug_strip_socket_offsets(states: np.ndarray) -> np.ndarray:
    """``[T, 14 + 21]`` plug-strip states → ``[T, 18]``: per plug (``plug_a``, ``plug_b``), per socket (0, 1, 2),
    the prong tip minus the socket's mouth centre [m, world frame]; zeros for an absent plug (see the module
    docstring)."""
    from failforward.sim.plug_strip_layout import OBJECTS, PARKED, PLUGS, PRONG_TIP_Z, RIM_Z, SLOT_X

    poses = states[:, ALOHA_JOINTS:].reshape(len(states), len(OBJECTS), OBJECT_NUMBERS)
    strip, plugs = poses[:, OBJECTS.index("strip")], poses[:, [OBJECTS.index(p) for p in PLUGS]]  # [T, 7], [T, 2, 7]
    mouths = np.stack([strip[:, :3] + rotate(strip[:, 3:], np.array([x, 0.0, RIM_Z])) for x in SLOT_X], axis=1)
    tip = np.array([0.0, 0.0, PRONG_TIP_Z])
    tips = np.stack([p[:, :3] + rotate(p[:, 3:], tip) for p in plugs.transpose(1, 0, 2)], axis=1)  # [T, plugs, 3]
    present = plugs[:, :, 2] > PARKED[2] / 2  # [T, plugs]: above half-way to the parked height
    offsets = (tips[:, :, None, :] - mouths[:, None, :, :]) * present[:, :, None, None]
    return offsets.reshape(len(states), -1)


def _socket_offsets_size(state_dim: int) -> int:
    from failforward.sim.plug_strip_layout import PLUGS, SLOT_X

    return 3 * len(PLUGS) * len(SLOT_X)


def _plug_strip_state(state_dim: int, action_dim: int) -> bool:
    from failforward.sim.plug_strip_layout import OBJECTS

    return action_dim == ALOHA_JOINTS and state_dim == ALOHA_JOINTS + OBJECT_NUMBERS * len(OBJECTS)


FEATURES: dict[str, FeatureSpec] = {
    "aloha_tool_offsets": FeatureSpec(
        size=lambda s: 6 + 6 * _objects(s),
        compute=aloha_tool_offsets,
        valid=lambda s, a: a == ALOHA_JOINTS and s >= ALOHA_JOINTS and (s - ALOHA_JOINTS) % OBJECT_NUMBERS == 0,
        requires="the 14-joint ALOHA's actions and state, then 7 numbers per object",
    ),
    "aloha_joint_offsets": FeatureSpec(
        size=lambda s: 12 * _objects(s),
        compute=aloha_joint_offsets,
        valid=lambda s, a: a == ALOHA_JOINTS and s >= ALOHA_JOINTS and (s - ALOHA_JOINTS) % OBJECT_NUMBERS == 0,
        requires="the 14-joint ALOHA's actions and state, then 7 numbers per object",
    ),
    "plug_strip_socket_offsets": FeatureSpec(
        size=_socket_offsets_size,
        compute=plug_strip_socket_offsets,
        valid=_plug_strip_state,
        requires="the plug strip's state: the 14-joint ALOHA's joints, then the strip's, plug_a's and plug_b's poses",
    ),
}


def extra_size(features: tuple[str, ...], state_dim: int) -> int:
    """Numbers ``features`` add to a raw state of ``state_dim``."""
    return sum(FEATURES[name].size(state_dim) for name in features)


def model_state(states: np.ndarray, features: tuple[str, ...]) -> np.ndarray:
    """Raw states ``[S]`` or ``[T, S]`` → the model's state ``[..., S + extra]``: raw, then each feature in order."""
    if not features:
        return states
    states = np.asarray(states, dtype=np.float64)
    rows = states[None] if states.ndim == 1 else states
    if rows.ndim != 2:
        raise ShapeError(f"states must be [S] or [T, S], got {list(states.shape)}.")
    out = np.concatenate([rows, *(FEATURES[name].compute(rows) for name in features)], axis=1)
    return out[0] if states.ndim == 1 else out
