"""supervisor_node's /diagnostics are honest (issue 14, item 9): only a readable answer is OK, and a supervisor that
cannot see its head camera is refused at configure with the reason."""

from __future__ import annotations

import pytest

rclpy = pytest.importorskip("rclpy")
from failforward_ros.supervisor_core import answer_status  # noqa: E402
from lifecycle_msgs.msg import Transition  # noqa: E402
from ros_graph import ROOT, NodeProcess  # noqa: E402
from test_node_graph import transition  # noqa: E402

from failforward.supervisor.diagnosis import Diagnosis, NoDiagnosis, Unreadable  # noqa: E402
from failforward.supervisor.scheduler import SupervisorReport  # noqa: E402


def _report(result) -> SupervisorReport:
    return SupervisorReport(result, episode=0, step=10, queried_at=0.2, frame_times=(0.2,), latency_s=0.01)


def test_only_a_readable_answer_is_ok() -> None:
    assert answer_status(_report(Diagnosis(question="visual_correction_cot", success=True))) == (
        True,
        "answer: success",
    )
    ok, message = answer_status(_report(NoDiagnosis(reason="connection", message="cannot reach http://x/v1")))
    assert not ok and message.startswith("no answer (connection)")
    ok, message = answer_status(_report(Unreadable(reason="no <Answer> tag")))
    assert not ok and "unreadable" in message


def test_a_supervisor_without_a_head_camera_is_refused_at_configure(ros_env, tmp_path) -> None:
    params = ROOT / "launch" / "params" / "aloha.yaml"
    supervisor = NodeProcess("supervisor_node", params, {"supervisor.enabled": "true"}, ros_env, tmp_path)
    node = rclpy.create_node("supervisor_health_test")
    try:
        assert not transition(node, "supervisor_node", Transition.TRANSITION_CONFIGURE)
        assert supervisor.alive()
        assert "head camera" in supervisor.output() and "robot.cameras" in supervisor.output()
    finally:
        node.destroy_node()
        supervisor.stop()
