"""What recovery needs across the graph, without DDS: message round trips and the policy node's inboxes."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("rclpy")
from failforward_ros import convert
from failforward_ros.policy_recovery import CameraFrames, HeadDepth, RemoteCamera, ReportInbox
from sensor_msgs.msg import Image
from std_msgs.msg import String

from failforward.errors import DriverError, ShapeError
from failforward.supervisor.diagnosis import Diagnosis, NoDiagnosis
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import EpisodeInfo, JointCommand, Observation, RobotFeatures, TickRecord

RNG = np.random.default_rng(0)


def test_depth_mask_and_pose_survive_their_messages() -> None:
    depth = RNG.uniform(0.2, 2.0, (6, 8)).astype(np.float32)
    depth[0, 0] = 0.0  # no reading
    back = convert.depth_from_image(convert.depth_msg(1.5, "top", depth))
    assert np.isnan(back[0, 0]) and np.array_equal(back[1:], depth[1:])
    mask = RNG.uniform(size=(6, 8)) > 0.5
    assert np.array_equal(convert.mask_from_image(convert.mask_msg(1.5, "top", mask)), mask)
    pose = np.eye(4)
    pose[:3, :3] = np.diag([1.0, -1.0, -1.0])  # looking straight down, as the ALOHA top camera
    pose[:3, 3] = [0.0, 0.6, 0.9]
    np.testing.assert_allclose(convert.pose_from_msg(convert.pose_msg(1.5, pose)), pose, atol=1e-12)


def test_depth_in_millimetres_is_read_in_metres() -> None:
    msg = Image(height=1, width=2, encoding="16UC1", is_bigendian=0, step=4)
    msg.data = np.array([1500, 0], dtype="<u2").tobytes()
    depth = convert.depth_from_image(msg)
    assert depth[0, 0] == pytest.approx(1.5) and np.isnan(depth[0, 1])
    msg.encoding = "rgb8"
    with pytest.raises(ShapeError, match="32FC1"):
        convert.depth_from_image(msg)


def test_a_report_round_trips_and_malformed_ones_say_what_is_wrong() -> None:
    result = Diagnosis(question="visual_correction_cot", success=False, command_text="Open the right gripper.")
    report = SupervisorReport(result, 2, 30, 1.25, (0.25, 1.25), 0.01, "e2")
    assert convert.report_from_msg(String(data=convert.report_json(report))) == report
    timeout = NoDiagnosis(reason="timeout").model_dump()
    for bad, why in [
        ("{", "JSONDecodeError"),
        (json.dumps({"episode": 1}), "result"),
        (json.dumps({"result": {"kind": "what"}}), "ValidationError"),
        (json.dumps({"result": timeout, "frame_times": ["x"]}), "x"),
        (json.dumps({"result": timeout, "frame_times": [1.0]}), "episode_id"),
        (json.dumps({"result": timeout, "episode_id": "e"}), "finite"),
    ]:
        with pytest.raises(ShapeError, match=why):
            convert.report_from_msg(String(data=bad))


def _tick(t: float) -> TickRecord:
    zeros = np.zeros(1)
    return TickRecord(0, Observation(t, zeros, zeros), zeros, JointCommand(t, zeros), None, {})


def test_the_inbox_keeps_answers_of_its_episode_and_drops_other_episodes_and_too_old_ones() -> None:
    inbox = ReportInbox(max_age_s=2.0)
    result = NoDiagnosis(reason="timeout")
    inbox.deliver(SupervisorReport(result, 0, 0, 0.0, (0.0,), 0.0, "e1"))  # before any episode started
    assert inbox.poll() is None and inbox.dropped == 1
    inbox.on_episode_start(EpisodeInfo(1, 1, "t", "t", "remote", RobotFeatures((), (), 50.0), "e2"))
    inbox.on_tick(_tick(3.0))
    inbox.deliver(SupervisorReport(result, 0, 0, 2.9, (2.5, 2.9), 0.0, "e1"))  # the earlier episode, same clock
    inbox.deliver(SupervisorReport(result, 1, 0, 0.5, (0.5,), 0.0, "e2"))  # 2.5 s old
    assert inbox.poll() is None and inbox.dropped == 3
    ahead = SupervisorReport(result, 1, 0, 3.02, (2.02, 3.02), 0.0, "e2")  # saw the bridge's next frame first
    inbox.deliver(ahead)
    assert inbox.poll() == ahead and inbox.poll() is None
    older, newer = (SupervisorReport(result, 1, 0, t, (t,), 0.0, "e2") for t in (2.0, 2.5))
    inbox.deliver(older)
    inbox.deliver(newer)
    assert inbox.poll() == newer and inbox.dropped == 3
    assert inbox.wait(0.1)  # a synchronous loop never waits on a topic


def test_head_depth_captures_on_request_and_reports_why_when_it_cannot() -> None:
    frames, now = CameraFrames(wait_s=0.01), 4.0
    captured = []

    def capture() -> None:  # the bridge publishing on capture_depth
        captured.append(now)
        frames.deliver("depth", "top", now, np.ones((2, 3), np.float32))

    assert HeadDepth(frames, "top", lambda: now, capture).depth().shape == (2, 3) and captured == [4.0]

    def refuse() -> None:
        raise DriverError("robot_bridge refused capture_depth: not a simulator")

    with pytest.raises(DriverError, match="not a simulator"):
        HeadDepth(CameraFrames(wait_s=0.01), "top", lambda: now, refuse).depth()
    with pytest.raises(DriverError, match="stale or from another episode"):
        HeadDepth(frames, "top", lambda: now + 1.0).depth()  # nothing to capture with, the frame is 1 s old


def test_the_remote_camera_scales_intrinsics_and_reads_the_pose_of_the_stamp() -> None:
    frames = CameraFrames(wait_s=0.01)
    k = np.array([[100.0, 0.0, 79.5], [0.0, 100.0, 59.5], [0.0, 0.0, 1.0]])
    frames.deliver("intrinsics", "top", 0.0, (k, 120, 160))
    frames.deliver("pose", "top", 2.0, np.eye(4))
    camera = RemoteCamera(frames, "top", lambda: 2.0)
    np.testing.assert_allclose(camera.intrinsics(240, 320)[:2, :2], 2 * k[:2, :2])
    np.testing.assert_array_equal(camera.world_from_camera(), np.eye(4))
