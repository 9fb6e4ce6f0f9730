"""One ALOHA control cycle over Dynamixel Protocol 2.0 against the emulator, at 1 and 4 Mbps wire time.

Run: ./run python bench/aloha_cycle.py [--cycles 300]

A cycle is what a teleoperated ALOHA does every tick on its four buses (two followers, two
leaders, 9 motors each): one SYNC_READ of present current, velocity and position (10 bytes per
motor) and one SYNC_WRITE of goal positions, through the real ``dynamixel-sdk``. The emulator adds
the wire time of every byte at the emulated baud rate (return delay 0, as the driver configures).
Both rates are measured side by side in one run, since these machines are noisy; the wire time the
bus alone needs is printed next to the measurement. A second table times the full ``AlohaDriver``
tick (observation + command, two followers; plus the leaders' read in teleoperation).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from failforward.config import AlohaConfig
from failforward.robots.aloha import AlohaDriver
from failforward.robots.dynamixel import control_table as ct
from failforward.robots.dynamixel.bus import DynamixelBus
from failforward.robots.dynamixel.emulator import DynamixelEmulator, aloha_buses, aloha_port_settings
from failforward.types import JointCommand

IDS = tuple(range(1, 10))
ROOT = Path(__file__).resolve().parents[1]


def wire_ms(baudrate: int) -> float:
    """Bus time [ms] of one cycle on one bus: sync read instruction + 9 status packets + sync write."""
    read = 14 + len(IDS) + len(IDS) * (11 + ct.STATE_BLOCK_SIZE)
    write = 14 + len(IDS) * (1 + ct.GOAL_POSITION.size)
    return (read + write) * 10 / baudrate * 1e3


def raw_cycles(emulator: DynamixelEmulator, baudrate: int, cycles: int) -> list[float]:
    """[ms] per cycle of sync read + sync write on all four buses."""
    buses = [DynamixelBus(name, path, baudrate) for name, path in emulator.ports.items()]
    for bus in buses:
        bus.open()
        for dxl_id in IDS:
            bus.write(dxl_id, ct.RETURN_DELAY_TIME, 0)
    goals = {i: 2048 for i in IDS}
    times = []
    for _ in range(cycles):
        start = time.perf_counter()
        for bus in buses:
            bus.sync_read(ct.STATE_BLOCK_ADDRESS, ct.STATE_BLOCK_SIZE, IDS)
            bus.sync_write(ct.GOAL_POSITION, goals)
        times.append((time.perf_counter() - start) * 1e3)
    for bus in buses:
        bus.close()
    return times


def driver_ticks(emulator: DynamixelEmulator, baudrate: int, cycles: int) -> list[float]:
    """[ms] per teleoperation tick of the driver: read leaders, observe followers, command followers."""
    config = AlohaConfig(
        calibration_dir=ROOT / "calibration/aloha/default",
        baudrate=baudrate,
        homing_speed=3.0,
        **aloha_port_settings(emulator),
    )
    times = []
    with AlohaDriver(config) as robot:
        robot.send_action(JointCommand(0.0, robot.get_observation().joint_positions))
        for _ in range(cycles):
            start = time.perf_counter()
            leaders = robot.read_leaders()
            robot.get_observation()
            robot.send_action(JointCommand(0.0, leaders))
            times.append((time.perf_counter() - start) * 1e3)
    return times


def summary(times: list[float]) -> str:
    ordered = np.sort(times)
    return (
        f"{statistics.median(times):7.2f} {ordered[int(0.9 * len(ordered))]:7.2f} "
        f"{ordered[int(0.99 * len(ordered))]:7.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300)
    args = parser.parse_args()
    rates = (1_000_000, 4_000_000)
    print("four buses x 9 motors; times in ms: median p90 p99")
    print(f"{'':34s}" + "".join(f"{r // 1_000_000} Mbps (median p90 p99)".rjust(30) for r in rates))
    rows: dict[str, list[str]] = {
        "wire time alone (model)": [],
        "sync read + sync write, 4 buses": [],
        "AlohaDriver teleop tick": [],
    }
    for rate in rates:
        with DynamixelEmulator(aloha_buses(rate)) as emulator:
            rows["wire time alone (model)"].append(f"{4 * wire_ms(rate):7.2f}")
            rows["sync read + sync write, 4 buses"].append(summary(raw_cycles(emulator, rate, args.cycles)))
            rows["AlohaDriver teleop tick"].append(summary(driver_ticks(emulator, rate, args.cycles // 3)))
    for name, cells in rows.items():
        print(f"{name:34s}" + "".join(c.rjust(30) for c in cells))


if __name__ == "__main__":
    main()
