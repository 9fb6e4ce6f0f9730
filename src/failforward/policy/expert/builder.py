"""Registers the scripted expert as policy ``"expert"`` (needs privileged simulator state)."""

from __future__ import annotations

from typing import Any

from failforward.errors import ExpertError
from failforward.policy.expert.expert import ScriptedExpert
from failforward.policy.registry import PolicyContext, register_policy
from failforward.sim.tasks import get_task


@register_policy("expert")
def build_expert(config: Any, context: PolicyContext) -> ScriptedExpert:
    """Build the expert for ``context.task``; raises if the robot offers no privileged state."""
    if context.privileged_state is None:
        raise ExpertError(
            "The scripted expert needs privileged simulator state: run it on the sim_aloha robot, "
            "which provides PolicyContext.privileged_state."
        )
    return ScriptedExpert(get_task(context.task), context.privileged_state)
