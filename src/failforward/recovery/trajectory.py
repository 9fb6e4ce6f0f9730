"""Smooth joint trajectories: min-jerk segments through joint waypoints, within per-joint speed limits.

A segment from ``q0`` to ``q1`` over ``T`` [s] follows ``q(t) = q0 + (q1 − q0) s(t/T)`` with
``s(τ) = 10τ³ − 15τ⁴ + 6τ⁵``, whose peak speed is ``1.875 |q1 − q0| / T``; ``T`` is the shortest whole
number of ticks that keeps every joint at or below its limit. Rows are sampled at ``t = dt, 2dt, …, T``
(the first row is one tick after the start; the last is the waypoint itself).
"""

from __future__ import annotations

import numpy as np

from failforward.errors import ShapeError
from failforward.types import RobotFeatures

MIN_JERK_PEAK = 1.875  # peak of ds/dτ for the min-jerk profile


def min_jerk_segment(start: np.ndarray, goal: np.ndarray, max_speed: np.ndarray, dt: float) -> np.ndarray:
    """Rows ``[T, A]`` from ``start [A]`` (exclusive) to ``goal [A]`` (inclusive); at least one row.

    Args:
        max_speed: ``[A]`` per-joint speed limit in units per second (> 0).
        dt: [s] control period.
    """
    start, goal = np.asarray(start, dtype=np.float64), np.asarray(goal, dtype=np.float64)
    max_speed = np.broadcast_to(np.asarray(max_speed, dtype=np.float64), start.shape)
    if start.shape != goal.shape or start.ndim != 1:
        raise ShapeError(f"min_jerk_segment needs start and goal of one shape [A], got {start.shape}, {goal.shape}.")
    if np.any(max_speed <= 0) or dt <= 0:
        raise ShapeError("min_jerk_segment needs positive speed limits and a positive dt.")
    duration = float(np.max(MIN_JERK_PEAK * np.abs(goal - start) / max_speed))
    ticks = max(1, int(np.ceil(duration / dt - 1e-9)))
    tau = np.arange(1, ticks + 1) / ticks
    s = 10 * tau**3 - 15 * tau**4 + 6 * tau**5
    return start + s[:, None] * (goal - start)


def through_waypoints(
    start: np.ndarray, waypoints: list[np.ndarray], max_speed: np.ndarray, dt: float, settle_ticks: int = 0
) -> np.ndarray:
    """Min-jerk segments ``start → waypoints[0] → …``, then ``settle_ticks`` copies of the last one: ``[T, A]``."""
    rows: list[np.ndarray] = []
    current = np.asarray(start, dtype=np.float64)
    for waypoint in waypoints:
        segment = min_jerk_segment(current, waypoint, max_speed, dt)
        rows.append(segment)
        current = segment[-1]
    rows.append(np.tile(current, (settle_ticks, 1)))
    return np.concatenate(rows, axis=0)


def speed_limits(features: RobotFeatures, joint_speed: float, gripper_speed: float) -> np.ndarray:
    """``[A]`` speed limits: ``joint_speed`` [rad/s] for ``rad`` joints, ``gripper_speed`` [1/s] for normalized
    ones, never above the driver's own ``max_velocity``."""
    wanted = np.array([joint_speed if j.unit == "rad" else gripper_speed for j in features.joints])
    return np.minimum(wanted, features.max_velocity)
