"""Measure an ALOHA arm's gripper range and joint offsets interactively, and write them to its calibration.

Run (one arm at a time; torque is switched off so the arm can be moved by hand)::

    failforward-calibrate-aloha --arm follower_left --port /dev/ttyDXL_puppet_left \
        --calibration calibration/aloha/<id> [--offsets]

Steps: close the gripper fully, press Enter; open it fully, press Enter; with ``--offsets``, put the
arm in the model's zero pose (all joints at 0 rad, as in the simulated ALOHA) and press Enter. The
measured values replace those of ``--arm`` in ``calibration.json`` (validated before writing) and a
dated line is appended to ``CHANGELOG.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from failforward.calibration import CALIBRATION_FILE, AlohaCalibration, ArmCalibration, load_calibration
from failforward.errors import ConfigError
from failforward.robots.dynamixel import control_table as ct
from failforward.robots.dynamixel.bus import DynamixelBus

logger = logging.getLogger(__name__)
ARMS = ("follower_left", "follower_right", "leader_left", "leader_right")


def _motor_rad(bus: DynamixelBus, dxl_id: int) -> float:
    return ct.ticks_to_rad(bus.read(dxl_id, ct.PRESENT_POSITION))


def measure_arm(
    bus: DynamixelBus, arm: ArmCalibration, prompt: Callable[[str], object], offsets: bool
) -> ArmCalibration:
    """Torque off, ask the operator for the poses, return the arm calibration with the measured values."""
    for motor in [m for j in arm.joints for m in j.motors] + [arm.gripper.motor]:
        bus.write(motor.id, ct.TORQUE_ENABLE, 0)
    grip = arm.gripper.motor
    prompt("Close the gripper fully, then press Enter. ")
    closed = grip.sign * (_motor_rad(bus, grip.id) - grip.offset_rad)
    prompt("Open the gripper fully, then press Enter. ")
    opened = grip.sign * (_motor_rad(bus, grip.id) - grip.offset_rad)
    data = arm.model_dump()
    data["gripper"] |= {"closed_rad": round(closed, 4), "open_rad": round(opened, 4)}
    if offsets:
        prompt("Put every joint at the model's zero pose (0 rad), then press Enter. ")
        for joint in data["joints"]:
            for motor in joint["motors"]:
                motor["offset_rad"] = round(_motor_rad(bus, motor["id"]), 4)  # q = 0 → offset = motor angle
    return ArmCalibration.model_validate(data)


def write_arm(directory: Path, arm_name: str, arm: ArmCalibration, note: str) -> None:
    """Replace one arm in ``directory/calibration.json`` (after validating the whole file) and log the change."""
    path = directory / CALIBRATION_FILE
    data = json.loads(path.read_text())
    data[arm_name] = arm.model_dump(mode="json")
    AlohaCalibration.model_validate(data)
    path.write_text(json.dumps(data, indent=2) + "\n")
    with (directory / "CHANGELOG.md").open("a") as changelog:
        changelog.write(f"- {datetime.date.today().isoformat()}: {arm_name}: {note}\n")


def main(argv: Sequence[str] | None = None, prompt: Callable[[str], object] = input) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arm", choices=ARMS, required=True)
    parser.add_argument("--port", required=True, help="serial port of that arm (or an emulator pty)")
    parser.add_argument("--calibration", type=Path, required=True, help="calibration/aloha/<id> directory")
    parser.add_argument("--baudrate", type=int, default=1_000_000)
    parser.add_argument("--offsets", action="store_true", help="also measure joint offsets at the zero pose")
    args = parser.parse_args(argv)
    calibration = load_calibration(args.calibration)
    if not isinstance(calibration, AlohaCalibration) or getattr(calibration, args.arm) is None:
        raise ConfigError(f"{args.calibration} has no ALOHA arm {args.arm!r}.")
    bus = DynamixelBus(args.arm, args.port, args.baudrate)
    bus.open()
    try:
        arm = measure_arm(bus, getattr(calibration, args.arm), prompt, args.offsets)
    finally:
        bus.close()
    note = (
        f"gripper closed {arm.gripper.closed_rad} rad, open {arm.gripper.open_rad} rad"
        + (", joint offsets at the zero pose" if args.offsets else "")
        + " (measured with robots.aloha.measure)"
    )
    write_arm(args.calibration, args.arm, arm, note)
    logger.info("wrote %s", args.calibration / CALIBRATION_FILE)
    print(f"{args.arm}: {note}")  # the CLI reports to the operator


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
