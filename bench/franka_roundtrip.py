"""Franka command round trip through franky against franky-sim (MuJoCo FR3 on loopback).

Run: ./run python bench/franka_roundtrip.py [--ticks 100]

Measures, side by side in one run: connecting; one driver tick (``get_observation`` + an
asynchronous ``JointMotion`` to a target 1 mrad away, which replaces the running motion); the
observation alone; and a blocking 0.1 rad joint move at relative dynamics factor 0.2 and 0.5.
franky-sim runs in its own process on a random 127.x.y.z address and is stopped with SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import random
import select
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from failforward.config import FrankaConfig
from failforward.robots.franka import FrankaDriver
from failforward.types import JointCommand

ROOT = Path(__file__).resolve().parents[1]


def start_sim(host: str) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-c",
        "from franky_sim.run_server import main; main()",
        "--simulator",
        "mujoco",
        "--hostname",
        host,
    ]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready and "Connect to the server" in process.stdout.readline():
            return process
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError("franky-sim did not start within 60 s")


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values):7.2f} ms   max {max(values):7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=100)
    args = parser.parse_args()
    host = f"127.{random.randint(1, 250)}.{random.randint(0, 255)}.{random.randint(1, 250)}"
    sim = start_sim(host)
    try:
        config = FrankaConfig(
            host=host,
            realtime="ignore",
            relative_dynamics_factor=0.2,
            calibration_dir=ROOT / "calibration/franka/fr3_sim",
        )
        robot = FrankaDriver(config)
        started = time.perf_counter()
        robot.connect()
        connect = (time.perf_counter() - started) * 1e3
        q = robot.get_observation().joint_positions
        observe, tick = [], []
        for k in range(args.ticks):
            started = time.perf_counter()
            robot.get_observation()
            observe.append((time.perf_counter() - started) * 1e3)
            target = q.copy()
            target[0] += 1e-3 * (k % 2)
            started = time.perf_counter()
            robot.get_observation()
            robot.send_action(JointCommand(0.0, target))
            tick.append((time.perf_counter() - started) * 1e3)
            time.sleep(0.02)
        robot.wait_for_motion(5.0)
        moves = {}
        for factor in (0.2, 0.5):
            robot.robot.relative_dynamics_factor = factor
            target = robot.get_observation().joint_positions.copy()
            target[0] += 0.1 if factor == 0.2 else -0.1
            started = time.perf_counter()
            robot.send_action(JointCommand(0.0, target))
            robot.wait_for_motion(10.0)
            moves[factor] = (time.perf_counter() - started) * 1e3
        robot.disconnect()
    finally:
        os.killpg(sim.pid, signal.SIGTERM)
        sim.wait(10)
    print(f"connect                                  {connect:7.2f} ms")
    print(f"get_observation (arm + gripper)          {ms(observe)}")
    print(f"tick: observe + async JointMotion        {ms(tick)}")
    for factor, value in moves.items():
        print(f"blocking 0.1 rad move, dynamics {factor}      {value:7.1f} ms")


if __name__ == "__main__":
    main()
