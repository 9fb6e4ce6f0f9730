"""Pose helpers for the scripted expert: grasp orientations, symmetric choices, interpolation.

All poses are ``mink.SE3`` in the world (table) frame, metres and radians. Tool frames follow
:mod:`failforward.kinematics.aloha_ik`: x = approach, y = finger closing axis, z = across the pads.
"""

from __future__ import annotations

import numpy as np
from mink import SE3, SO3

DOWN = np.array([0.0, 0.0, -1.0])
FLIP_ABOUT_APPROACH = SO3.from_x_radians(np.pi)  # the gripper is symmetric under this rotation


def frame(approach: np.ndarray, finger: np.ndarray) -> SO3:
    """Rotation whose x axis is ``approach`` and y axis is ``finger`` (re-orthogonalized), ``z = x × y``."""
    x = approach / np.linalg.norm(approach)
    y = finger - np.dot(finger, x) * x
    y /= np.linalg.norm(y)
    return SO3.from_matrix(np.stack([x, y, np.cross(x, y)], axis=1))


def pose(rotation: SO3, position: np.ndarray) -> SE3:
    """``SE3`` from a rotation and a position ``[3]`` [m]."""
    return SE3.from_rotation_and_translation(rotation, np.asarray(position, dtype=np.float64))


def object_pose(qpos7: np.ndarray) -> SE3:
    """Free-joint ``qpos [7]`` (xyz [m], quat wxyz) → ``SE3``."""
    q = np.asarray(qpos7, dtype=np.float64)
    return SE3(wxyz_xyz=np.concatenate([q[3:7] / np.linalg.norm(q[3:7]), q[:3]]))


def angle_between(a: SO3, b: SO3) -> float:
    """Geodesic distance between two rotations [rad]."""
    return float(np.linalg.norm((a.inverse() @ b).log()))


def closest_flip(rotation: SO3, reference: SO3) -> SO3:
    """``rotation`` or ``rotation`` turned 180° about its approach axis, whichever is nearer ``reference``."""
    flipped = rotation @ FLIP_ABOUT_APPROACH
    return flipped if angle_between(flipped, reference) < angle_between(rotation, reference) else rotation


def horizontal_axes(rotation: SO3) -> tuple[np.ndarray, np.ndarray]:
    """The two object axes closest to horizontal, projected on the table plane and normalized.

    For a box lying on any face, these are the edges of its top face. Returns ``(a, b)`` with
    ``a`` the object axis (x, y or z of ``rotation``) that is most horizontal.
    """
    axes = rotation.as_matrix().T  # rows: object x, y, z in world
    order = np.argsort(np.abs(axes[:, 2]))
    flat = [axes[i] * np.array([1.0, 1.0, 0.0]) for i in order[:2]]
    return flat[0] / np.linalg.norm(flat[0]), flat[1] / np.linalg.norm(flat[1])


def top_grasp(position: np.ndarray, finger_axis: np.ndarray, reference: SO3) -> SE3:
    """Tool pose pointing straight down with fingers closing along ``finger_axis`` (horizontal).

    Of the two equivalent grasps (fingers swapped), the one closest to ``reference`` is returned.
    """
    return pose(closest_flip(frame(DOWN, finger_axis), reference), position)


def lerp_pose(a: SE3, b: SE3, s: float) -> SE3:
    """Straight-line position and geodesic rotation interpolation; ``s`` in [0, 1]."""
    s = float(np.clip(s, 0.0, 1.0))
    position = (1.0 - s) * a.translation() + s * b.translation()
    rotation = a.rotation() @ SO3.exp(s * (a.rotation().inverse() @ b.rotation()).log())
    return pose(rotation, position)


def min_jerk(tau: float) -> float:
    """Minimum-jerk time scaling ``s(τ) = 10τ³ − 15τ⁴ + 6τ⁵`` on ``τ`` in [0, 1] (peak slope 1.875)."""
    t = float(np.clip(tau, 0.0, 1.0))
    return t * t * t * (10.0 + t * (-15.0 + 6.0 * t))
