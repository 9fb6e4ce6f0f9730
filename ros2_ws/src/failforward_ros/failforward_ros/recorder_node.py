"""Recorder lifecycle node: the graph's topics → one MCAP file per episode (like ``ros2 bag record``).

Example:
    python -m failforward_ros.recorder_node --ros-args --params-file launch/params/sim_transfer_cube.yaml

Records joint states, commands and what was sent, the objects' poses (when the robot reports them), compressed
camera images, the policy's chunks and guidance, supervisor diagnoses, recovery events, outcomes and diagnostics,
with ROS 2 schemas, and the task prompt of robot_bridge's ``episode/start`` in the file's ``recording`` metadata. The
policy node also records its own ticks in-process; this node records the graph as an operator sees it, whichever
nodes are running (teleoperation, a remote policy...). ``failforward learn`` reads both: this node's files are
aligned into ticks by the header stamps (``failforward.record.graph_ticks``).
Lifecycle: configure subscribes, activate records, deactivate pauses, cleanup closes the file.

Files follow the bridge's episodes (``TopicRecorder``): ``episode/start`` begins one, ``episode/outcome`` ends it
(its outcome and the bridge's ``episode_id`` go into the ``episode`` metadata), but the file stays open
``CLOSE_GRACE_S`` longer, also once the next episode began, so that the episode's last commands and frames, which
travel on other topics and may arrive late, are still written to it; nothing is recorded outside an episode.
One clock per file: log times are this node's clock at receipt, simulated time from ``/clock`` in simulation
(``use_sim_time``), the system clock on hardware (``clock`` in the file's metadata).
SIGINT/SIGTERM: the open files are closed (``aborted: interrupted`` unless the outcome arrives within the grace).
"""

from __future__ import annotations

import json
import sys
import time

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseArray
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from rclpy.publisher import Publisher
from rclpy.qos import QoSProfile
from rclpy.timer import Timer
from sensor_msgs.msg import CompressedImage, JointState
from std_msgs.msg import Bool, Float64MultiArray, String
from trajectory_msgs.msg import JointTrajectory

from failforward_ros import convert, qos, topics
from failforward_ros.clock import now_ns, steady_clock, use_graph_clock
from failforward_ros.episode import simulated
from failforward_ros.lifecycle import ManagedNode
from failforward_ros.node_params import declared_run_config
from failforward_ros.readiness import RECORDER_READY_TOPIC
from failforward_ros.recorder_core import TopicRecorder, camera_names
from failforward_ros.spin import spin_node

CLOSE_GRACE_S = 0.5  # [s] an ended episode's file stays open this long for its late messages


def recorded_topics(cameras: tuple[str, ...]) -> list[tuple[str, type, QoSProfile]]:
    """(topic, message type, QoS) of everything the recorder subscribes to."""
    fixed: list[tuple[str, type, QoSProfile]] = [
        (topics.JOINT_STATES, JointState, qos.JOINT_STATES),
        (topics.JOINT_COMMANDS, JointState, qos.COMMAND),
        (topics.COMMAND_SENT, JointState, qos.COMMAND),
        (topics.OBJECT_POSES, PoseArray, qos.JOINT_STATES),  # a state policy's object input, for training
        (topics.POLICY_CHUNK, JointTrajectory, qos.STATE),
        (topics.POLICY_GUIDANCE, Float64MultiArray, qos.STATE),
        (topics.DIAGNOSIS, String, qos.STATE),
        (topics.RECOVERY_EVENT, String, qos.STATE),
        (topics.DIAGNOSTICS, DiagnosticArray, qos.DIAGNOSTICS),
    ]
    return fixed + [(topics.compressed_topic(c), CompressedImage, qos.IMAGES) for c in cameras]


