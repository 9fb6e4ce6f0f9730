"""The emulated half-duplex bus: parses instruction packets, answers as the motors would, on time.

Timing model (per transaction, ``b`` the baud rate, 10 bit times per byte)::

    reply_at = t_received + (len(instruction) + Σ len(status_i)) · 10 / b + Σ return_delay_i + extra_delay

Every motor that answers a SYNC_READ or broadcast PING adds its own return delay (Return Delay
Time, address 9, in 2 µs units) and status packet. ``wire_time=False`` answers immediately.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from failforward.robots.dynamixel import control_table as ct
from failforward.robots.dynamixel.motor import EmulatedMotor, MotorSpec
from failforward.robots.dynamixel.protocol import (
    BROADCAST_ID,
    ErrorNumber,
    Instruction,
    Packet,
    build_status,
    take_packet,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BusSpec:
    """One serial bus: its ``name``, the motors on it, the emulated ``baudrate`` [bit/s].

    ``wire_time`` emulates transmission and return-delay time; ``tau`` is the motors' time constant [s].
    """

    name: str
    motors: tuple[MotorSpec, ...]
    baudrate: int = 1_000_000
    wire_time: bool = True
    tau: float = 0.05


@dataclass
class BusFaults:
    """Injected faults: ids that do not answer, ids whose replies get a bad CRC, extra reply delay [s]."""

    unplugged: set[int] = field(default_factory=set)
    corrupt: dict[int, int] = field(default_factory=dict)  # id -> replies left to corrupt (-1: all)
    extra_delay: float = 0.0


class BusServer:
    """Protocol logic of one bus, independent of the pty (unit-testable in process)."""

    def __init__(self, spec: BusSpec) -> None:
        now = time.monotonic()
        self.spec = spec
        self.baudrate = spec.baudrate
        self.motors = {m.dxl_id: EmulatedMotor(m, now, spec.tau) for m in spec.motors}
        self.faults = BusFaults()
        self.buffer = bytearray()
        self.packets_handled = 0

    def feed(self, data: bytes, now: float) -> list[tuple[float, bytes]]:
        """Consume received bytes; return ``(reply_at, bytes)`` for each reply due."""
        self.buffer.extend(data)
        replies = []
        while (packet := take_packet(self.buffer)) is not None:
            self.packets_handled += 1
            answer = self.handle(packet, now)
            if answer:
                delay = self._wire_delay(packet, answer)
                replies.append((now + delay, b"".join(answer)))
        return replies

    def _wire_delay(self, packet: Packet, answer: list[bytes]) -> float:
        if not self.spec.wire_time:
            return self.faults.extra_delay
        n_bytes = 10 + len(packet.params) + sum(len(a) for a in answer)
        delay_units = sum(self._return_delay(a) for a in answer)
        return n_bytes * 10.0 / self.baudrate + delay_units * 2e-6 + self.faults.extra_delay

    def _return_delay(self, status: bytes) -> int:
        motor = self.motors.get(status[4])
        return motor.get(ct.RETURN_DELAY_TIME) if motor else 0

    # ------------------------------------------------------------------ dispatch
    def _present(self, dxl_id: int) -> EmulatedMotor | None:
        return None if dxl_id in self.faults.unplugged else self.motors.get(dxl_id)

    def handle(self, packet: Packet, now: float) -> list[bytes]:
        """Status packets the bus carries back for one instruction packet (possibly none)."""
        if packet.dxl_id != BROADCAST_ID and self._present(packet.dxl_id) is None:
            return []
        if not packet.crc_ok:
            return [] if packet.dxl_id == BROADCAST_ID else [self._status(packet.dxl_id, ErrorNumber.CRC)]
        handlers: dict[int, Callable[[Packet, float], list[bytes]]] = {
            Instruction.PING: self._ping,
            Instruction.READ: self._read,
            Instruction.WRITE: self._write,
            Instruction.REBOOT: self._reboot,
            Instruction.SYNC_READ: self._sync_read,
            Instruction.SYNC_WRITE: self._sync_write,
        }
        handler = handlers.get(packet.instruction)
        if handler is None:
            return [] if packet.dxl_id == BROADCAST_ID else [self._status(packet.dxl_id, ErrorNumber.INSTRUCTION)]
        return handler(packet, now)

    def _status(self, dxl_id: int, error: int, params: bytes = b"") -> bytes:
        motor = self.motors[dxl_id]
        packet = build_status(dxl_id, error | motor.status_error(), params)
        left = self.faults.corrupt.get(dxl_id, 0)
        if left:
            self.faults.corrupt[dxl_id] = left - 1 if left > 0 else -1
            packet = packet[:-1] + bytes([packet[-1] ^ 0xFF])
        return packet

    def _ping(self, packet: Packet, now: float) -> list[bytes]:
        ids = sorted(self.motors) if packet.dxl_id == BROADCAST_ID else [packet.dxl_id]
        replies = []
        for dxl_id in ids:
            if self._present(dxl_id) is not None:
                motor = self.motors[dxl_id]
                info = ct.encode(motor.get(ct.MODEL_NUMBER), 2) + ct.encode(motor.get(ct.FIRMWARE_VERSION), 1)
                replies.append(self._status(dxl_id, ErrorNumber.NONE, info))
        return replies

    def _read(self, packet: Packet, now: float) -> list[bytes]:
        if len(packet.params) != 4 or packet.dxl_id == BROADCAST_ID:
            return [] if packet.dxl_id == BROADCAST_ID else [self._status(packet.dxl_id, ErrorNumber.DATA_LENGTH)]
        address, length = ct.decode(packet.params[:2], False), ct.decode(packet.params[2:4], False)
        error, data = self.motors[packet.dxl_id].read(address, length, now)
        return [self._status(packet.dxl_id, error, data)]

    def _write(self, packet: Packet, now: float) -> list[bytes]:
        address, data = ct.decode(packet.params[:2], False), packet.params[2:]
        ids = [i for i in self.motors if self._present(i)] if packet.dxl_id == BROADCAST_ID else [packet.dxl_id]
        errors = {i: self.motors[i].write(address, data, now) for i in ids}
        if packet.dxl_id == BROADCAST_ID:
            return []
        return [self._status(packet.dxl_id, errors[packet.dxl_id])]

    def _reboot(self, packet: Packet, now: float) -> list[bytes]:
        ids = [i for i in self.motors if self._present(i)] if packet.dxl_id == BROADCAST_ID else [packet.dxl_id]
        replies = [] if packet.dxl_id == BROADCAST_ID else [build_status(packet.dxl_id, 0)]
        for dxl_id in ids:
            self.motors[dxl_id].advance(now)
            self.motors[dxl_id].reboot_ram()
        return replies

    def _sync_read(self, packet: Packet, now: float) -> list[bytes]:
        address, length = ct.decode(packet.params[:2], False), ct.decode(packet.params[2:4], False)
        replies = []
        for dxl_id in packet.params[4:]:
            if self._present(dxl_id) is not None:
                error, data = self.motors[dxl_id].read(address, length, now)
                replies.append(self._status(dxl_id, error, data))
        return replies

    def _sync_write(self, packet: Packet, now: float) -> list[bytes]:
        address, length = ct.decode(packet.params[:2], False), ct.decode(packet.params[2:4], False)
        body = packet.params[4:]
        for start in range(0, len(body) - length, length + 1):
            dxl_id, data = body[start], body[start + 1 : start + 1 + length]
            if self._present(dxl_id) is not None and len(data) == length:
                self.motors[dxl_id].write(address, data, now)
        return []
