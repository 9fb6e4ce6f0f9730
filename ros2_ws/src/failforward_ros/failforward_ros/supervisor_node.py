"""Supervisor lifecycle node: head camera in, ViFailback diagnoses out (never in the control path).

Example:
    python -m failforward_ros.supervisor_node --ros-args --params-file launch/params/sim_transfer_cube.yaml

Subscribes ``episode/start`` (the bridge's episodes: answers carry their identity),
``cameras/<camera>/image_raw``, ``policy/chunk`` (to count chunks), ``policy/guidance`` (λ_t: the failure
detector's score, when ``supervisor.detector`` is set) and, in simulation,
``sim/state`` (the oracle's privileged state), and the head camera's ``camera_info``, ``depth/image_raw`` and
``pose`` (to place the symbols in 3-D). Publishes ``supervisor/diagnosis`` (JSON in std_msgs/String: no standard
message carries a diagnosis), ``supervisor/annotated`` (the queried frame with the symbols drawn, for RViz),
``supervisor/symbols`` (visualization_msgs/MarkerArray, latched: the symbols in 3-D, in ``world`` where the
frame's depth was published, else on the camera's image plane in its optical frame; an answer without symbols
clears them; see :mod:`failforward.recovery.symbol_shapes`) and its health on ``/diagnostics``.
"""

from __future__ import annotations

import sys

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Float64MultiArray, String
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

from failforward_ros import convert, qos, topics
from failforward_ros.clock import now_s, steady_clock, use_graph_clock
from failforward_ros.episode import simulated
from failforward_ros.lifecycle import ManagedNode
from failforward_ros.node_params import declared_run_config
from failforward_ros.spin import spin_node
from failforward_ros.supervisor_core import SupervisorReport, SupervisorRuntime, answer_status

POLL_PERIOD_S = 0.1


class SupervisorNode(ManagedNode):
    """Feeds head frames to the supervisor scheduler and publishes its answers."""

    def __init__(self) -> None:
        super().__init__("supervisor_node")
        self._runtime: SupervisorRuntime | None = None

    @property
    def runtime(self) -> SupervisorRuntime:
        """The supervisor's backend and scheduler, built by configure; ``NotConfiguredError`` before."""
        if self._runtime is None:
            raise self.not_configured("supervisor")
        return self._runtime

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self._runtime = SupervisorRuntime(declared_run_config(self))
        except Exception as exc:
            self.get_logger().error(f"configure failed: {exc}")
            return TransitionCallbackReturn.FAILURE
        use_graph_clock(self, simulated(self.runtime.config))  # simulated time from /clock in simulation
        camera = self.runtime.camera
        self.diagnosis_pub = self.create_lifecycle_publisher(String, topics.DIAGNOSIS, qos.STATE)
        self.annotated_pub = self.create_lifecycle_publisher(Image, topics.ANNOTATED, qos.IMAGES)
        self.symbols_pub = self.create_lifecycle_publisher(MarkerArray, topics.SYMBOLS, qos.LATCHED)
        self.diag_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, qos.DIAGNOSTICS)
        self.create_subscription(Image, topics.image_topic(camera), self._on_image, qos.IMAGES)
        self.create_subscription(JointTrajectory, topics.POLICY_CHUNK, self._on_chunk, qos.STATE)
        self.create_subscription(Float64MultiArray, topics.POLICY_GUIDANCE, self._on_guidance, qos.STATE)
        self.create_subscription(CameraInfo, topics.camera_info_topic(camera), self._on_camera_info, qos.IMAGES)
        self.create_subscription(Image, topics.depth_topic(camera), self._on_depth, qos.IMAGES)
        self.create_subscription(PoseStamped, topics.camera_pose_topic(camera), self._on_camera_pose, qos.IMAGES)
        self.create_subscription(String, topics.SIM_STATE, self._on_sim_state, qos.STATE)
        self.create_subscription(String, topics.EPISODE_START, self._on_episode, qos.LATCHED)
        self.create_timer(POLL_PERIOD_S, self._on_poll, clock=steady_clock())  # also when simulated time stands still
        return TransitionCallbackReturn.SUCCESS

    def release(self) -> None:
        """Stop the supervisor's worker."""
        if self._runtime is not None:
            self._runtime.close()

    def _on_image(self, msg: Image) -> None:
        if self.active:
            try:
                self.runtime.on_frame(convert.from_stamp(msg.header.stamp), convert.rgb_from_image(msg))
            except Exception as exc:  # a malformed image is reported, never fatal
                self._report(False, f"bad head image: {exc}")

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            self.runtime.on_intrinsics(*convert.intrinsics_from_camera_info(msg))
        except Exception as exc:  # uncalibrated or malformed: symbols wait for a valid one
            self._report(False, f"bad head camera_info: {exc}")

    def _on_depth(self, msg: Image) -> None:
        try:
            self.runtime.on_depth(convert.from_stamp(msg.header.stamp), convert.depth_from_image(msg))
        except Exception as exc:
            self._report(False, f"bad head depth image: {exc}")

    def _on_camera_pose(self, msg: PoseStamped) -> None:
        self.runtime.on_camera_pose(convert.from_stamp(msg.header.stamp), convert.pose_from_msg(msg))

    def _on_episode(self, msg: String) -> None:
        try:
            self.runtime.on_episode(convert.episode_start_from_msg(msg.data))
        except Exception as exc:  # without an episode the supervisor waits for the next valid one
            self._report(False, f"bad episode/start: {exc}")

    def _on_chunk(self, msg: JointTrajectory) -> None:
        if self.active:
            self.runtime.on_chunk()

    def _on_guidance(self, msg: Float64MultiArray) -> None:
        if self.active:
            self.runtime.on_guidance(np.asarray(msg.data, dtype=np.float64))

    def _on_sim_state(self, msg: String) -> None:
        self.runtime.on_sim_state(*convert.sim_state_from_msg(msg))

    def _on_poll(self) -> None:
        if not self.active:
            return
        report = self.runtime.poll()
        if report is None:
            return
        self.diagnosis_pub.publish(String(data=convert.report_json(report)))
        annotated = self.runtime.annotated(report)
        if annotated is not None:
            self.annotated_pub.publish(convert.image_msg(annotated[0], self.runtime.camera, annotated[1]))
        self._publish_symbols(report)
        self._report(*answer_status(report))

    def _publish_symbols(self, report: SupervisorReport) -> None:
        """The answer's symbols as 3-D markers (none: the previous answer's are cleared)."""
        try:
            stamp, shapes = self.runtime.symbol_shapes(report)
        except Exception as exc:  # no intrinsics yet: the answer itself is out, the markers are not
            self._report(False, f"symbols not shown in 3-D: {exc}")
            return
        self.symbols_pub.publish(convert.symbol_markers_msg(stamp, shapes))

    def _report(self, ok: bool, message: str) -> None:
        values = self._runtime.health() if self._runtime is not None else {}
        self.diag_pub.publish(convert.diagnostics_msg(now_s(self), "supervisor_node", ok, message, values))


def main(argv: list[str] | None = None) -> int:
    return spin_node(SupervisorNode, SingleThreadedExecutor, argv)


if __name__ == "__main__":
    sys.exit(main())
