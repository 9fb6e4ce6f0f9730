"""Recovery in the node graph: supervisor diagnoses reach policy_node, which runs the recovery controller on the
bridge's depth and publishes its transitions; the recorders write them. Bad input is reported, never fatal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from failforward_ros.qos import LATCHED  # noqa: E402
from lifecycle_msgs.msg import Transition  # noqa: E402
from ros_graph import ROOT, NodeProcess, wait_for  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from test_node_graph import call, transition  # noqa: E402

from failforward.record.reader import read_episode  # noqa: E402

PARAMS = ROOT / "launch" / "params" / "sim_transfer_cube.yaml"  # expert, sim oracle, recovery (pmc) enabled
SMALL = {
    "robot.image_height": "120",
    "robot.image_width": "160",
    "episodes": "1",
    "supervisor.schedule.every_chunks": "1",
}
ACTIVATION_ORDER = ("robot_bridge", "recorder_node", "supervisor_node", "policy_node")


class Graph:
    """Node processes of one test, a probe node, and what the probe heard."""

    def __init__(self, ros_env: dict[str, str], log_dir: Path, overrides: dict[str, dict[str, str]]) -> None:
        self.log_dir = log_dir
        self.processes = {
            name: NodeProcess(
                name, PARAMS, {**SMALL, "record.output_dir": str(log_dir / "runs"), **extra}, ros_env, log_dir
            )
            for name, extra in overrides.items()
        }
        self.node = rclpy.create_node("recovery_graph_test")
        self.events: list[dict] = []
        self.outcomes: list[dict] = []
        self.status: list[DiagnosticStatus] = []
        self.stamps: list[float] = []
        self.node.create_subscription(String, "recovery/event", lambda m: self.events.append(json.loads(m.data)), 50)
        self.node.create_subscription(String, "episode/outcome", lambda m: self.outcomes.append(json.loads(m.data)), 10)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", lambda m: self.status.extend(m.status), 50)
        self.node.create_subscription(JointState, "joint_states", self._on_state, 10)
        self.episodes: list[str] = []
        self.node.create_subscription(String, "episode/start", lambda m: self.episodes.append(m.data), LATCHED)

    def _on_state(self, msg: JointState) -> None:
        self.stamps.append(msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)

    def start(self) -> None:
        for name, process in self.processes.items():
            assert transition(self.node, name, Transition.TRANSITION_CONFIGURE), process.output()[-3000:]
        for name in (n for n in ACTIVATION_ORDER if n in self.processes):
            assert transition(self.node, name, Transition.TRANSITION_ACTIVATE), self.processes[name].output()[-3000:]

    def wait(self, predicate, timeout: float, what: str) -> None:
        assert wait_for(predicate, timeout, self.node), (
            f"{what}; policy_node log:\n" + self.processes["policy_node"].output()[-4000:]
        )

    def close(self) -> dict[str, int]:
        self.node.destroy_node()
        return {name: process.stop() for name, process in self.processes.items()}

    def mcap(self, pattern: str) -> Path:
        files = sorted((self.log_dir / "runs").rglob(pattern))
        assert files, f"no {pattern} under {self.log_dir / 'runs'}"
        return files[0]


@pytest.fixture
def graph(ros_env, tmp_path):
    made: list[Graph] = []

    def make(overrides: dict[str, dict[str, str]]) -> Graph:
        made.append(Graph(ros_env, tmp_path, overrides))
        return made[-1]

    yield make
    for g in made:
        codes = g.close()
        assert set(codes.values()) == {0}, {n: p.output()[-2000:] for n, p in g.processes.items()}


@pytest.mark.slow  # ~23 s; the diagnosis → PMC test below drives the same graph through recovery
def test_the_expert_preset_runs_with_recovery_in_the_graph(graph) -> None:
    """sim_transfer_cube as shipped (expert, oracle, PMC recovery): answers reach policy_node's loop, the
    machine's transitions are published and both recorders write them."""
    g = graph({name: {} for name in ACTIVATION_ORDER})
    g.start()
    g.wait(lambda: g.outcomes, 55, "the episode never ended")
    assert g.outcomes[0]["success"], g.outcomes
    assert g.events and g.events[0]["kind"] == "reset" and g.events[0]["target"] == "nominal"
    assert all(e["kind"] != "refused" for e in g.events), g.events
    in_process = read_episode(g.mcap("ros-2*/episode_0000_seed0.mcap"))  # the policy node's own recording
    assert in_process.diagnoses, "no supervisor answer reached policy_node's loop"
    assert [e["kind"] for _, e in in_process.recovery_events] == [e["kind"] for e in g.events]
    g.wait(
        lambda: "episode recorded" in g.processes["recorder_node"].output(),
        10,
        "recorder_node did not close the episode",
    )
    graph_recording = read_episode(g.mcap("ros-record-*/episode_0000.mcap"), load_images=False)
    assert [e["kind"] for _, e in graph_recording.recovery_events] == [e["kind"] for e in g.events]


