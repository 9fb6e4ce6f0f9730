"""Protocol 2.0 framing agrees with dynamixel-sdk's own CRC and byte stuffing."""

from __future__ import annotations

import dynamixel_sdk as sdk
from hypothesis import given, settings
from hypothesis import strategies as st

from failforward.robots.dynamixel.protocol import Instruction, build_packet, crc16, stuff, take_packet, unstuff

HANDLER = sdk.PacketHandler(2.0)


@given(st.binary(max_size=64))
def test_crc_matches_the_sdk(data: bytes) -> None:
    assert crc16(data) == HANDLER.updateCRC(0, list(data), len(data))


@settings(max_examples=200)
@given(st.lists(st.sampled_from([0xFF, 0xFD, 0x00, 0x12]), max_size=40))
def test_stuffing_round_trips_and_leaves_no_header_inside(body: list[int]) -> None:
    stuffed = stuff(bytes(body))
    assert unstuff(stuffed) == bytes(body)
    # FF FF FD inside the body is always followed by the stuffing FD
    for i in range(len(stuffed) - 3):
        if stuffed[i : i + 3] == b"\xff\xff\xfd":
            assert stuffed[i + 3] == 0xFD


@given(st.integers(0, 252), st.binary(max_size=30))
def test_packets_built_by_the_sdk_parse(dxl_id: int, params: bytes) -> None:
    length = len(params) + 3
    tx = [0, 0, 0, 0, dxl_id, length & 0xFF, length >> 8, Instruction.WRITE, *params, 0, 0]
    HANDLER.addStuffing(tx)  # what txPacket does before adding header and CRC
    total = (tx[5] | tx[6] << 8) + 7
    tx[0:4] = [0xFF, 0xFF, 0xFD, 0x00]
    crc = HANDLER.updateCRC(0, tx, total - 2)
    tx[total - 2 : total] = [crc & 0xFF, crc >> 8]
    buffer = bytearray(b"\x00\x13" + bytes(tx[:total]))  # line noise before the header is skipped
    packet = take_packet(buffer)
    assert packet is not None and packet.crc_ok
    assert (packet.dxl_id, packet.instruction, packet.params) == (dxl_id, Instruction.WRITE, params)
    assert not buffer


def test_our_packets_parse_back_and_bad_crc_is_flagged() -> None:
    raw = bytearray(build_packet(3, Instruction.READ, b"\xff\xff\xfd\x04"))
    assert take_packet(bytearray(raw)).params == b"\xff\xff\xfd\x04"
    raw[-1] ^= 0xFF
    assert not take_packet(raw).crc_ok


def test_incomplete_packet_waits_for_more_bytes() -> None:
    raw = build_packet(1, Instruction.PING)
    buffer = bytearray(raw[:-1])
    assert take_packet(buffer) is None
    buffer.extend(raw[-1:])
    assert take_packet(buffer).instruction == Instruction.PING
