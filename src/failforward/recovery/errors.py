"""Errors of the recovery package. Modes turn them into typed refusals; none reaches the control loop."""

from __future__ import annotations

from failforward.errors import FailforwardError


class RecoveryError(FailforwardError):
    """A correction could not be planned (bad symbol, no depth, unreachable target)."""


class GraspNotFoundError(RecoveryError):
    """No grasp could be estimated at the requested pixel (nothing above the support, object too wide…)."""


class UnreachableError(RecoveryError):
    """IK could not bring the tool within tolerance of its target."""


class OccludedError(RecoveryError):
    """The symbol's pixel shows the robot itself, not the scene behind it (clear the view and look again)."""