def test_a_failure_diagnosis_becomes_a_pmc_correction_in_the_graph(graph) -> None:
    """The hold policy never grasps; the oracle (stall after 1 s) diagnoses it; PMC plans on the bridge's depth,
    captured on request, and the correction runs through the bridge."""
    failing = {"policy.kind": "hold", "supervisor.backend.stall_s": "1.0", "loop.max_steps": "250"}
    g = graph({name: failing for name in ACTIVATION_ORDER})
    g.start()
    g.wait(lambda: any(e["kind"] == "planned" for e in g.events) or g.outcomes, 55, "no correction was planned")
    kinds = [e["kind"] for e in g.events]
    assert "diagnosed" in kinds and "planned" in kinds, g.events
    planned = next(e for e in g.events if e["kind"] == "planned")
    assert planned["mode"] == "pmc" and planned["target"] == "correcting", planned
    g.wait(lambda: g.outcomes, 55, "the episode never ended")
    assert "completed" in [e["kind"] for e in g.events], g.events  # the trajectory ran to its end
    sent = read_episode(g.mcap("ros-2*/episode_0000_seed0.mcap"), load_images=False).sent_actions
    assert np.ptp(sent[:, 7:13], axis=0).max() > 0.05  # [rad] the right arm moved; the hold policy never does
    g.wait(lambda: "episode recorded" in g.processes["recorder_node"].output(), 10, "recorder_node did not finish")
    recording = read_episode(g.mcap("ros-record-*/episode_0000.mcap"), load_images=False)
    assert [e["kind"] for _, e in recording.recovery_events] == [e["kind"] for e in g.events]


def test_malformed_answers_and_missing_depth_are_reported_and_the_robot_keeps_nominal(graph) -> None:
    """A bridge that serves no depth (recovery disabled there) and hand-written answers: malformed JSON is
    logged and ignored; a valid PMC diagnosis is refused for lack of depth and the machine returns to NOMINAL."""
    from failforward_ros import convert

    from failforward.supervisor.commands import parse_commands
    from failforward.supervisor.diagnosis import Diagnosis
    from failforward.supervisor.scheduler import SupervisorReport
    from failforward.symbols.types import Crosshair

    policy = {
        "policy.kind": "hold",
        "loop.max_steps": "20000",
        "require_recorder": "false",
    }  # no supervisor_node or recorder_node: the test answers
    g = graph({"robot_bridge": {"recovery.enabled": "false"}, "policy_node": policy})
    g.start()
    g.wait(lambda: len(g.stamps) > 5 and g.events and len(g.episodes) >= 2, 20, "the loop never started")
    answers = g.node.create_publisher(String, "supervisor/diagnosis", 10)
    for bad in ("{not json", json.dumps({"result": {"kind": "diagnosis"}}), json.dumps({"episode": 0})):
        answers.publish(String(data=bad))
    text = "Move the right gripper downward significantly."
    failure = Diagnosis(
        question="visual_correction_cot",
        success=False,
        failure_type="gripper 6d-pose",
        command_text=text,
        commands=parse_commands(text),
        symbols=(Crosshair(position=(80.0, 60.0)),),
        symbol_frame=0,
    )
    now, episode = g.stamps[-1], convert.episode_start_from_msg(g.episodes[-1]).episode_id
    stale = SupervisorReport(failure, 0, 0, now, (now,), 0.0, "an-earlier-episode")
    answers.publish(String(data=convert.report_json(stale)))  # dropped: another episode's answer
    answers.publish(String(data=convert.report_json(SupervisorReport(failure, 1, 0, now, (now,), 0.0, episode))))
    g.wait(lambda: any(e["kind"] == "refused" for e in g.events), 20, "the PMC diagnosis was not handled")
    refused = next(e for e in g.events if e["kind"] == "refused")
    assert refused["target"] == "nominal" and "depth" in refused["reason"], refused
    warnings = [
        s.message for s in g.status if s.name == "policy_node/control_loop" and s.level >= DiagnosticStatus.WARN
    ]
    assert sum("ignored a supervisor answer" in m for m in warnings) == 3, warnings
    log = g.processes["policy_node"].output()
    assert "capture_depth" in log and "captures no depth on request" in log  # the bridge's reason is logged
    assert "judged episode an-earlier-episode" in log  # the other episode's answer was dropped, not applied
    assert call(g.node, Trigger, "/policy_node/stop", Trigger.Request()).success
    g.wait(lambda: g.outcomes, 10, "the stopped episode did not end")
    assert g.outcomes[0]["reason"] == "aborted: stopped on request", g.outcomes
    assert all(p.alive() for p in g.processes.values())
