"""A Dynamixel bus client over ``dynamixel-sdk``: typed errors, retries, sync read/write with status bytes.

Example (against the emulator; a real U2D2 port works the same)::

    bus = DynamixelBus("follower_left", "/dev/ttyDXL_puppet_left", 1_000_000)
    bus.open()
    data, alerts = bus.sync_read(ct.STATE_BLOCK_ADDRESS, ct.STATE_BLOCK_SIZE, (1, 2, 4))
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import dynamixel_sdk as sdk
import serial

from failforward.errors import DriverError
from failforward.robots.dynamixel import control_table as ct
from failforward.robots.dynamixel.errors import MotorCommunicationError
from failforward.robots.dynamixel.protocol import ALERT_BIT, ErrorNumber

logger = logging.getLogger(__name__)
PROTOCOL_VERSION = 2.0


class _StatusSyncRead(sdk.GroupSyncRead):
    """GroupSyncRead that keeps each motor's status error byte (the SDK drops it) and the failing id."""

    def __init__(self, port: sdk.PortHandler, handler: sdk.PacketHandler, address: int, size: int) -> None:
        super().__init__(port, handler, address, size)
        self.errors: dict[int, int] = {}
        self.failed_id: int | None = None

    def rxPacket(self) -> int:  # noqa: N802 - the SDK's name
        self.last_result, self.errors, self.failed_id = False, {}, None
        result = sdk.COMM_NOT_AVAILABLE
        for dxl_id in self.data_dict:
            data, result, error = self.ph.readRx(self.port, dxl_id, self.data_length)
            self.data_dict[dxl_id], self.errors[dxl_id] = data, error
            if result != sdk.COMM_SUCCESS:
                self.failed_id = dxl_id
                return result
        self.last_result = True
        return result


