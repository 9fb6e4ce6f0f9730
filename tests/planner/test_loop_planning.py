"""System 2 in the control loop: the current subgoal is the policy's prompt; the loop replans when a subgoal is
verified done (or, with ``end_of_edge="done_head"``, when System 1's done head says so), when the scene deviates, on a
failure diagnosis; it holds while the scene graph is unknown; every planning cycle is recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from planner_helpers import GRAPH, START, PreferRisky, risky_value

from failforward.config import BrokerConfig, LoopConfig, RecordConfig, SafetyConfig
from failforward.config.planner import VinePlannerConfig
from failforward.control.assembly import assemble_loop
from failforward.control.plan_step import PlanStep
from failforward.errors import ConfigError
from failforward.planner.errors import NodeUnavailableError
from failforward.planner.graph import SceneNode, Subgoal
from failforward.planner.search import VineSearch
from failforward.planner.task_graph import HELD
from failforward.policy.base import PolicyBackend
from failforward.record.reader import read_episode
from failforward.record.recorder import EpisodeRecorder
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.questions import QuestionType
from failforward.supervisor.scheduler import SupervisorReport
from failforward.testing import FakeRobot, FakeRobotConfig
from failforward.types import ActionChunk, Observation

CONFIG = VinePlannerConfig(decision_model=Path("-"), value_model=Path("-"), top_k=6, top_b=3)
ORDER = ["grasp plug_a", "insert plug_a socket_0", "grasp plug_b", "insert plug_b socket_1", "done"]  # the search's
SUBGOAL_TICKS = 10  # the scripted world completes a subgoal this many ticks after System 1 is prompted with it


class ScriptedWorld:
    """The scene as the abstraction sees it: a subgoal System 1 was prompted with comes true ``SUBGOAL_TICKS`` later;
    ``drop_at``: the held plug falls on that tick; ``hidden``: ticks on which the scene graph cannot be computed."""

    def __init__(self, drop_at: int | None = None, hidden: range = range(0)) -> None:
        self.scene, self.prompt, self.since, self.tick = START, "", 0, -1
        self.drop_at, self.hidden = drop_at, hidden
        self.completed = ""  # the last prompt whose subgoal came true

    def reset(self, seed: int) -> None:
        """One scripted scene whatever the seed."""

    def graph(self):
        return GRAPH

    def node(self, observation: Observation) -> SceneNode:
        self.tick += 1
        if self.tick in self.hidden:
            raise NodeUnavailableError("plug_a not found")
        self.since += 1
        if self.prompt and self.since >= SUBGOAL_TICKS:
            subgoal = Subgoal.parse(self.prompt)
            if subgoal in GRAPH.edges(self.scene) and subgoal.kind != "done":
                self.scene, self.since, self.completed = GRAPH.successor(self.scene, subgoal), 0, self.prompt
        if self.tick == self.drop_at:
            self.scene = self.scene.with_relations(r for r in self.scene.relations if r.kind != HELD)
        return self.scene


class PromptedPolicy(PolicyBackend):
    """System 1 stand-in: holds the joints; tells the world what it was asked to do."""

    def __init__(self, world: ScriptedWorld) -> None:
        self.world, self.prompts, self.calls = world, [], []

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        if prompt != self.world.prompt:
            self.world.prompt, self.world.since = prompt, 0
        if not self.prompts or self.prompts[-1] != prompt:
            self.prompts.append(prompt)
        self.calls.append(self.world.tick)
        return ActionChunk(np.tile(obs.joint_positions, (8, 1)))


class DoneHeadPolicy(PromptedPolicy):
    """System 1 stand-in with a done head: ``done`` is 1 once the prompted subgoal came true (``truthful``), or
    always ``always``."""

    def __init__(self, world: ScriptedWorld, always: float | None = None) -> None:
        super().__init__(world)
        self.always = always

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        chunk = super().infer(obs, prompt=prompt, noise=noise)
        done = self.always if self.always is not None else float(bool(prompt) and self.world.completed == prompt)
        return ActionChunk(chunk.actions, done=done)


def _search(graph):
    return VineSearch(graph, PreferRisky(), risky_value, CONFIG)


class OneAnswer:
    """A report source that hands the loop one failure diagnosis, on tick ``at``."""

    def __init__(self, at: int) -> None:
        self.at, self.tick = at, -1

    def on_episode_start(self, info) -> None: ...
    def on_episode_end(self, outcome) -> None: ...

    def on_tick(self, tick) -> None:
        self.tick = tick.step

    def poll(self) -> SupervisorReport | None:
        if self.tick != self.at:
            return None
        failed = Diagnosis(question=QuestionType.VISUAL_CORRECTION_COT, success=False)
        return SupervisorReport(failed, episode=0, step=self.at, queried_at=0.0, frame_times=(), latency_s=0.0)

    def wait(self, timeout_s: float) -> bool:
        return True


def _run(
    world: ScriptedWorld,
    tmp_path: Path | None = None,
    steps: int = 80,
    policy: PromptedPolicy | None = None,
    end_of_edge: str = "scene",
    reports: OneAnswer | None = None,
):
    policy = policy or PromptedPolicy(world)
    recorder = EpisodeRecorder(RecordConfig(output_dir=tmp_path), "plan") if tmp_path else None
    on_plan = recorder.record_plan if recorder else None
    step = PlanStep(world, _search, on_plan=on_plan, end_of_edge=end_of_edge)
    with FakeRobot(FakeRobotConfig(joint_names=("a", "b"), time_constant_s=0.0)) as robot:
        loop = assemble_loop(
            robot,
            policy,
            loop=LoopConfig(max_steps=steps, stop_on_success=False),
            safety=SafetyConfig(),
            broker=BrokerConfig(execute_steps=5),
            subscribers=[recorder] if recorder else [],
            planning=step,
            reports=reports,
        )
        result = loop.run_episode(0, seed=0)
    return result, policy, step, recorder


def test_the_plan_drives_the_prompt_subgoal_by_subgoal(tmp_path: Path) -> None:
    world = ScriptedWorld()
    result, policy, step, recorder = _run(world, tmp_path)
    assert policy.prompts == ORDER
    assert GRAPH.complete(world.scene) and result.error is None
    assert [c.reason for c in step.cycles] == ["start", *["subgoal_done"] * 4]
    assert result.planning["plans"] == 5 and result.planning["plans_subgoal_done"] == 4
    recorded = read_episode(recorder.files[0])
    assert [p["reason"] for _, p in recorded.plans] == ["start", *["subgoal_done"] * 4]
    assert recorded.plans[0][1]["subgoals"][0] == "grasp plug_a" and recorded.plans[0][1]["tree"]


def test_a_new_subgoal_is_inferred_at_once() -> None:
    world = ScriptedWorld()
    _, policy, step, _ = _run(world)
    replanned = [c.tick for c in step.cycles[1:]]
    assert all(t in policy.calls for t in replanned)  # the queue was flushed: no stale chunk for the old subgoal


def test_a_dropped_plug_is_a_deviation_and_the_plan_grasps_it_again() -> None:
    world = ScriptedWorld(drop_at=SUBGOAL_TICKS + 3)  # plug_a held, then dropped on the way to its socket
    _, policy, step, _ = _run(world)
    assert [c.reason for c in step.cycles][:3] == ["start", "subgoal_done", "deviation"]
    assert policy.prompts[:3] == ["grasp plug_a", "insert plug_a socket_0", "grasp plug_a"]


def test_the_loop_holds_while_the_scene_graph_is_unknown() -> None:
    hidden = range(20, 30)
    world = ScriptedWorld(hidden=hidden)
    result, policy, _, _ = _run(world)
    assert not any(t in hidden for t in policy.calls) and result.planning["lost_node_ticks"] == len(hidden)
    assert result.error is None and GRAPH.complete(world.scene)


def test_a_failure_diagnosis_replans_from_the_current_node() -> None:
    world = ScriptedWorld()
    step = PlanStep(world, _search)
    step.reset(0)
    obs = Observation(timestamp=0.0, joint_positions=np.zeros(2), joint_velocities=np.zeros(2))
    assert step.prompt_for(obs, None, 0) == "grasp plug_a"
    failed = Diagnosis(question=QuestionType.VISUAL_CORRECTION_COT, success=False)
    report = SupervisorReport(failed, episode=0, step=1, queried_at=0.02, frame_times=(), latency_s=0.0)
    step.prompt_for(obs, report, 1)
    assert [c.reason for c in step.cycles] == ["start", "diagnosis"]


def test_one_answer_is_one_diagnosis_replan_in_the_loop_without_recovery() -> None:
    world = ScriptedWorld()
    result, _, step, _ = _run(world, reports=OneAnswer(at=15))
    assert [c.reason for c in step.cycles].count("diagnosis") == 1  # not one per tick until the next answer
    assert result.planning["plans_diagnosis"] == 1 and GRAPH.complete(world.scene)


def test_a_done_head_ends_each_subgoal_when_asked_to() -> None:
    world = ScriptedWorld()
    result, policy, step, _ = _run(world, policy=DoneHeadPolicy(world), end_of_edge="done_head", steps=120)
    assert policy.prompts == ORDER
    assert [c.reason for c in step.cycles] == ["start", *["subgoal_done"] * 4]
    assert result.planning["done_signals"] >= 4 and GRAPH.complete(world.scene)
    scene_world = ScriptedWorld()
    _, _, scene_step, _ = _run(scene_world, steps=120)
    # the done head is read per chunk (every 5 ticks here): never before the scene shows the successor
    assert all(d.tick >= s.tick for d, s in zip(step.cycles, scene_step.cycles, strict=True))


def test_a_reached_subgoal_waits_for_the_done_head() -> None:
    world = ScriptedWorld()
    result, policy, step, _ = _run(world, policy=DoneHeadPolicy(world, always=0.0), end_of_edge="done_head")
    assert policy.prompts == ["grasp plug_a"] and [c.reason for c in step.cycles] == ["start"]  # no deviation either
    assert result.planning["done_signals"] == 0


def test_an_early_end_of_edge_replans_from_the_observed_node() -> None:
    world = ScriptedWorld()
    _, policy, step, _ = _run(world, policy=DoneHeadPolicy(world, always=0.9), end_of_edge="done_head", steps=12)
    reasons = [c.reason for c in step.cycles]
    assert reasons[0] == "start" and "end_of_edge" in reasons  # System 1 said done before the scene showed it
    assert step.cycles[reasons.index("end_of_edge")].node == START and policy.prompts[0] == "grasp plug_a"


def test_under_the_scene_rule_a_done_head_is_counted_not_obeyed() -> None:
    world = ScriptedWorld()
    result, policy, step, _ = _run(world, policy=DoneHeadPolicy(world, always=0.9))
    assert "end_of_edge" not in [c.reason for c in step.cycles] and result.planning["done_signals"] > 0
    assert policy.prompts[-1] == "done" and GRAPH.complete(world.scene)


def test_an_unknown_end_of_edge_rule_is_refused() -> None:
    with pytest.raises(ConfigError, match="end_of_edge"):
        PlanStep(ScriptedWorld(), _search, end_of_edge="gripper")
