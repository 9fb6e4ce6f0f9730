"""A Dynamixel Protocol 2.0 emulator in its own process, one pseudo-terminal per bus.

The real ``dynamixel-sdk`` opens the pty's path as if it were a U2D2 serial port. Faults are
injected at run time through the child's stdin/stdout (JSON lines; each command is answered before
the call returns). The child stops when its stdin closes, so it never outlives its parent.

Example (Python)::

    from failforward.robots.dynamixel.emulator import DynamixelEmulator, aloha_buses
    with DynamixelEmulator(aloha_buses(baudrate=1_000_000)) as emu:
        port = emu.port("follower_left")      # e.g. /dev/pts/5
        emu.hardware_error("follower_left", 4, HardwareError.OVERLOAD)

Example (shell; serves until Ctrl-D/EOF and prints one ``{"ports": ...}`` JSON line)::

    python -m failforward.robots.dynamixel.emulator --baudrate 4000000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
import tty
import weakref
from collections.abc import Iterable, Sequence
from typing import IO, Any

from failforward.errors import DriverError
from failforward.robots.dynamixel import control_table as ct
from failforward.robots.dynamixel.bus_server import BusServer, BusSpec
from failforward.robots.dynamixel.motor import MotorSpec

logger = logging.getLogger(__name__)

ALOHA_BUSES = ("follower_left", "follower_right", "leader_left", "leader_right")


def viperx_motors(start_positions: Sequence[float] | None = None) -> tuple[MotorSpec, ...]:
    """The 9 motors of one ViperX 300 S arm: ids 1–7 XM540-W270 (shoulder, elbow doubled), 8–9 XM430-W350.

    ``start_positions``: 9 initial positions [ticks] (default: all at the centre, 2048).
    """
    models = ["XM540-W270"] * 7 + ["XM430-W350"] * 2
    starts = list(start_positions) if start_positions is not None else [2048.0] * 9
    return tuple(MotorSpec(i + 1, models[i], starts[i]) for i in range(9))


def aloha_buses(
    baudrate: int = 1_000_000, names: Iterable[str] = ALOHA_BUSES, *, wire_time: bool = True, tau: float = 0.05
) -> tuple[BusSpec, ...]:
    """One 9-motor bus per arm of an ALOHA cell."""
    return tuple(BusSpec(n, viperx_motors(), baudrate, wire_time, tau) for n in names)


def aloha_port_settings(emulator: DynamixelEmulator) -> dict[str, str]:
    """``AlohaConfig`` port fields for the emulator's buses: ``AlohaConfig(**aloha_port_settings(emu))``."""
    return {f"{bus}_port": path for bus, path in emulator.ports.items() if bus in ALOHA_BUSES}


