"""The safety layer every joint command passes before it reaches a driver.

Checks, in order, on a target ``q* [A]`` (driver units, see ``failforward.types``):
0. a latched e-stop refuses every command (``SafetyError``) until ``EStop.reset()``;
1. shape ``[A]`` (a wrong shape is a bug: ``ShapeError``);
2. deadman: if a watchdog is given and has expired (no fresh command for ``timeout_s``), hold;
3. finiteness: a NaN/Inf target is replaced by the last safe command (a hold);
4. joint limits shrunk by a margin: ``[lo + m·(hi − lo), hi − m·(hi − lo)]``;
5. per-tick change: ``|q_k − q_{k−1}| ≤ s · v_max / f`` with ``s`` the velocity scale and
   ``f`` the control rate [Hz];
6. Cartesian workspace box (if a forward-kinematics function is given): the command is moved back
   along the segment from the last safe command until no FK point ``[P, 3]`` (robot base frame, [m])
   is further outside the box than it already was; starting inside, the points stay inside.

Every returned command lies on the segment between the last safe command and the limit- and
rate-clamped target, so steps 4–5 hold for it too. The result says what was done, so the loop can
count and log interventions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from failforward.config import SafetyConfig
from failforward.control.estop import EStop
from failforward.control.watchdog import DeadmanWatchdog
from failforward.errors import SafetyError, ShapeError
from failforward.types import RobotFeatures

logger = logging.getLogger(__name__)

ForwardKinematics = Callable[[np.ndarray], np.ndarray]
"""``q [A]`` → points ``[P, 3]`` [m] in the robot base frame (e.g. each end effector)."""


@dataclass(frozen=True)
class SafetyResult:
    """A safe command ``[A]`` and what was done to get it.

    Attributes:
        command: the target that may be sent.
        held: True if the last safe command was kept (non-finite target or expired watchdog).
        limited: mask ``[A]`` of joints clamped to the (margin-shrunk) limits.
        rate_limited: mask ``[A]`` of joints whose per-tick change was clamped.
        workspace_limited: True if the command was shortened to stay in the Cartesian box.
        reason: why it was held (``"non-finite"``, ``"watchdog"``), empty otherwise.
    """

    command: np.ndarray
    held: bool
    limited: np.ndarray
    rate_limited: np.ndarray
    workspace_limited: bool = False
    reason: str = ""

    @property
    def modified(self) -> bool:
        return self.held or bool(self.limited.any()) or bool(self.rate_limited.any()) or self.workspace_limited


@dataclass(frozen=True)
class WorkspaceBox:
    """Axis-aligned box ``[lower, upper]`` [m] in the robot base frame, checked on FK points."""

    lower: np.ndarray
    upper: np.ndarray
    forward_kinematics: ForwardKinematics

    def violation(self, q: np.ndarray) -> float:
        """How far [m] the furthest FK point of ``q`` lies outside the box (0 when all are inside)."""
        points = np.atleast_2d(np.asarray(self.forward_kinematics(q), dtype=np.float64))
        outside = np.maximum(self.lower - points, points - self.upper)
        return float(max(np.max(outside), 0.0)) if np.all(np.isfinite(points)) else np.inf


class SafetyLayer:
    """Clamps joint targets to safe limits, rates and workspace; holds on bad input or a silent source.

    Args:
        features: the driver's joints (limits, max velocities).
        config: margins, velocity scale, workspace box.
        rate_hz: control rate [Hz] the per-tick change is computed for.
        forward_kinematics: enables the workspace box of ``config`` (required if the box is set).
        watchdog: deadman; when given and expired, commands are held.
        estop: latched stop; when latched, ``clamp`` raises ``SafetyError``.
    """

    def __init__(
        self,
        features: RobotFeatures,
        config: SafetyConfig,
        rate_hz: float,
        *,
        forward_kinematics: ForwardKinematics | None = None,
        watchdog: DeadmanWatchdog | None = None,
        estop: EStop | None = None,
    ) -> None:
        span = features.upper - features.lower
        self.lower = features.lower + config.joint_margin * span
        self.upper = features.upper - config.joint_margin * span
        self.max_step = config.velocity_scale * features.max_velocity / rate_hz
        self.workspace = self._workspace(config, forward_kinematics)
        self.watchdog, self.estop = watchdog, estop
        self._last: np.ndarray | None = None

    @staticmethod
    def _workspace(config: SafetyConfig, fk: ForwardKinematics | None) -> WorkspaceBox | None:
        if config.workspace_lower_m is None or config.workspace_upper_m is None:
            return None
        if fk is None:
            raise SafetyError(
                "safety.workspace_lower_m/upper_m are set but no forward_kinematics was given to "
                "SafetyLayer: pass the robot's FK or unset the workspace box."
            )
        return WorkspaceBox(np.array(config.workspace_lower_m), np.array(config.workspace_upper_m), fk)

    @property
    def last_command(self) -> np.ndarray | None:
        """The last command this layer let through, ``[A]`` (None before ``reset``)."""
        return None if self._last is None else self._last.copy()

    def reset(self, measured: np.ndarray) -> None:
        """Start from the measured joint positions ``[A]`` (they seed the rate limit and the hold)."""
        measured = np.asarray(measured, dtype=np.float64)
        if measured.shape != self.lower.shape or not np.all(np.isfinite(measured)):
            raise SafetyError(
                f"Cannot start the safety layer from measured positions {measured!r}: "
                f"need {self.lower.shape[0]} finite values; check the driver's joint state."
            )
        self._last = np.clip(measured, self.lower, self.upper)
        if self.watchdog is not None:
            self.watchdog.reset()

    def clamp(self, target: np.ndarray) -> SafetyResult:
        """Return the safe command for ``target [A]``; never returns a non-finite or out-of-range value."""
        if self.estop is not None and self.estop.is_latched:
            raise SafetyError(
                f"E-stop latched ({self.estop.reason}): no command is sent. Check the cell, "
                "then reset the e-stop explicitly."
            )
        if self._last is None:
            raise SafetyError("SafetyLayer.clamp called before reset(measured_positions).")
        target = np.asarray(target, dtype=np.float64)
        if target.shape != self.lower.shape:
            raise ShapeError(f"Safety layer expects a target of shape {self.lower.shape}, got {target.shape}.")
        if self.watchdog is not None and self.watchdog.expired:
            logger.warning("No fresh command for %.3f s: holding the last safe command.", self.watchdog.age())
            return self._hold("watchdog")
        if not np.all(np.isfinite(target)):
            logger.warning("Non-finite joint target %s: holding the last safe command.", target)
            return self._hold("non-finite")
        limited_target = np.clip(target, self.lower, self.upper)
        step = np.clip(limited_target - self._last, -self.max_step, self.max_step)
        command = np.clip(self._last + step, self.lower, self.upper)
        command, shortened = self._keep_in_workspace(command)
        result = SafetyResult(
            command=command,
            held=False,
            limited=limited_target != target,
            rate_limited=np.abs(limited_target - self._last) > self.max_step,
            workspace_limited=shortened,
        )
        self._last = command
        return result

    def _hold(self, reason: str) -> SafetyResult:
        no_change = np.zeros(self.lower.shape, dtype=bool)
        return SafetyResult(self._reference().copy(), True, no_change, no_change, reason=reason)

    def _reference(self) -> np.ndarray:
        """The last safe command ``[A]``; ``SafetyError`` before :meth:`reset`."""
        if self._last is None:
            raise SafetyError("SafetyLayer.clamp called before reset(measured_positions).")
        return self._last

    def _keep_in_workspace(self, command: np.ndarray, iterations: int = 12) -> tuple[np.ndarray, bool]:
        """Largest step toward ``command`` whose FK violation does not exceed the last command's (bisection)."""
        if self.workspace is None:
            return command, False
        last = self._reference()
        allowed = self.workspace.violation(last) + 1e-12
        if self.workspace.violation(command) <= allowed:
            return command, False
        ok, bad = 0.0, 1.0
        for _ in range(iterations):
            mid = 0.5 * (ok + bad)
            if self.workspace.violation(last + mid * (command - last)) <= allowed:
                ok = mid
            else:
                bad = mid
        return last + ok * (command - last), True