class RecorderNode(ManagedNode):
    def __init__(self) -> None:
        super().__init__("recorder_node")
        self._recorder: TopicRecorder | None = None
        self._closing: Timer | None = None  # closes files whose grace period is over
        self._interrupted = False
        self._ready_pub: Publisher | None = None

    @property
    def recorder(self) -> TopicRecorder:
        """The MCAP writer, built by configure; ``NotConfiguredError`` before."""
        if self._recorder is None:
            raise self.not_configured("recorder")
        return self._recorder

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            config = declared_run_config(self)
        except Exception as exc:
            self.get_logger().error(f"configure failed, malformed parameters: {exc}")
            return TransitionCallbackReturn.FAILURE
        clock = use_graph_clock(self, simulated(config))  # before the subscriptions: /clock is served first
        try:
            self._recorder = TopicRecorder.for_run(
                config.record.output_dir, config.record.chunk_kib, clock, CLOSE_GRACE_S
            )
        except Exception as exc:
            self.get_logger().error(f"configure failed: {exc}")
            return TransitionCallbackReturn.FAILURE
        self._closing = self.create_timer(CLOSE_GRACE_S / 5, self._finish_due, clock=steady_clock())
        # episode starts first: the first messages of an episode must find it known
        self.create_subscription(String, topics.EPISODE_START, self._on_episode_start, qos.LATCHED)
        for topic, msg_type, profile in recorded_topics(camera_names(config)):
            self.create_subscription(
                msg_type, topic, self._record_callback("/" + topic.lstrip("/")), qos.recording(profile)
            )
        self.create_subscription(String, topics.EPISODE_OUTCOME, self._on_outcome, qos.STATE)
        self._ready_pub = self.create_publisher(Bool, RECORDER_READY_TOPIC, qos.LATCHED)
        self._say_ready(False)
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_activate(state)
        self._say_ready(True)  # the policy node starts episodes only after this (readiness.StartGate)
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._say_ready(False)
        return super().on_deactivate(state)

    def _say_ready(self, ready: bool) -> None:
        """Latch on ``recorder/ready`` whether this node records."""
        if self._ready_pub is not None:
            self._ready_pub.publish(Bool(data=ready))

    def interrupt(self) -> None:
        """SIGINT/SIGTERM (``spin_node``): give the episodes in progress ``CLOSE_GRACE_S`` for their outcomes."""
        self._interrupted = True
        if self._recorder is not None:
            self._recorder.end_open(time.monotonic())

    def finishing(self) -> bool:
        """True while an episode's file is still open."""
        return self._recorder is not None and self._recorder.pending

    def release(self) -> None:
        """Finish the open MCAP files so they are complete on disk (an episode without its outcome: aborted)."""
        if self._recorder is not None:
            reason = "aborted: interrupted" if self._interrupted else "aborted: recorder_node cleaned up or shut down"
            for path in self._recorder.close(reason):
                self.get_logger().info(f"episode recorded: {path}")

    def _record_callback(self, topic: str):
        def record(msg) -> None:
            if not self.active:
                return
            header = getattr(msg, "header", None)
            stamp = round(convert.from_stamp(header.stamp) * 1e9) if header is not None else None
            try:
                data, named = convert.message_to_dict(msg), _named_episode(topic, msg)
                self.recorder.write(topic, convert.ros_type_name(msg), data, now_ns(self), stamp or None, named)
            except Exception as exc:  # a disk or encoding problem is reported, the graph keeps running
                self.get_logger().error(f"recording {topic} failed: {exc}")

        return record

    def _on_episode_start(self, msg: String) -> None:
        try:
            start = convert.episode_start_from_msg(msg.data)
        except Exception as exc:  # reported; files then split on outcomes alone
            self.get_logger().error(f"bad episode/start: {exc}")
            return
        self.recorder.begin_episode(start.episode_id, round(start.stamp * 1e9), time.monotonic(), start.prompt)

    def _on_outcome(self, msg: String) -> None:
        if not self.active:
            return
        fields = convert.outcome_fields(msg)  # names its episode (a node that names none: the current one)
        self.recorder.write(
            "/" + topics.EPISODE_OUTCOME,
            "std_msgs/msg/String",
            {"data": msg.data},
            now_ns(self),
            None,
            fields["episode_id"],
        )
        self.recorder.end_episode(fields, time.monotonic())

    def _finish_due(self) -> None:
        """Close the files whose grace period is over (steady clock: also when simulated time stands still)."""
        if self._recorder is not None:
            for path in self._recorder.finish_due(time.monotonic()):
                self.get_logger().info(f"episode recorded: {path}")


def _named_episode(topic: str, msg: object) -> str:
    """The episode a supervisor answer names (its JSON's ``episode_id``); ``""`` for other messages."""
    if topic != "/" + topics.DIAGNOSIS.lstrip("/"):
        return ""
    try:
        return str(json.loads(getattr(msg, "data", "")).get("episode_id", ""))
    except (ValueError, AttributeError):
        return ""


def main(argv: list[str] | None = None) -> int:
    return spin_node(RecorderNode, SingleThreadedExecutor, argv)


if __name__ == "__main__":
    sys.exit(main())