# ---------------------------------------------------------------------- child process
class _Serving:
    """The child's event loop: ptys ↔ bus servers, pending replies, control commands on stdin."""

    def __init__(self, specs: Sequence[BusSpec], control_in: IO[str], control_out: IO[str]) -> None:
        self.control_in, self.control_out = control_in, control_out
        self.servers = {s.name: BusServer(s) for s in specs}
        self.masters: dict[int, str] = {}
        self.slaves: dict[str, int] = {}
        self.paths: dict[str, str] = {}
        self.pending: list[tuple[float, int, bytes]] = []  # (reply_at, master fd, data)
        for name in self.servers:
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self.masters[master], self.slaves[name], self.paths[name] = name, slave, os.ttyname(slave)
        self.running = True

    def _reply(self, message: dict[str, Any]) -> None:
        self.control_out.write(json.dumps(message) + "\n")
        self.control_out.flush()

    def run(self) -> None:
        self._reply({"ports": self.paths})
        control_fd = self.control_in.fileno()
        while self.running:
            readable, _, _ = select.select([*self.masters, control_fd], [], [], self._next_timeout())
            now = time.monotonic()
            for fd in readable:
                if fd == control_fd:
                    self._command()
                else:
                    self._receive(fd, now)
            self._flush_due()

    def _next_timeout(self) -> float | None:
        if not self.pending:
            return None
        return max(min(t for t, _, _ in self.pending) - time.monotonic() - 2e-4, 0.0)

    def _receive(self, fd: int, now: float) -> None:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EAGAIN, or EIO while no client has the port open
            return
        for reply_at, reply in self.servers[self.masters[fd]].feed(data, now):
            self.pending.append((reply_at, fd, reply))

    def _flush_due(self) -> None:
        while self.pending:
            self.pending.sort(key=lambda item: item[0])
            reply_at, fd, data = self.pending[0]
            if reply_at - time.monotonic() > 5e-4:
                return  # the select timeout brings us back
            while time.monotonic() < reply_at:  # spin the last few hundred µs for timing accuracy
                pass
            self.pending.pop(0)
            self._write_all(fd, data)

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                select.select([], [fd], [], 0.01)

    def _command(self) -> None:
        line = self.control_in.readline()
        if not line:  # the parent closed our stdin (or died): stop
            self.running = False
            return
        request = json.loads(line)
        try:
            result = getattr(self, f"cmd_{request['cmd']}")(*request.get("args", []))
            self._reply({"ok": result})
        except Exception as exc:  # report to the parent, keep serving
            self._reply({"error": f"{type(exc).__name__}: {exc}"})

    # commands (sent by DynamixelEmulator) ------------------------------------------------
    def cmd_stop(self) -> None:
        self.running = False

    def cmd_unplug(self, bus: str, dxl_id: int, unplugged: bool) -> None:
        faults = self.servers[bus].faults
        if unplugged:
            faults.unplugged.add(dxl_id)
        else:
            faults.unplugged.discard(dxl_id)

    def cmd_corrupt(self, bus: str, dxl_id: int, count: int) -> None:
        self.servers[bus].faults.corrupt[dxl_id] = count

    def cmd_hardware_error(self, bus: str, dxl_id: int, bits: int) -> None:
        self.servers[bus].motors[dxl_id].raise_hardware_error(bits, time.monotonic())

    def cmd_extra_delay(self, bus: str, seconds: float) -> None:
        self.servers[bus].faults.extra_delay = seconds

    def cmd_baudrate(self, bus: str, baudrate: int) -> None:
        self.servers[bus].baudrate = baudrate

    def cmd_stall(self, bus: str, dxl_id: int, tick: float | None) -> None:
        self.servers[bus].motors[dxl_id].stall_at = tick

    def cmd_move(self, bus: str, dxl_id: int, tick: float) -> None:
        motor = self.servers[bus].motors[dxl_id]
        motor.advance(time.monotonic())
        motor.position = float(tick)
        motor.advance(time.monotonic())

    def cmd_state(self, bus: str, dxl_id: int) -> dict[str, Any]:
        motor = self.servers[bus].motors[dxl_id]
        motor.advance(time.monotonic())
        return {r.name: motor.get(r) for r in ct.REGISTERS} | {"position_exact": motor.position}

    def cmd_packets(self, bus: str) -> int:
        return self.servers[bus].packets_handled

    def close(self) -> None:
        for fd in [*self.masters, *self.slaves.values()]:
            try:
                os.close(fd)
            except OSError as exc:
                logger.warning("could not close emulator fd %d: %s", fd, exc)


def _specs_to_json(specs: Sequence[BusSpec]) -> str:
    return json.dumps([dataclasses.asdict(s) for s in specs])


def _specs_from_json(text: str) -> tuple[BusSpec, ...]:
    specs = []
    for raw in json.loads(text):
        motors = tuple(MotorSpec(**m) for m in raw.pop("motors"))
        specs.append(BusSpec(motors=motors, **raw))
    return tuple(specs)


