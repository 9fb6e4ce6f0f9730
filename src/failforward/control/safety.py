"""The safety layer every joint command passes before it reaches a driver.

Checks, in order, on a target ``q* [A]`` (driver units, see ``failforward.types``):
1. shape ``[A]`` (a wrong shape is a bug: ``ShapeError``);
2. finiteness: a NaN/Inf target is replaced by the last safe command (a hold);
3. joint limits shrunk by a margin: ``[lo + m·(hi − lo), hi − m·(hi − lo)]``;
4. per-tick change: ``|q_k − q_{k−1}| ≤ s · v_max / f`` with ``s`` the velocity scale and
   ``f`` the control rate [Hz].

The result says what was clamped, so the loop can count and log violations.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from failforward.config import SafetyConfig
from failforward.errors import SafetyError, ShapeError
from failforward.types import RobotFeatures

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SafetyResult:
    """A safe command ``[A]`` and what was done to get it.

    Attributes:
        command: the target that may be sent.
        held: True if the target was non-finite and the last safe command was kept.
        limited: mask ``[A]`` of joints clamped to the (margin-shrunk) limits.
        rate_limited: mask ``[A]`` of joints whose per-tick change was clamped.
    """

    command: np.ndarray
    held: bool
    limited: np.ndarray
    rate_limited: np.ndarray

    @property
    def modified(self) -> bool:
        return self.held or bool(self.limited.any()) or bool(self.rate_limited.any())


class SafetyLayer:
    """Clamps joint targets to safe limits and rates; keeps the last safe command to hold on bad input."""

    def __init__(self, features: RobotFeatures, config: SafetyConfig, rate_hz: float) -> None:
        span = features.upper - features.lower
        self.lower = features.lower + config.joint_margin * span
        self.upper = features.upper - config.joint_margin * span
        self.max_step = config.velocity_scale * features.max_velocity / rate_hz
        self._last: np.ndarray | None = None

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

    def clamp(self, target: np.ndarray) -> SafetyResult:
        """Return the safe command for ``target [A]``; never returns a non-finite or out-of-range value."""
        if self._last is None:
            raise SafetyError("SafetyLayer.clamp called before reset(measured_positions).")
        target = np.asarray(target, dtype=np.float64)
        if target.shape != self.lower.shape:
            raise ShapeError(f"Safety layer expects a target of shape {self.lower.shape}, got {target.shape}.")
        no_change = np.zeros(target.shape, dtype=bool)
        if not np.all(np.isfinite(target)):
            logger.warning("Non-finite joint target %s: holding the last safe command.", target)
            return SafetyResult(self._last.copy(), True, no_change, no_change)
        limited_target = np.clip(target, self.lower, self.upper)
        step = np.clip(limited_target - self._last, -self.max_step, self.max_step)
        command = np.clip(self._last + step, self.lower, self.upper)
        result = SafetyResult(
            command=command,
            held=False,
            limited=limited_target != target,
            rate_limited=np.abs(limited_target - self._last) > self.max_step,
        )
        self._last = command
        return result
