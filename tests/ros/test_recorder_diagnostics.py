"""/diagnostics reaches the recorder node's MCAP files: single-byte fields (``DiagnosticStatus.level``) are written
as the integers the ROS 2 schema says, and the file reads back in the mcap library with every status intact."""

from __future__ import annotations

import pytest

pytest.importorskip("rclpy")
from diagnostic_msgs.msg import DiagnosticStatus
from failforward_ros import convert
from failforward_ros.recorder_core import TopicRecorder
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory


def test_diagnostics_are_recorded_with_their_levels(tmp_path) -> None:
    recorder = TopicRecorder(tmp_path)
    recorder.begin_episode("e1", 0, now_s=0.0)  # the recorder records robot_bridge's episodes only
    ok = convert.diagnostics_msg(1.5, "failforward/policy", True, "running", {"chunks": 3, "starved_ticks": 0})
    warn = convert.diagnostics_msg(1.6, "failforward/policy", False, "starving", {"starved_ticks": 12})
    for msg in (ok, warn):
        recorder.write("/diagnostics", convert.ros_type_name(msg), convert.message_to_dict(msg), 1_000)
    path = recorder.end_episode({"success": False, "reason": "test"})
    assert path is not None
    with path.open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        statuses = [msg.status[0] for _, _, _, msg in reader.iter_decoded_messages(topics=["/diagnostics"])]
    assert [s.level for s in statuses] == [DiagnosticStatus.OK[0], DiagnosticStatus.WARN[0]]
    assert [s.message for s in statuses] == ["running", "starving"]
    assert {v.key: v.value for v in statuses[1].values} == {"starved_ticks": "12"}
