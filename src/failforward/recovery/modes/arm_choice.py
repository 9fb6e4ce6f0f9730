"""Which arm a diagnosis addresses."""

from __future__ import annotations

from failforward.recovery.errors import RecoveryError
from failforward.supervisor.diagnosis import Diagnosis


def addressed_arm(diagnosis: Diagnosis) -> str:
    """The one gripper the commands name (``"left"`` / ``"right"``).

    Raises:
        RecoveryError: no command names a gripper, or both are named (one correction moves one arm).
    """
    arms = diagnosis.active_grippers
    if len(arms) != 1:
        which = "no gripper" if not arms else "both grippers"
        raise RecoveryError(
            f"the commands name {which} ({diagnosis.command_text!r}); a correction moves exactly "
            "one arm: the supervisor must say 'the left gripper' or 'the right gripper'."
        )
    return next(iter(arms))
