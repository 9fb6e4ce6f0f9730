"""ROS 2 transport and node-graph timing, measured side by side in one run.

Run: ./run python bench/ros_topics.py [--seconds 5]

1. Topic rate and latency across processes (Fast DDS, LARGE_DATA transport): a publisher process
   sends 480x640 rgb8 images and 14-joint JointStates at 50 Hz stamped with wall time; this process
   subscribes and reports received rate and latency percentiles.
2. Control-tick jitter: the real-time 50 Hz loop as the node graph (robot_bridge + policy_node
   processes, hold policy) vs. the plain in-process CLI loop; ratio of the jitter std.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PUBLISHER = r"""
import sys, time, numpy as np, rclpy
from sensor_msgs.msg import Image, JointState
from failforward_ros import convert, qos
rclpy.init()
node = rclpy.create_node("bench_publisher")
image_pub = node.create_publisher(Image, "bench/image", qos.IMAGES)
joint_pub = node.create_publisher(JointState, "bench/joints", qos.JOINT_STATES)
rgb = (np.random.default_rng(0).random((480, 640, 3)) * 255).astype(np.uint8)
names = tuple(f"j{i}" for i in range(14))
end = time.time() + float(sys.argv[1])
next_t = time.perf_counter()
while time.time() < end:
    now = time.time()
    image_pub.publish(convert.image_msg(now, "top", rgb))
    joint_pub.publish(convert.joint_state(now, names, np.zeros(14), np.zeros(14)))
    next_t += 0.02
    time.sleep(max(0.0, next_t - time.perf_counter()))
