"""Orientation error of a symmetric object: the smallest rotation between two poses that look the same.

A box whose half-extents are equal along some axes looks the same after the rotations that permute those axes: the
cube has 24 such rotations, a square bar (the peg; the socket's square tube) 8, a box of three different sides 4.
A pose estimate that differs from the truth by one of them is right: :func:`symmetric_angle_deg` takes the minimum
over the object's symmetry group. Quaternions are (w, x, y, z).

Example:
    >>> quarter_turn_about_y = np.array([np.cos(np.pi / 4), 0.0, np.sin(np.pi / 4), 0.0])
    >>> symmetric_angle_deg(np.array([1.0, 0, 0, 0]), quarter_turn_about_y, (0.02, 0.02, 0.02))   # a cube
    0.0
"""

from __future__ import annotations

import itertools

import numpy as np


def rotation_matrix(quaternion: np.ndarray) -> np.ndarray:
    """``[3, 3]`` rotation of a unit quaternion ``[4]`` (w, x, y, z)."""
    w, x, y, z = np.asarray(quaternion, dtype=np.float64) / np.linalg.norm(quaternion)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def box_symmetries(half_extents: tuple[float, float, float], tolerance_m: float = 1e-4) -> list[np.ndarray]:
    """The rotations ``[3, 3]`` (signed axis permutations, determinant +1) that map a box of ``half_extents`` [m]
    onto itself."""
    extents = np.asarray(half_extents, dtype=np.float64)
    found = []
    for order in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            matrix = np.zeros((3, 3))
            matrix[range(3), order] = signs
            if np.linalg.det(matrix) > 0 and np.allclose(extents[list(order)], extents, atol=tolerance_m):
                found.append(matrix)
    return found


def rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle [deg] of the rotation between unit quaternions ``a`` and ``b`` ``[4]`` (``q`` and ``−q`` are equal)."""
    dot = abs(float(np.dot(a, b)) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return float(np.degrees(2.0 * np.arccos(min(1.0, dot))))


def symmetric_angle_deg(estimate: np.ndarray, truth: np.ndarray, half_extents: tuple[float, float, float]) -> float:
    """Smallest angle [deg] between ``estimate`` and ``truth`` (quaternions ``[4]``) over the box's symmetries."""
    relative = rotation_matrix(truth).T @ rotation_matrix(estimate)
    cosines = [(np.trace(relative @ s.T) - 1.0) / 2.0 for s in box_symmetries(half_extents)]
    return float(np.degrees(np.arccos(np.clip(max(cosines), -1.0, 1.0))))
