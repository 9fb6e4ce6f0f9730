"""Hold mode: keep every joint where it was last commanded until the supervisor reports the failure cleared.

Chosen for 'human intervention', a "Hold still" command or a lock symbol. It holds the last command sent
(not the measured position, which would let the arms sag a little with every re-command).
"""

from __future__ import annotations

from failforward.config.recovery import CorrectiveModeName, RecoveryConfig
from failforward.recovery.context import PlanContext
from failforward.recovery.correction import HoldCorrection, PlanResult
from failforward.recovery.modes.base import CorrectiveMode, ModeResources, register_mode
from failforward.supervisor.diagnosis import Diagnosis


class HoldMode(CorrectiveMode):
    """Always accepts: ``HoldCorrection(context.hold_positions)``."""

    name = CorrectiveModeName.HOLD

    def _plan(self, diagnosis: Diagnosis, context: PlanContext) -> PlanResult:
        reason = diagnosis.failure_type or diagnosis.command_text or "hold requested"
        return HoldCorrection(self.name, context.hold_positions.copy(), f"hold still: {reason}")


@register_mode(CorrectiveModeName.HOLD)
def build_hold(config: RecoveryConfig, resources: ModeResources) -> HoldMode:
    return HoldMode()
