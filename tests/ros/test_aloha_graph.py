"""The node graph on the real-ALOHA preset, the bridge talking Dynamixel Protocol 2.0 to the emulator."""

from __future__ import annotations

import json

import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("dynamixel_sdk", reason="install the hw extra: pip install -e '.[hw]'")
from lifecycle_msgs.msg import Transition  # noqa: E402
from ros_graph import ROOT, NodeProcess, wait_for  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from test_node_graph import transition  # noqa: E402

from failforward.robots.dynamixel.emulator import DynamixelEmulator, aloha_buses, aloha_port_settings  # noqa: E402

PARAMS = ROOT / "launch" / "params" / "aloha.yaml"


@pytest.mark.slow  # four busy processes (emulator, bridge busy-polling the SDK, policy, test) need idle cores
def test_policy_node_drives_the_emulated_aloha_in_real_time(ros_env, tmp_path) -> None:
    with DynamixelEmulator(aloha_buses(4_000_000, ("follower_left", "follower_right"))) as emulator:
        overrides = {f"robot.{k}": v for k, v in aloha_port_settings(emulator).items()}
        overrides.update(
            {
                "loop.max_steps": "50",
                "record.output_dir": str(tmp_path / "runs"),
                "require_recorder": "false",  # bridge and policy only
                "robot.comm_retries": "8",  # emulator process on a shared machine: late replies
                "robot.calibration_dir": str(ROOT / "calibration" / "aloha" / "default"),
            }
        )
        processes = [
            NodeProcess(name, PARAMS, overrides, ros_env, tmp_path) for name in ("robot_bridge", "policy_node")
        ]
        node = rclpy.create_node("aloha_graph_test")
        outcomes, states = [], []
        node.create_subscription(String, "episode/outcome", lambda m: outcomes.append(json.loads(m.data)), 10)
        node.create_subscription(JointState, "joint_states", lambda m: states.append(m), 50)
        try:
            for name in ("robot_bridge", "policy_node"):
                assert transition(node, name, Transition.TRANSITION_CONFIGURE), processes[0].output()[-2000:]
            assert transition(node, "robot_bridge", Transition.TRANSITION_ACTIVATE), processes[0].output()[-2000:]
            assert transition(node, "policy_node", Transition.TRANSITION_ACTIVATE)
            assert wait_for(lambda: outcomes, 30, node), processes[1].output()[-3000:]
            assert outcomes[0]["steps"] == 50, (outcomes, processes[0].output()[-3000:], processes[1].output()[-3000:])
            assert "aborted" not in outcomes[0]["reason"], outcomes
            assert len(states) >= 40 and len(states[-1].position) == 14
            for name in ("policy_node", "robot_bridge"):
                assert transition(node, name, Transition.TRANSITION_DEACTIVATE)
        finally:
            node.destroy_node()
            codes = [p.stop() for p in processes]
        assert codes == [0, 0], [p.output()[-2000:] for p in processes]