class DynamixelBus:
    """One serial port (one arm). ``retries`` extra attempts follow a timeout or a bad CRC."""

    def __init__(self, name: str, port: str, baudrate: int, retries: int = 2) -> None:
        self.name, self.port_name, self.baudrate, self.retries = name, port, baudrate, retries
        self._port: sdk.PortHandler | None = None
        self._handler = sdk.PacketHandler(PROTOCOL_VERSION)
        self._reads: dict[tuple[int, int, tuple[int, ...]], _StatusSyncRead] = {}

    # ------------------------------------------------------------------ lifecycle
    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> None:
        """Open the serial port at ``baudrate``; raises ``DriverError`` naming the port on failure."""
        port = sdk.PortHandler(self.port_name)
        try:
            opened = port.openPort() and port.setBaudRate(self.baudrate)
        except (serial.SerialException, OSError) as exc:
            raise DriverError(
                f"Cannot open Dynamixel bus {self.name} at {self.port_name}: {exc}. Check the USB cable and the "
                "udev symlink, that your user is in the dialout group, or point the config at the emulator's pty."
            ) from exc
        if not opened:
            raise DriverError(f"Bus {self.name}: baud rate {self.baudrate} is not supported by dynamixel-sdk.")
        self._port = port

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.closePort()
            except (serial.SerialException, OSError) as exc:
                logger.warning("closing bus %s failed: %s", self.name, exc)
            self._port, self._reads = None, {}

    @property
    def port(self) -> sdk.PortHandler:
        if self._port is None:
            raise DriverError(f"Bus {self.name} is not open; call open() first.")
        return self._port

    # ------------------------------------------------------------------ single motors
    def ping_missing(self, ids: Iterable[int]) -> tuple[int, ...]:
        """The ids among ``ids`` that do not answer a PING (after retries)."""
        missing = []
        for dxl_id in ids:
            if not any(self._handler.ping(self.port, dxl_id)[1] == sdk.COMM_SUCCESS for _ in range(self.retries + 1)):
                missing.append(dxl_id)
        return tuple(missing)

    def read(self, dxl_id: int, register: ct.Register) -> int:
        """Read one register of one motor (retrying transient failures)."""
        reader = {1: self._handler.read1ByteTxRx, 2: self._handler.read2ByteTxRx, 4: self._handler.read4ByteTxRx}
        for _ in range(self.retries + 1):
            value, result, error = reader[register.size](self.port, dxl_id, register.address)
            if result == sdk.COMM_SUCCESS:
                self._check_error(dxl_id, register, error)
                data = ct.encode(value, register.size)
                return ct.decode(data, register.signed)
        raise self._comm_error(result, (dxl_id,), f"reading {register.name}")

    def write(self, dxl_id: int, register: ct.Register, value: int) -> None:
        """Write one register of one motor and check its status packet."""
        writer = {1: self._handler.write1ByteTxRx, 2: self._handler.write2ByteTxRx, 4: self._handler.write4ByteTxRx}
        raw = ct.decode(ct.encode(value, register.size), signed=False)
        for _ in range(self.retries + 1):
            result, error = writer[register.size](self.port, dxl_id, register.address, raw)
            if result == sdk.COMM_SUCCESS:
                self._check_error(dxl_id, register, error)
                return
        raise self._comm_error(result, (dxl_id,), f"writing {register.name}")

    def reboot(self, dxl_id: int) -> None:
        """REBOOT one motor: clears its hardware error; torque comes back off."""
        for _ in range(self.retries + 1):
            result, _ = self._handler.reboot(self.port, dxl_id)
            if result == sdk.COMM_SUCCESS:
                return
        raise self._comm_error(result, (dxl_id,), "rebooting")

    def _check_error(self, dxl_id: int, register: ct.Register, error: int) -> None:
        number = error & ~ALERT_BIT
        if number == ErrorNumber.ACCESS and register.address < ct.EEPROM_END:
            raise DriverError(f"Bus {self.name} id {dxl_id}: {register.name} is EEPROM; disable torque first.")
        if number:
            raise DriverError(
                f"Bus {self.name} id {dxl_id}: motor refused {register.name} "
                f"({ErrorNumber(number).name}); check the value and the motor's mode."
            )

    # ------------------------------------------------------------------ groups
    def sync_read(self, address: int, size: int, ids: Sequence[int]) -> tuple[dict[int, bytes], dict[int, int]]:
        """SYNC_READ ``size`` bytes at ``address`` from ``ids``: (data per id, status error byte per id)."""
        key = (address, size, tuple(ids))
        group = self._reads.get(key)
        if group is None:
            group = self._reads[key] = _StatusSyncRead(self.port, self._handler, address, size)
            for dxl_id in ids:
                group.addParam(dxl_id)
        for _ in range(self.retries + 1):
            result = group.txRxPacket()
            if result == sdk.COMM_SUCCESS:
                return {i: bytes(group.data_dict[i]) for i in ids}, dict(group.errors)
            logger.debug(
                "bus %s sync read failed at id %s: %s", self.name, group.failed_id, self._handler.getTxRxResult(result)
            )
        failed = (group.failed_id,) if group.failed_id is not None else tuple(ids)
        raise self._comm_error(result, failed, "sync-reading the joint state")

    def sync_write(self, register: ct.Register, values: dict[int, int]) -> None:
        """SYNC_WRITE one register to several motors in one packet (no replies on the bus)."""
        group = sdk.GroupSyncWrite(self.port, self._handler, register.address, register.size)
        for dxl_id, value in values.items():
            group.addParam(dxl_id, list(ct.encode(value, register.size)))
        result = group.txPacket()
        if result != sdk.COMM_SUCCESS:
            raise self._comm_error(result, tuple(values), f"sync-writing {register.name}")

    def _comm_error(self, result: int, ids: tuple[int, ...], doing: str) -> MotorCommunicationError:
        what = self._handler.getTxRxResult(result)
        if result == sdk.COMM_RX_CORRUPT:
            hint = "replies arrive corrupted (bad CRC): check the cable, the termination and the baud rate"
        else:
            hint = "the motor does not answer: check its cable and power, and that the baud rate matches"
        return MotorCommunicationError(
            f"Bus {self.name} ({self.port_name}), motor id(s) {list(ids)}: {doing} failed after "
            f"{self.retries + 1} attempts: {what}. {hint[0].upper() + hint[1:]}; then call recover().",
            self.name,
            ids,
        )
