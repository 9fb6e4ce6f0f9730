"""The real dynamixel-sdk talks to the emulator: instructions, control table, dynamics, wire time, faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import dynamixel_sdk as sdk
import pytest

from failforward.robots.dynamixel import control_table as ct
from failforward.robots.dynamixel.bus_server import BusServer, BusSpec
from failforward.robots.dynamixel.emulator import DynamixelEmulator, viperx_motors
from failforward.robots.dynamixel.protocol import ALERT_BIT, BROADCAST_ID, ErrorNumber, Instruction, build_packet

IDS = tuple(range(1, 10))


@pytest.fixture
def bus() -> Iterator[tuple[DynamixelEmulator, sdk.PortHandler, sdk.PacketHandler]]:
    with DynamixelEmulator([BusSpec("arm", viperx_motors(), 1_000_000)]) as emu:
        port = sdk.PortHandler(emu.port("arm"))
        assert port.openPort() and port.setBaudRate(1_000_000)
        try:
            yield emu, port, sdk.PacketHandler(2.0)
        finally:
            port.closePort()


def test_ping_and_broadcast_ping_report_the_models(bus) -> None:
    _, port, ph = bus
    assert ph.ping(port, 1) == (ct.XM540_W270.model_number, sdk.COMM_SUCCESS, 0)
    found, result = ph.broadcastPing(port)
    assert result == sdk.COMM_SUCCESS
    assert sorted(found) == list(IDS)
    assert found[9][0] == ct.XM430_W350.model_number


def test_eeprom_needs_torque_off_and_read_only_registers_refuse(bus) -> None:
    _, port, ph = bus
    assert ph.write1ByteTxRx(port, 2, ct.TORQUE_ENABLE.address, 1) == (sdk.COMM_SUCCESS, 0)
    assert ph.write1ByteTxRx(port, 2, ct.OPERATING_MODE.address, 5) == (sdk.COMM_SUCCESS, ErrorNumber.ACCESS)
    assert ph.write1ByteTxRx(port, 2, ct.TORQUE_ENABLE.address, 0) == (sdk.COMM_SUCCESS, 0)
    assert ph.write1ByteTxRx(port, 2, ct.OPERATING_MODE.address, 5) == (sdk.COMM_SUCCESS, 0)
    assert ph.read1ByteTxRx(port, 2, ct.OPERATING_MODE.address) == (5, sdk.COMM_SUCCESS, 0)
    assert ph.write4ByteTxRx(port, 2, ct.PRESENT_POSITION.address, 7)[1] == ErrorNumber.ACCESS


def test_sync_write_moves_motors_with_first_order_lag_and_sync_read_sees_it(bus) -> None:
    emu, port, ph = bus
    for dxl_id in IDS:
        ph.write1ByteTxRx(port, dxl_id, ct.TORQUE_ENABLE.address, 1)
    writer = sdk.GroupSyncWrite(port, ph, ct.GOAL_POSITION.address, 4)
    for dxl_id in IDS:
        writer.addParam(dxl_id, list(ct.encode(2048 + 100 * dxl_id, 4)))
    assert writer.txPacket() == sdk.COMM_SUCCESS
    reader = sdk.GroupSyncRead(port, ph, ct.PRESENT_POSITION.address, 4)
    for dxl_id in IDS:
        reader.addParam(dxl_id)
    assert reader.txRxPacket() == sdk.COMM_SUCCESS
    early = [reader.getData(i, ct.PRESENT_POSITION.address, 4) - 2048 for i in IDS]
    time.sleep(0.4)  # 8 time constants of 50 ms
    assert reader.txRxPacket() == sdk.COMM_SUCCESS
    late = [reader.getData(i, ct.PRESENT_POSITION.address, 4) - 2048 for i in IDS]
    assert all(0 <= e < 100 * i for e, i in zip(early, IDS, strict=True)), early  # not there instantly
    assert late == pytest.approx([100 * i for i in IDS], abs=2)
    assert emu.motor_state("arm", 5)["goal_position"] == 2548


def test_reboot_clears_a_hardware_error_and_leaves_torque_off(bus) -> None:
    emu, port, ph = bus
    ph.write1ByteTxRx(port, 4, ct.TORQUE_ENABLE.address, 1)
    emu.hardware_error("arm", 4, ct.HardwareError.OVERLOAD)
    value, result, error = ph.read1ByteTxRx(port, 4, ct.HARDWARE_ERROR_STATUS.address)
    assert (value, result) == (ct.HardwareError.OVERLOAD, sdk.COMM_SUCCESS) and error & ALERT_BIT
    assert ph.read1ByteTxRx(port, 4, ct.TORQUE_ENABLE.address)[0] == 0  # overload is in the Shutdown mask
    assert ph.write1ByteTxRx(port, 4, ct.TORQUE_ENABLE.address, 1)[1] & 0x7F == ErrorNumber.RESULT_FAIL
    assert ph.reboot(port, 4) == (sdk.COMM_SUCCESS, 0)
    assert ph.read1ByteTxRx(port, 4, ct.HARDWARE_ERROR_STATUS.address) == (0, sdk.COMM_SUCCESS, 0)


def test_unplugged_motor_times_out_and_corrupt_crc_is_detected(bus) -> None:
    emu, port, ph = bus
    emu.unplug("arm", 3)
    started = time.monotonic()
    assert ph.ping(port, 3)[1] == sdk.COMM_RX_TIMEOUT
    assert time.monotonic() - started < 0.2
    emu.replug("arm", 3)
    emu.corrupt_crc("arm", 3, count=1)
    assert ph.ping(port, 3)[1] == sdk.COMM_RX_CORRUPT
    assert ph.ping(port, 3)[1] == sdk.COMM_SUCCESS


def _sync_read_time(port: sdk.PortHandler, ph: sdk.PacketHandler, repeats: int = 30) -> float:
    reader = sdk.GroupSyncRead(port, ph, ct.STATE_BLOCK_ADDRESS, ct.STATE_BLOCK_SIZE)
    for dxl_id in IDS:
        reader.addParam(dxl_id)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        assert reader.txRxPacket() == sdk.COMM_SUCCESS
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def test_wire_time_follows_baud_rate_return_delay_and_slow_bus() -> None:
    """The emulated delay of a sync read (exact, computed by the bus): bytes × 10 / baud rate + the return delays +
    a slow bus's extra delay."""
    server = BusServer(BusSpec("arm", viperx_motors(), 1_000_000))
    params = ct.encode(ct.STATE_BLOCK_ADDRESS, 2) + ct.encode(ct.STATE_BLOCK_SIZE, 2) + bytes(IDS)
    packet = build_packet(BROADCAST_ID, Instruction.SYNC_READ, params)

    def delay() -> float:
        replies = server.feed(packet, now=0.0)
        assert len(replies) == 1
        return replies[0][0]

    wire_bytes = 10 + len(params) + 9 * (11 + ct.STATE_BLOCK_SIZE)  # instruction + 9 status packets
    at_1m = delay()
    server.baudrate = 4_000_000
    at_4m = delay()
    assert at_1m - at_4m == pytest.approx(wire_bytes * 10 * (1 / 1e6 - 1 / 4e6), rel=1e-9)
    for motor in server.motors.values():
        motor.write(ct.RETURN_DELAY_TIME.address, bytes([0]), now=0.0)
    assert delay() == pytest.approx(wire_bytes * 10 / 4e6, rel=1e-9)  # no return delay left: the wire alone
    server.faults.extra_delay = 0.005
    assert delay() == pytest.approx(wire_bytes * 10 / 4e6 + 0.005, rel=1e-9)


def test_the_sdk_waits_at_least_the_wire_time(bus) -> None:
    """Through the pty, with the real SDK: lower bounds only (a loaded machine adds latency, never removes wire time;
    the exact delays are the bus's, tested above)."""
    emu, port, ph = bus
    for dxl_id in IDS:
        ph.write1ByteTxRx(port, dxl_id, ct.RETURN_DELAY_TIME.address, 0)
    wire_bytes = 10 + 4 + 9 + 9 * (11 + ct.STATE_BLOCK_SIZE)  # instruction + 9 status packets
    assert _sync_read_time(port, ph) > wire_bytes * 10 / 1e6
    emu.set_baudrate("arm", 4_000_000)
    assert _sync_read_time(port, ph) > wire_bytes * 10 / 4e6
    emu.slow_bus("arm", 0.005)
    assert _sync_read_time(port, ph, 5) > wire_bytes * 10 / 4e6 + 0.005