# ---------------------------------------------------------------------- parent handle
class DynamixelEmulator:
    """Starts the emulator process, hands out port paths, injects faults, stops it (context manager)."""

    def __init__(self, buses: Sequence[BusSpec], start_timeout: float = 20.0) -> None:
        self.buses = tuple(buses)
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[str] | None = None
        self._paths: dict[str, str] = {}
        self._finalizer: weakref.finalize | None = None

    def start(self) -> DynamixelEmulator:
        cmd = [sys.executable, "-m", "failforward.robots.dynamixel.emulator", "--specs", _specs_to_json(self.buses)]
        self._process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._finalizer = weakref.finalize(self, _stop_process, self._process)
        self._paths = self._receive(self.start_timeout, "start")["ports"]
        return self

    def _receive(self, timeout: float, what: str) -> dict[str, Any]:
        process = self._process
        if process is None or process.stdout is None:
            raise DriverError("The emulator is not running: use it as a context manager or call start().")
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else ""
        if not line:
            self.close()
            raise DriverError(f"The Dynamixel emulator did not answer {what!r} within {timeout} s; see its stderr.")
        return json.loads(line)

    def port(self, bus: str) -> str:
        """The pty path of ``bus`` (give it to the driver as the serial port)."""
        return self._paths[bus]

    @property
    def ports(self) -> dict[str, str]:
        return dict(self._paths)

    def _call(self, name: str, *args: Any) -> Any:
        if self._process is None or self._process.stdin is None:
            raise DriverError("The emulator is not running: use it as a context manager or call start().")
        self._process.stdin.write(json.dumps({"cmd": name, "args": list(args)}) + "\n")
        self._process.stdin.flush()
        answer = self._receive(10.0, name)
        if "error" in answer:
            raise DriverError(f"Emulator command {name}{args} failed: {answer['error']}")
        return answer["ok"]

    # fault injection ------------------------------------------------------------------
    def unplug(self, bus: str, dxl_id: int) -> None:
        """Motor ``dxl_id`` stops answering (cable pulled)."""
        self._call("unplug", bus, dxl_id, True)

    def replug(self, bus: str, dxl_id: int) -> None:
        """Motor ``dxl_id`` answers again."""
        self._call("unplug", bus, dxl_id, False)

    def corrupt_crc(self, bus: str, dxl_id: int, count: int = -1) -> None:
        """Corrupt the CRC of the next ``count`` replies of ``dxl_id`` (-1: all of them, 0: stop)."""
        self._call("corrupt", bus, dxl_id, count)

    def hardware_error(self, bus: str, dxl_id: int, bits: int) -> None:
        """Latch Hardware Error Status ``bits`` (e.g. ``HardwareError.OVERLOAD``); torque drops as in firmware."""
        self._call("hardware_error", bus, dxl_id, int(bits))

    def slow_bus(self, bus: str, extra_delay: float) -> None:
        """Add ``extra_delay`` [s] to every reply on ``bus`` (a noisy or overloaded bus)."""
        self._call("extra_delay", bus, extra_delay)

    def set_baudrate(self, bus: str, baudrate: int) -> None:
        """Change the emulated wire speed [bit/s] of ``bus``."""
        self._call("baudrate", bus, baudrate)

    def stall(self, bus: str, dxl_id: int, tick: float | None) -> None:
        """Block the motor's motion at ``tick`` (an object in the gripper); ``None`` frees it."""
        self._call("stall", bus, dxl_id, tick)

    def move_by_hand(self, bus: str, dxl_id: int, tick: float) -> None:
        """Put a motor at ``tick`` (a leader arm moved by the operator)."""
        self._call("move", bus, dxl_id, tick)

    def motor_state(self, bus: str, dxl_id: int) -> dict[str, Any]:
        """All modelled registers of one motor by name, plus ``position_exact`` [ticks]."""
        return self._call("state", bus, dxl_id)

    def packets_handled(self, bus: str) -> int:
        """Instruction packets the bus has parsed so far."""
        return self._call("packets", bus)

    def close(self) -> None:
        """Stop the process (EOF on its stdin, then SIGTERM, then SIGKILL). Idempotent."""
        if self._finalizer is not None:
            self._finalizer()
        self._process = None

    def __enter__(self) -> DynamixelEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stop_process(process: subprocess.Popen[str]) -> None:
    for stream in (process.stdin, process.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError as exc:
            logger.warning("closing the emulator's pipe failed: %s", exc)
    try:
        process.wait(2.0)
    except subprocess.TimeoutExpired:
        logger.warning("Dynamixel emulator pid %d did not stop on EOF; terminating it", process.pid)
        process.terminate()
        try:
            process.wait(2.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(2.0)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve buses on ptys until stdin closes; the first stdout line is ``{"ports": {bus: path}}``."""
    parser = argparse.ArgumentParser(description="Dynamixel Protocol 2.0 emulator on pseudo-terminals.")
    parser.add_argument("--baudrate", type=int, default=1_000_000, help="emulated wire speed [bit/s]")
    parser.add_argument("--buses", nargs="+", default=list(ALOHA_BUSES), help="ALOHA bus names to serve")
    parser.add_argument("--specs", help="JSON list of BusSpec (overrides --baudrate/--buses)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent (or EOF) decides when we stop
    specs = _specs_from_json(args.specs) if args.specs else aloha_buses(args.baudrate, args.buses)
    serving = _Serving(specs, sys.stdin, sys.stdout)
    try:
        serving.run()
    finally:
        serving.close()


if __name__ == "__main__":
    main()
