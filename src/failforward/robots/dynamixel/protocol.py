"""Dynamixel Protocol 2.0 framing: CRC16, byte stuffing, instruction and status packets.

Packet layout (little endian)::

    FF FF FD 00 | ID | LEN_L LEN_H | INST | PARAMS... | CRC_L CRC_H

``LEN`` counts INST, PARAMS and CRC. In a status packet INST is 0x55 and the first parameter
is the error byte (bit 7: hardware alert; bits 0–6: a processing error number).
Byte stuffing: any ``FF FF FD`` inside INST..PARAMS is followed by an extra ``FD``.
Reference: ROBOTIS e-Manual, "Protocol 2.0".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

HEADER = b"\xff\xff\xfd\x00"
BROADCAST_ID = 0xFE
MAX_ID = 0xFC


class Instruction(IntEnum):
    PING = 0x01
    READ = 0x02
    WRITE = 0x03
    REG_WRITE = 0x04
    ACTION = 0x05
    FACTORY_RESET = 0x06
    REBOOT = 0x08
    CLEAR = 0x10
    STATUS = 0x55
    SYNC_READ = 0x82
    SYNC_WRITE = 0x83
    FAST_SYNC_READ = 0x8A
    BULK_READ = 0x92
    BULK_WRITE = 0x93


class ErrorNumber(IntEnum):
    """Processing errors in the low 7 bits of a status packet's error byte."""

    NONE = 0
    RESULT_FAIL = 1
    INSTRUCTION = 2
    CRC = 3
    DATA_RANGE = 4
    DATA_LENGTH = 5
    DATA_LIMIT = 6
    ACCESS = 7


ALERT_BIT = 0x80


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes | bytearray) -> int:
    """CRC-16 (polynomial 0x8005, init 0, no reflection) as used by Protocol 2.0."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) ^ _CRC_TABLE[((crc >> 8) ^ byte) & 0xFF]) & 0xFFFF
    return crc


def stuff(body: bytes) -> bytes:
    """Insert an ``FD`` after every ``FF FF FD`` in ``body`` (INST..PARAMS; the header precedes it)."""
    out = bytearray()
    for byte in body:
        out.append(byte)
        if byte == 0xFD and len(out) >= 3 and out[-3] == 0xFF and out[-2] == 0xFF:
            out.append(0xFD)
    # a pattern can also straddle the header (…FF FF | FD): the header ends in FD 00, so it cannot
    return bytes(out)


def unstuff(body: bytes) -> bytes:
    """Inverse of :func:`stuff`: drop the ``FD`` that follows each ``FF FF FD``."""
    out = bytearray()
    i = 0
    while i < len(body):
        out.append(body[i])
        if body[i] == 0xFD and len(out) >= 3 and out[-3] == 0xFF and out[-2] == 0xFF and i + 1 < len(body):
            if body[i + 1] == 0xFD:
                i += 1
        i += 1
    return bytes(out)


def build_packet(dxl_id: int, instruction: int, params: bytes = b"") -> bytes:
    """Frame one packet: header, id, length, stuffed instruction + params, CRC."""
    body = stuff(bytes([instruction]) + params)
    length = len(body) + 2
    head = HEADER + bytes([dxl_id, length & 0xFF, length >> 8])
    crc = crc16(head + body)
    return head + body + bytes([crc & 0xFF, crc >> 8])


def build_status(dxl_id: int, error: int, params: bytes = b"") -> bytes:
    """A status packet: instruction 0x55, error byte, then ``params``."""
    return build_packet(dxl_id, Instruction.STATUS, bytes([error]) + params)


@dataclass(frozen=True)
class Packet:
    """One parsed (unstuffed) packet. ``crc_ok`` is False when the CRC did not match."""

    dxl_id: int
    instruction: int
    params: bytes
    crc_ok: bool


def take_packet(buffer: bytearray) -> Packet | None:
    """Remove and return the first complete packet in ``buffer``; ``None`` if none is complete yet.

    Bytes before a header are discarded (line noise). The buffer is modified in place.
    """
    start = buffer.find(HEADER)
    if start < 0:
        del buffer[: max(len(buffer) - 3, 0)]
        return None
    del buffer[:start]
    if len(buffer) < 7:
        return None
    length = buffer[5] | (buffer[6] << 8)
    total = 7 + length
    if length < 3 or total > 4096:
        del buffer[:1]  # not a real header: resynchronise on the next one
        return take_packet(buffer)
    if len(buffer) < total:
        return None
    raw = bytes(buffer[:total])
    del buffer[:total]
    crc_ok = crc16(raw[:-2]) == (raw[-2] | (raw[-1] << 8))
    body = unstuff(raw[7:-2])
    return Packet(raw[4], body[0], body[1:], crc_ok)
