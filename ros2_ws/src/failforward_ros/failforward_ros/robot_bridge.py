"""Robot bridge lifecycle node: a driver → joint states and cameras; joint commands in (through safety).

Example:
    python -m failforward_ros.robot_bridge --ros-args --params-file launch/params/sim_transfer_cube.yaml

Publishes ``/clock`` in simulation (the graph clock, before each observation; every node then runs on it),
``episode/start`` (latched JSON: the identity, seed and first stamp of each episode it starts,
before that episode's first observation), ``joint_states``, ``command_sent``, per camera ``image_raw``
(+ ``compressed``, ``camera_info``),
``sim/state`` in simulation, and per depth camera ``depth/image_raw`` (32FC1 [m]), ``pose`` (optical frame in
``world``) and ``robot_mask`` (mono8 self-filter) where the driver knows them: every tick for
``robot.depth_cameras``, on request (``~/capture_depth``) for PMC's head camera (see ``bridge_cameras``).

Lifecycle: configure builds the driver from the parameters; activate connects and starts
publishing; deactivate holds (commands are ignored, the robot keeps its last safe command);
cleanup disconnects.
Services: ``~/reset`` (its message is the new episode's ``episode/start`` JSON), ``~/estop``, ``~/clear_estop``,
``~/capture_depth`` (std_srvs/Trigger).
"""

from __future__ import annotations

import sys

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseArray, PoseStamped
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger

from failforward_ros import convert, qos, topics
from failforward_ros.bridge_core import BridgeCore
from failforward_ros.clock import CLOCK_TOPIC, clock_msg, now_s, use_graph_clock
from failforward_ros.lifecycle import ManagedNode
from failforward_ros.node_params import declared_run_config
from failforward_ros.spin import spin_node