node.destroy_node(); rclpy.shutdown()
"""


def ros_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ROS_DOMAIN_ID=str(random.randint(100, 200)),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        FASTDDS_BUILTIN_TRANSPORTS="LARGE_DATA",
        AMENT_PREFIX_PATH=sys.prefix,
    )
    os.environ.update(env)
    return env


def topic_rates(seconds: float, env: dict[str, str]) -> dict[str, dict[str, float]]:
    import rclpy
    from failforward_ros import convert, qos
    from sensor_msgs.msg import Image, JointState

    received: dict[str, list[tuple[float, float]]] = {"image 480x640 rgb8": [], "joint_states (14)": []}
    node = rclpy.create_node("bench_subscriber")

    def record(key: str):
        return lambda msg: received[key].append((time.time(), convert.from_stamp(msg.header.stamp)))

    node.create_subscription(Image, "bench/image", record("image 480x640 rgb8"), qos.IMAGES)
    node.create_subscription(JointState, "bench/joints", record("joint_states (14)"), qos.JOINT_STATES)
    publisher = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(seconds + 1.0)], env=env)
    end = time.time() + seconds + 2.0
    while time.time() < end:
        rclpy.spin_once(node, timeout_sec=0.01)
    publisher.wait(timeout=10)
    node.destroy_node()
    out = {}
    for key, samples in received.items():
        arrivals = np.array([a for a, _ in samples])
        latency = np.array([(a - s) * 1e3 for a, s in samples])
        span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else float("nan")
        out[key] = {
            "rate_hz": (len(arrivals) - 1) / span,
            "sent_hz": 50.0,
            "received": len(arrivals),
            "latency_p50_ms": float(np.percentile(latency, 50)),
            "latency_p99_ms": float(np.percentile(latency, 99)),
        }
    return out


def graph_jitter(ticks: int, env: dict[str, str]) -> np.ndarray:
    """Command inter-arrival [ms] of the node graph in real-time mode."""
    import rclpy
    from failforward_ros import qos
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState
    from sensor_msgs.msg import JointState

    params = ROOT / "launch" / "params" / "sim_transfer_cube.yaml"
    overrides = [
        "-p",
        "policy.kind:=hold",
        "-p",
        f"loop.max_steps:={ticks}",
        "-p",
        "episodes:=1",
        "-p",
        "loop.realtime:=true",
        "-p",
        "loop.stop_on_success:=false",
        "-p",
        "record.enabled:=false",
        "-p",
        "robot.cameras:=['left_wrist']",
        "-p",
        "robot.image_height:=32",
        "-p",
        "robot.image_width:=32",
    ]
    logs = tempfile.TemporaryDirectory()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", f"failforward_ros.{name}", "--ros-args", "--params-file", str(params), *overrides],
            env=env,
            stdout=open(Path(logs.name) / f"{name}.log", "w"),
            stderr=subprocess.STDOUT,
        )
        for name in ("robot_bridge", "policy_node")
    ]
    node = rclpy.create_node("bench_jitter")
    arrivals: list[float] = []
    node.create_subscription(JointState, "joint_commands", lambda m: arrivals.append(time.perf_counter()), qos.COMMAND)
    for name in ("robot_bridge", "policy_node"):
        for transition in (Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE):
            client = node.create_client(ChangeState, f"/{name}/change_state")
            client.wait_for_service(timeout_sec=20)
            future = client.call_async(ChangeState.Request(transition=Transition(id=transition)))
            rclpy.spin_until_future_complete(node, future, timeout_sec=20)
    end = time.time() + ticks * 0.02 + 10
    while len(arrivals) < ticks and time.time() < end:
        rclpy.spin_once(node, timeout_sec=0.01)
    node.destroy_node()
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
    return np.diff(arrivals) * 1e3


def cli_jitter(ticks: int) -> np.ndarray:
    from failforward.config import BrokerConfig, LoopConfig, SafetyConfig, SimAlohaConfig
    from failforward.control.assembly import assemble_loop
    from failforward.policy.hold import HoldPolicy
    from failforward.robots.sim_aloha import SimAlohaDriver
    from failforward.types import TickRecord, TickSubscriber

    starts: list[float] = []

    class Stamp(TickSubscriber):
        def on_tick(self, tick: TickRecord) -> None:
            starts.append(time.perf_counter())

    config = SimAlohaConfig(cameras=("left_wrist",), image_height=32, image_width=32)
    with SimAlohaDriver(config) as robot:
        timing = LoopConfig(max_steps=ticks, realtime=True, stop_on_success=False)
        loop = assemble_loop(
            robot,
            HoldPolicy(),
            loop=timing,
            safety=SafetyConfig(),
            broker=BrokerConfig(),
            prompt="hold",
            subscribers=[Stamp()],
        )
        loop.run_episode(0, seed=0)
    return np.diff(starts) * 1e3


def describe(intervals: np.ndarray) -> str:
    return (
        f"period {intervals.mean():7.3f} ms, jitter std {intervals.std():6.3f} ms, "
        f"p99 |error| {np.percentile(np.abs(intervals - 20.0), 99):6.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--ticks", type=int, default=500)
    args = parser.parse_args()
    env = ros_env()
    import rclpy

    rclpy.init()
    try:
        print(f"{'topic':22s} {'sent Hz':>8s} {'recv Hz':>8s} {'msgs':>6s} {'lat p50 ms':>11s} {'lat p99 ms':>11s}")
        for name, row in topic_rates(args.seconds, env).items():
            print(
                f"{name:22s} {row['sent_hz']:8.1f} {row['rate_hz']:8.1f} {row['received']:6d} "
                f"{row['latency_p50_ms']:11.2f} {row['latency_p99_ms']:11.2f}"
            )
        graph = graph_jitter(args.ticks, env)
    finally:
        rclpy.shutdown()
    cli = cli_jitter(args.ticks)
    print(f"\n50 Hz real-time loop, {args.ticks} ticks")
    print(f"  node graph (bridge + policy node): {describe(graph)}")
    print(f"  plain CLI loop (one process):      {describe(cli)}")
    print(f"  jitter std ratio graph / CLI: {graph.std() / cli.std():.1f}x")


if __name__ == "__main__":
    main()
