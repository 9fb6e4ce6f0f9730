"""The plug-strip expert executing the subgoal it is prompted with: System 1's stand-in under VINE's planner.

:class:`PromptedPlugStripPlanner` keeps :class:`PlugStripPlanner`'s commitment (a subgoal runs to the end of its
moves, then is judged from the scene) but takes its subgoals from the prompt, one at a time, as the loop's planning
step hands them over (``grasp plug_a``, ``insert plug_a socket_1``, ``done``): a new prompt waits for the running
subgoal's moves to end (a later prompt replaces one still waiting: only the planner's latest subgoal runs); with
nothing waiting the arms hold. A prompt that names no subgoal of the episode's
strip raises :class:`ExpertError` (the loop ends the episode with that reason) instead of moving.

Registered as the ``subgoal_expert`` policy (``policy.kind``); needs privileged simulator state, as the expert does.

Example:
    >>> expert = ScriptedExpert(task, robot.privileged_state, planner=PromptedPlugStripPlanner())
    >>> expert.infer(obs, prompt="grasp plug_b")
"""

from __future__ import annotations

from typing import Any

from failforward.errors import ConfigError, ExpertError
from failforward.policy.expert.expert import ScriptedExpert
from failforward.policy.expert.facts import SceneFacts
from failforward.policy.expert.planner import Plan
from failforward.policy.expert.plug_strip import PlugStripPlanner
from failforward.policy.expert.waypoints import HOLD, ToolState, Waypoint
from failforward.policy.registry import PolicyContext, register_policy
from failforward.sim.plug_strip_layout import PlugStripLayout
from failforward.sim.plug_strip_subgoals import PlugStripSubgoal, parse_subgoal
from failforward.sim.tasks import get_task
from failforward.types import ActionChunk, ChunkPrefix, Observation

WAIT = Plan("wait", [Waypoint("hold|hold", HOLD, HOLD)])


class PromptedPlugStripPlanner(PlugStripPlanner):
    """Subgoals from :meth:`request` instead of an order (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(order=None)

    def reset(self) -> None:
        super().reset()
        self._waiting: str | None = None
        self._last_request = ""

    def abandon(self) -> None:
        """Drop the committed subgoal and any waiting prompt, keeping the episode's home poses and attempts: the next
        prompt is planned from the scene as it is (taking over mid-subgoal, or labelling another policy's state)."""
        self._committed = None
        self._waiting = None
        self._last_request = ""

    def adopt_home(self, other: PlugStripPlanner) -> None:
        """Use ``other``'s home poses (a second expert labelling counterfactual scenes of the same episode)."""
        self._home = other.home_poses

    def request(self, prompt: str) -> None:
        """``prompt`` (a subgoal's text) runs next if it differs from the last one requested."""
        if prompt and prompt != self._last_request:
            self._waiting = self._last_request = prompt

    def plan(self, facts: SceneFacts, commanded: dict[str, ToolState]) -> Plan:
        layout = facts.variant
        if not isinstance(layout, PlugStripLayout):
            raise ExpertError("The prompted plug-strip expert needs a plug_strip scene.")
        if not self._home:
            self._home = {s: commanded[s].tool for s in ("left", "right")}
        if self._committed is not None:
            if facts.time < self._committed.t_end:
                return self._committed.plan
            self._steps, self._k = [self._committed.attempt.subgoal], 0
            self._judge(facts, layout)
        if self._waiting is None:
            return WAIT
        prompt, self._waiting = self._waiting, None
        return self._commit(self._subgoal(prompt, layout), facts, commanded, layout)

    def _subgoal(self, prompt: str, layout: PlugStripLayout) -> PlugStripSubgoal:
        try:
            return parse_subgoal(prompt, layout)
        except ConfigError as exc:
            raise ExpertError(f"Cannot execute the prompt: {exc}") from exc


class PromptedExpert(ScriptedExpert):
    """The scripted expert whose planner takes the prompt (a :class:`PromptedPlugStripPlanner`)."""

    def take_over(self) -> None:
        """Forget the chunk in flight and the committed subgoal (not the episode's home poses): the next ``infer``
        plans its prompt from the measured joints and scene, as when taking over from another policy."""
        self._last = None
        self.trajectory = None
        self.phase = "none"
        if isinstance(self.planner, PromptedPlugStripPlanner):
            self.planner.abandon()

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: Any = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        if isinstance(self.planner, PromptedPlugStripPlanner):
            self.planner.request(prompt)
        return super().infer(obs, prompt=prompt, noise=noise, prefix=prefix)


@register_policy("subgoal_expert")
def build_subgoal_expert(config: Any, context: PolicyContext) -> PromptedExpert:
    """The prompted expert for ``context.task`` (plug_strip only)."""
    if context.privileged_state is None or context.task != "plug_strip":
        raise ExpertError(
            "policy.kind='subgoal_expert' is the plug-strip expert following subgoal prompts: run it on the sim_aloha "
            f"robot with task='plug_strip' (got task {context.task!r})."
        )
    return PromptedExpert(get_task(context.task), context.privileged_state, planner=PromptedPlugStripPlanner())
