"""Policy lifecycle node: runs the control loop against the robot bridge and publishes what it plans.

Example:
    python -m failforward_ros.policy_node --ros-args --params-file launch/params/sim_transfer_cube.yaml

Lifecycle: configure loads the policy named by the parameters; activate starts ``episodes``
episodes on a worker thread; deactivate stops after the current tick (the bridge holds).
Services: ``~/start`` (run the configured episodes again), ``~/stop`` (std_srvs/Trigger).
Publishes ``policy/chunk`` (JointTrajectory), ``policy/guidance`` (λ_t, Float64MultiArray),
``episode/outcome`` and loop timing on ``/diagnostics``.

Recovery (``recovery.enabled``, simulated ALOHA): the loop runs the recovery controller on the answers of
``supervisor/diagnosis`` and the head camera's ``depth/image_raw``, ``camera_info``, ``pose`` and
``robot_mask`` (from robot_bridge), and publishes each transition on ``recovery/event`` (JSON in
std_msgs/String, as the recorders write it). A malformed answer or a missing depth frame is reported and the
robot keeps running the policy (PMC refuses, the machine stays or returns to NOMINAL).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseArray, PoseStamped
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.client import Client
from rclpy.executors import MultiThreadedExecutor
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, Float64MultiArray, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

from failforward_ros import convert, qos, topics
from failforward_ros.clock import now_s, use_graph_clock
from failforward_ros.episode import EpisodeStart, simulated
from failforward_ros.interrupt import INTERRUPTED
from failforward_ros.lifecycle import ManagedNode
from failforward_ros.node_params import declared_run_config
from failforward_ros.policy_recovery import FrameKind
from failforward_ros.policy_runtime import LinkError, PolicyRuntime
from failforward_ros.readiness import RECORDER_READY_TOPIC, StartGate
from failforward_ros.spin import spin_node

TriggerClient = Client[Trigger.Request, Trigger.Response]


class PolicyNode(ManagedNode):
    """Hosts the policy and the loop; the loop's robot is the bridge on the other side of the topics."""

    def __init__(self) -> None:
        super().__init__("policy_node")
        self._runtime: PolicyRuntime | None = None
        self._worker: threading.Thread | None = None
        self._io_group = ReentrantCallbackGroup()
        self._gate = StartGate(require_recorder=self._parameter("require_recorder", True))
        self._start_timeout_s = float(self._parameter("start_timeout_s", 30.0))
        self._stop_requested = threading.Event()

    @property
    def runtime(self) -> PolicyRuntime:
        """The policy, its loop and the remote robot, built by configure; ``NotConfiguredError`` before."""
        if self._runtime is None:
            raise self.not_configured("policy")
        return self._runtime

    # ------------------------------------------------------------ lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            config = declared_run_config(self)
        except Exception as exc:
            self.get_logger().error(f"configure failed, malformed parameters: {exc}")
            return TransitionCallbackReturn.FAILURE
        use_graph_clock(self, simulated(config))  # simulated time from /clock in simulation
        try:
            self._runtime = PolicyRuntime(
                config,
                link=self,
                on_chunk=self._publish_chunk,
                on_episode=self._publish_episode,
                on_recovery_event=self._publish_event,
                on_plan=self._publish_plan,
            )
        except Exception as exc:
            self.get_logger().error(f"configure failed, cannot build the policy: {exc}")
            return TransitionCallbackReturn.FAILURE
        self._create_interfaces()
        if self.runtime.recovery is not None:
            self._create_recovery_interfaces(config.recovery.pmc.camera)
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_activate(state)
        self._start_worker()
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_worker()
        return super().on_deactivate(state)

    def interrupt(self) -> None:
        """SIGINT/SIGTERM (``spin_node``): end the running episode as ``aborted: interrupted``; its file is finished
        and its outcome published while the node still spins."""
        self._stop_requested.set()
        if self._runtime is not None:
            self._runtime.stop(INTERRUPTED)

    def finishing(self) -> bool:
        """True while the control loop still ends its episode."""
        return self._worker is not None and self._worker.is_alive()

    def release(self) -> None:
        """Stop the control loop (the bridge holds the last safe command) and the Foxglove live view, if any."""
        self._stop_worker()
        if self._runtime is not None:
            self._runtime.close()

    # ----------------------------------------------------------- interfaces
    def _create_interfaces(self) -> None:
        io = self._io_group
        # a lifecycle publisher: commands leave this node only while it is active
        self.command_pub = self.create_lifecycle_publisher(JointState, topics.JOINT_COMMANDS, qos.COMMAND)
        self.chunk_pub = self.create_lifecycle_publisher(JointTrajectory, topics.POLICY_CHUNK, qos.STATE)
        self.guidance_pub = self.create_lifecycle_publisher(Float64MultiArray, topics.POLICY_GUIDANCE, qos.STATE)
        self.outcome_pub = self.create_lifecycle_publisher(String, topics.EPISODE_OUTCOME, qos.STATE)
        self.preview_pub = self.create_lifecycle_publisher(MarkerArray, topics.CHUNK_PREVIEW, qos.STATE)
        self.diag_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, qos.DIAGNOSTICS)
        self.plan_pub = self.create_lifecycle_publisher(String, topics.PLANNER_PLAN, qos.STATE)
        self.tree_pub = self.create_lifecycle_publisher(MarkerArray, topics.PLANNER_TREE, qos.STATE)
        self.create_subscription(
            JointState, topics.JOINT_STATES, self._on_joint_states, qos.JOINT_STATES, callback_group=io
        )
        self.create_subscription(JointState, topics.COMMAND_SENT, self._on_sent, qos.COMMAND, callback_group=io)
        self.create_subscription(String, topics.SIM_STATE, self._on_sim_state, qos.STATE, callback_group=io)
        self.create_subscription(
            String, topics.EPISODE_START, lambda _: self._gate.bridge_published(), qos.LATCHED, callback_group=io
        )
        self.create_subscription(
            Bool, RECORDER_READY_TOPIC, lambda m: self._gate.recorder_ready(m.data), qos.LATCHED, callback_group=io
        )
        for camera in self.runtime.features.camera_names:
            self.create_subscription(
                Image, topics.image_topic(camera), self._image_callback(camera), qos.IMAGES, callback_group=io
            )
        if self.runtime.features.object_names:
            self.create_subscription(
                PoseArray, topics.OBJECT_POSES, self._on_object_poses, qos.JOINT_STATES, callback_group=io
            )
        self.reset_client: TriggerClient = self.create_client(Trigger, "robot_bridge/reset", callback_group=io)
        self.depth_client: TriggerClient = self.create_client(Trigger, "robot_bridge/capture_depth", callback_group=io)
        services = MutuallyExclusiveCallbackGroup()
        self.create_service(Trigger, "~/start", self._on_start, callback_group=services)
        self.create_service(Trigger, "~/stop", self._on_stop, callback_group=services)

    def _create_recovery_interfaces(self, camera: str) -> None:
        """Diagnoses in, the head camera's depth geometry in, recovery events out."""
        io = self._io_group
        self.event_pub = self.create_lifecycle_publisher(String, topics.RECOVERY_EVENT, qos.STATE)
        self.create_subscription(String, topics.DIAGNOSIS, self._on_diagnosis, qos.STATE, callback_group=io)
        frames: dict[FrameKind, tuple[type, str, Callable[[Any], Any]]] = {
            "depth": (Image, topics.depth_topic(camera), convert.depth_from_image),
            "mask": (Image, topics.robot_mask_topic(camera), convert.mask_from_image),
            "pose": (PoseStamped, topics.camera_pose_topic(camera), convert.pose_from_msg),
            "intrinsics": (CameraInfo, topics.camera_info_topic(camera), convert.intrinsics_from_camera_info),
        }
        for kind, (msg_type, topic, decode) in frames.items():
            self.create_subscription(
                msg_type, topic, self._frame_callback(kind, camera, decode), qos.IMAGES, callback_group=io
            )

    # ------------------------------------------------- RobotLink (transport)
    def request_reset(self, timeout_s: float) -> EpisodeStart:
        """A new episode from robot_bridge; its identity tags what this node's loop does in it."""
        return convert.episode_start_from_msg(self._trigger(self.reset_client, "reset", timeout_s))

    def request_depth(self, timeout_s: float) -> None:
        """Ask robot_bridge to publish the head camera's depth, pose and robot mask now (recovery)."""
        self._trigger(self.depth_client, "capture_depth", timeout_s)

    def _trigger(self, client: TriggerClient, what: str, timeout_s: float) -> str:
        """Call a Trigger service of robot_bridge; its response message, or ``LinkError`` saying why not."""
        if not client.wait_for_service(timeout_sec=timeout_s):
            raise LinkError(f"robot_bridge/{what} service is not available: start and activate robot_bridge.")
        future = client.call_async(Trigger.Request())
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        answered = done.wait(timeout_s)
        response = future.result() if future.done() else None
        if not answered or response is None or not response.success:
            message = response.message if response else "timeout"
            raise LinkError(f"robot_bridge refused {what}: {message}")
        return response.message

    def publish_command(self, positions, stamp: float) -> None:
        self.command_pub.publish(convert.joint_state(stamp, self.runtime.features.joint_names, positions))

    # ------------------------------------------------------------ callbacks
    def _on_joint_states(self, msg: JointState) -> None:
        self._gate.bridge_published()
        runtime = self._runtime
        if runtime is None:
            return
        try:
            names = runtime.features.joint_names
            runtime.robot.deliver_observation(convert.observation_from_messages(msg, names))
        except Exception as exc:
            self._report(False, f"bad joint_states: {exc}", {})

    def _on_object_poses(self, msg: PoseArray) -> None:
        runtime = self._runtime
        if runtime is None:
            return
        try:
            state = convert.object_state_from_poses(msg, len(runtime.features.object_names))
            runtime.robot.deliver_object_state(convert.from_stamp(msg.header.stamp), state)
        except Exception as exc:  # the loop then stops on stale object state instead of acting blind
            self._report(False, f"bad objects/poses: {exc}", {})

    def _image_callback(self, camera: str):
        def deliver(msg: Image) -> None:
            if self._runtime is not None:
                self._runtime.robot.deliver_image(
                    camera, convert.from_stamp(msg.header.stamp), convert.rgb_from_image(msg)
                )

        return deliver

    def _frame_callback(self, kind: FrameKind, camera: str, decode: Callable[[Any], Any]) -> Callable[[Any], None]:
        def deliver(msg: Any) -> None:
            try:
                self.runtime.frames.deliver(kind, camera, convert.from_stamp(msg.header.stamp), decode(msg))
            except Exception as exc:  # a malformed frame is reported; recovery then refuses for lack of it
                self._report(False, f"bad {kind} frame of {camera!r}: {exc}", {})

        return deliver

    def _on_diagnosis(self, msg: String) -> None:
        try:
            report = convert.report_from_msg(msg)
        except Exception as exc:  # reported; the recovery machine simply gets no answer (stays as it is)
            self._report(False, f"ignored a supervisor answer: {exc}", {})
            return
        self.runtime.reports.deliver(report)

    def _publish_plan(self, cycle) -> None:
        """A planning cycle (with ``planner:`` in the run config): its JSON and its tree as markers."""
        self.plan_pub.publish(convert.plan_msg(cycle))
        self.tree_pub.publish(convert.plan_tree_msg(cycle.time, cycle.plan))

    def _publish_event(self, event) -> None:
        self.event_pub.publish(convert.recovery_event_msg(event))

    def _on_sent(self, msg: JointState) -> None:
        runtime = self._runtime
        if runtime is not None:
            command = convert.command_from_joint_state(msg, runtime.features.joint_names)
            runtime.robot.deliver_echo(command.timestamp, command.positions)

    def _on_sim_state(self, msg: String) -> None:
        if self._runtime is not None:
            self._runtime.robot.deliver_sim_state(*convert.sim_state_from_msg(msg))

    def _on_start(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if not self.active:
            response.success = False
            response.message = (
                "policy_node is not active: activate it first (ros2 lifecycle set /policy_node activate, after "
                "configure); an inactive policy node never drives the robot"
            )
        elif self._worker is not None and self._worker.is_alive():
            response.success, response.message = False, "episodes are already running"
        else:
            waiting = self._gate.missing()
            self._start_worker()
            response.success = True
            response.message = f"starting once: {'; '.join(waiting)}" if waiting else "started"
        return response

    def _on_stop(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self._stop_worker()
        response.success, response.message = True, "stopped; the robot holds its last safe command"
        return response

    # ------------------------------------------------------------ worker
    def _start_worker(self) -> None:
        self._stop_requested.clear()
        self._worker = threading.Thread(target=self._run_when_ready, name="control_loop", daemon=True)
        self._worker.start()

    def _run_when_ready(self) -> None:
        """Run the episodes once the bridge publishes and the recorder records (``StartGate``), else report why not."""
        missing = self._gate.wait(self._start_timeout_s, self._stop_requested)
        if self._stop_requested.is_set():
            return
        if missing:
            self._report(False, f"episodes not started after {self._start_timeout_s:.0f} s: {'; '.join(missing)}", {})
            return
        self.runtime.run_episodes()

    def _parameter(self, name: str, default: Any) -> Any:
        """A node-level parameter (``-p name:=value``), ``default`` when not given."""
        return self.get_parameter(name).value if self.has_parameter(name) else default

    def _stop_worker(self) -> None:
        self._stop_requested.set()
        if self._runtime is not None:
            self._runtime.stop()
        if self._worker is not None:
            self._worker.join(timeout=5.0)
            self._worker = None

    def _publish_chunk(self, stamp: float, chunk) -> None:
        names = self.runtime.features.joint_names
        self.chunk_pub.publish(convert.trajectory_msg(stamp, names, chunk, 1.0 / self.runtime.features.control_hz))
        if chunk.guidance.size:
            self.guidance_pub.publish(convert.guidance_msg(chunk))
        paths = self.runtime.preview.paths(chunk)
        if paths:
            self.preview_pub.publish(convert.chunk_preview_msg(stamp, paths))

    def _publish_episode(self, episode) -> None:
        self.outcome_pub.publish(
            convert.outcome_msg(episode.index, episode.seed, episode.outcome, episode.steps, episode.episode_id)
        )
        ok = episode.error is None
        self._report(ok, episode.error or episode.outcome.reason, episode.timing)

    def _report(self, ok: bool, message: str, values: dict) -> None:
        if not ok:
            self.get_logger().warning(message)
        self.diag_pub.publish(convert.diagnostics_msg(now_s(self), "policy_node/control_loop", ok, message, values))


def main(argv: list[str] | None = None) -> int:
    return spin_node(PolicyNode, lambda: MultiThreadedExecutor(num_threads=3), argv)


if __name__ == "__main__":
    sys.exit(main())