class RobotBridgeNode(ManagedNode):
    """Publishes what the robot measures; sends what it is commanded, after the safety layer."""

    def __init__(self) -> None:
        super().__init__("robot_bridge")
        self._core: BridgeCore | None = None

    @property
    def core(self) -> BridgeCore:
        """The bridge's logic (driver, safety, e-stop), built by configure; ``NotConfiguredError`` before."""
        if self._core is None:
            raise self.not_configured("driver")
        return self._core

    # ------------------------------------------------------------ lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self._core = BridgeCore(declared_run_config(self))
        except Exception as exc:  # malformed parameters: report and stay unconfigured
            self.get_logger().error(f"configure failed: {exc}")
            return TransitionCallbackReturn.FAILURE
        use_graph_clock(self, self.core.lockstep)  # a simulator: this node publishes /clock and runs on it
        self._create_interfaces()
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            observation = self.core.start()
        except Exception as exc:
            self.get_logger().error(f"cannot connect the robot: {exc}")
            return TransitionCallbackReturn.FAILURE
        result = super().on_activate(state)
        self._announce_episode()
        self._publish_observation(observation)
        return result

    def release(self) -> None:
        """Leave the robot safe and disconnected (process exit)."""
        if self._core is not None:
            self._core.stop()

    # ----------------------------------------------------------- interfaces
    def _create_interfaces(self) -> None:
        features = self.core.features
        self.joint_pub = self.create_lifecycle_publisher(JointState, topics.JOINT_STATES, qos.JOINT_STATES)
        self.sent_pub = self.create_lifecycle_publisher(JointState, topics.COMMAND_SENT, qos.COMMAND)
        self.state_pub = self.create_lifecycle_publisher(String, topics.SIM_STATE, qos.STATE)
        self.episode_pub = self.create_lifecycle_publisher(String, topics.EPISODE_START, qos.LATCHED)
        self.objects_pub = self.create_lifecycle_publisher(PoseArray, topics.OBJECT_POSES, qos.JOINT_STATES)
        self.image_pubs = {
            cam.name: (
                self.create_lifecycle_publisher(Image, topics.image_topic(cam.name), qos.IMAGES),
                self.create_lifecycle_publisher(CompressedImage, topics.compressed_topic(cam.name), qos.IMAGES),
                self.create_lifecycle_publisher(CameraInfo, topics.camera_info_topic(cam.name), qos.IMAGES),
            )
            for cam in features.cameras
        }
        self.depth_pubs = {
            cam.name: (
                self.create_lifecycle_publisher(Image, topics.depth_topic(cam.name), qos.IMAGES),
                self.create_lifecycle_publisher(PoseStamped, topics.camera_pose_topic(cam.name), qos.IMAGES),
                self.create_lifecycle_publisher(Image, topics.robot_mask_topic(cam.name), qos.IMAGES),
            )
            for cam in features.cameras
            if cam.depth or cam.name in self.core.on_demand_depth
        }
        self.diag_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, qos.DIAGNOSTICS)
        self.clock_pub = self.create_lifecycle_publisher(ClockMsg, CLOCK_TOPIC, qos.STATE)  # used in simulation
        self.create_subscription(JointState, topics.JOINT_COMMANDS, self._on_command, qos.COMMAND)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.create_service(Trigger, "~/estop", self._on_estop)
        self.create_service(Trigger, "~/clear_estop", self._on_clear_estop)
        self.create_service(Trigger, "~/capture_depth", self._on_capture_depth)
        if not self.core.lockstep:
            self.create_timer(1.0 / features.control_hz, self._on_hardware_tick)

    # ------------------------------------------------------------ callbacks
    def _on_command(self, msg: JointState) -> None:
        if not self.active:
            return
        try:
            command = convert.command_from_joint_state(msg, self.core.features.joint_names)
            result = self.core.command(command.positions, command.timestamp)
        except Exception as exc:  # bad message or driver fault: report, keep holding, never crash the graph
            self._report_error(f"command rejected: {exc}")
            return
        if result.sent is None:
            self._report_error(result.rejected_reason)
            return
        echo = convert.joint_state(command.timestamp, self.core.features.joint_names, result.sent.positions)
        if result.repeated:
            self.get_logger().warning(
                f"command {command.timestamp:.6f} s repeated (its echo or the observation "
                "after it was late): answered again, not sent again"
            )
        self.sent_pub.publish(echo)  # stamped with the command's stamp, so the sender can match it
        if self.core.lockstep:
            self._publish_observation(self.core.observe())

    def _on_hardware_tick(self) -> None:
        if not self.active:
            return
        try:
            self.core.deadman_hold()
            self._publish_observation(self.core.observe())
        except Exception as exc:
            self._report_error(f"hardware tick failed: {exc}")

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if not self.active:
            response.success, response.message = False, "robot_bridge is not active"
            return response
        try:
            observation = self.core.reset()
        except Exception as exc:  # the caller's episode fails with the reason; the bridge runs on
            response.success, response.message = False, f"reset failed: {exc}"
            return response
        started = self._announce_episode()  # before the episode's first frames: their episode is known
        self._publish_observation(observation)
        response.success, response.message = True, started.data
        return response

    def _on_estop(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self.core.trigger_estop(f"requested on {self.get_name()}/estop")
        self.get_logger().warning("E-STOP latched: commands are rejected until ~/clear_estop")
        response.success, response.message = True, "e-stop latched"
        return response

    def _on_clear_estop(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if self._core is None or not self.active:
            response.success, response.message = False, "robot_bridge is not active"
            return response
        self.core.clear_estop()
        response.success, response.message = True, "e-stop cleared"
        return response

    def _on_capture_depth(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        """Publish depth, pose and robot mask of the on-demand depth cameras now (before answering)."""
        if not self.active:
            response.success, response.message = False, "robot_bridge is not active"
            return response
        try:
            frames = self.core.capture_depth()
            for camera, (stamp, depth) in frames.items():
                self._publish_depth(stamp, camera, depth)
        except Exception as exc:  # reported to the caller, which refuses the correction; the bridge runs on
            response.success, response.message = False, str(exc)
            return response
        response.success, response.message = True, f"published depth of {sorted(frames)}"
        return response

    # ------------------------------------------------------------ publishing
    def _announce_episode(self) -> String:
        """Publish ``episode/start`` of the episode the last reset started; returns the message."""
        episode = self.core.episode
        if episode is None:  # start() and reset() name the episode they start
            raise RuntimeError("robot_bridge has started no episode yet")
        started = convert.episode_start_msg(episode)
        self.episode_pub.publish(started)
        return started

    def _publish_observation(self, observation) -> None:
        names = self.core.features.joint_names
        t = observation.timestamp
        if self.core.lockstep:  # simulated time advances with the observations: /clock first, then what it stamps
            self.clock_pub.publish(clock_msg(t))
        self.joint_pub.publish(convert.joint_state(t, names, observation.joint_positions, observation.joint_velocities))
        if observation.object_state.size:
            self.objects_pub.publish(convert.object_poses_msg(t, observation.object_state))
        for camera, rgb in observation.images.items():
            raw_pub, jpeg_pub, info_pub = self.image_pubs[camera]
            raw_pub.publish(convert.image_msg(t, camera, rgb))
            jpeg_pub.publish(convert.compressed_msg(t, camera, rgb, self.core.config.record.jpeg_quality))
            k = self.core.intrinsics(camera, rgb.shape[0], rgb.shape[1])
            if k is not None:
                info_pub.publish(convert.camera_info_msg(t, camera, k, rgb.shape[0], rgb.shape[1]))
        for camera, depth in observation.depth.items():
            self._publish_depth(t, camera, depth)
        sim = self.core.sim_state()
        if sim is not None:
            self.state_pub.publish(convert.sim_state_msg(*sim))

    def _publish_depth(self, t: float, camera: str, depth) -> None:
        """Depth [m] of ``camera`` at ``t`` [s], with its pose and robot mask when the driver knows them."""
        depth_pub, pose_pub, mask_pub = self.depth_pubs[camera]
        depth_pub.publish(convert.depth_msg(t, camera, depth))
        extras = self.core.depth_extras(camera, depth.shape[0], depth.shape[1])
        if extras.world_from_camera is not None:
            pose_pub.publish(convert.pose_msg(t, extras.world_from_camera))
        if extras.robot_mask is not None:
            mask_pub.publish(convert.mask_msg(t, camera, extras.robot_mask))

    def _report_error(self, message: str) -> None:
        self.get_logger().error(message)
        self.diag_pub.publish(convert.error_diagnostics(now_s(self), "robot_bridge", message))


def main(argv: list[str] | None = None) -> int:
    return spin_node(RobotBridgeNode, SingleThreadedExecutor, argv)


if __name__ == "__main__":
    sys.exit(main())
