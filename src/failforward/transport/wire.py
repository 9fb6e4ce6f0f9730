"""The wire format: one msgpack map per ZeroMQ message, numpy arrays as raw little-endian buffers.

An array travels as ``{"dtype": "float64", "shape": [H, A], "data": <bin: C-contiguous bytes>}``; only the
dtypes in :data:`DTYPES` are allowed, and a reader names the dtypes and the number of dimensions each field may
have. Nothing is ever unpickled: msgpack decodes with ``raw=False``, ``strict_map_key=True``, no ext types
(``max_ext_len=0``) and bounded lengths (:class:`WireLimits`), and the message size is checked before decoding
(the server's socket also drops peers sending more than ``max_message_bytes`` + :data:`FRAME_SLACK`, ZeroMQ's
``MAXMSGSIZE``). Decoding is schema-directed: every map must have exactly the keys its reader asks for.

Example:
    >>> limits = WireLimits()
    >>> payload = pack({"q": encode_array(np.zeros(14))})
    >>> read_array(Fields(unpack(payload, limits), "msg", limits), "q", {"float64"}, ndim=1).shape
    (14,)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import msgpack  # type: ignore[import-untyped]  # ships no type information
import numpy as np

from failforward.transport.errors import ErrorCode, WireError

DTYPES: dict[str, np.dtype] = {
    "float64": np.dtype("<f8"),
    "float32": np.dtype("<f4"),
    "uint8": np.dtype("u1"),
}
"""Wire name → little-endian dtype: the only element types an array may have."""
_NAMES = {dtype: name for name, dtype in DTYPES.items()}

FRAME_SLACK = 64 << 10
"""[bytes] ZeroMQ's ``MAXMSGSIZE`` is ``max_message_bytes`` plus this, so that a message slightly over the limit
gets a typed ``too_large`` reply, while a far larger one makes ZeroMQ drop the sender without buffering it."""


@dataclass(frozen=True)
class WireLimits:
    """Bounds on what a peer may send; anything beyond them is refused before it is used.

    Attributes:
        max_message_bytes: [bytes] largest message (three 480x640 RGB images are 2.8 MB; the default is 16 MiB).
        max_array_elements: largest number of elements in one array.
        max_str_len: [characters] longest string (prompts, names, error messages).
        max_container_len: longest msgpack array or map (shapes, camera maps, message maps).
        max_ndim: most dimensions an array may have.
        max_objects: most msgpack objects in a message over ``scan_above_bytes``, counted by a scan of its headers
            before decoding (16 MiB of one-byte empty containers would otherwise decode to ~1 GiB of Python
            objects). A smaller message holds at most as many objects as bytes, so it is not scanned.
        scan_above_bytes: [bytes] messages larger than this are scanned.
    """

    max_message_bytes: int = 16 << 20
    max_array_elements: int = 1 << 24
    max_str_len: int = 4096
    max_container_len: int = 64
    max_ndim: int = 4
    max_objects: int = 1024
    scan_above_bytes: int = 64 << 10

    @property
    def socket_max_bytes(self) -> int:
        """ZeroMQ ``MAXMSGSIZE`` [bytes]: peers sending more are disconnected by ZeroMQ itself."""
        return self.max_message_bytes + FRAME_SLACK


DEFAULT_LIMITS = WireLimits()


def pack(message: Mapping[str, Any]) -> bytes:
    """Encode a message map (str keys; int, float, str, bytes, bool, None, lists and maps of them)."""
    return msgpack.packb(message, use_bin_type=True)


def unpack(payload: bytes, limits: WireLimits) -> Any:
    """Decode one message, refusing oversized input before decoding and anything msgpack refuses
    (depth, lengths, ext types, non-str map keys, invalid UTF-8) with a :class:`WireError`."""
    if len(payload) > limits.max_message_bytes:
        raise WireError(
            ErrorCode.TOO_LARGE,
            f"message of {len(payload)} bytes is over the {limits.max_message_bytes}-byte limit; send smaller "
            "images or raise max_message_bytes on both sides",
        )
    if len(payload) > limits.scan_above_bytes:
        count_objects(payload, limits.max_objects)
    try:
        return msgpack.unpackb(
            payload,
            raw=False,
            strict_map_key=True,
            use_list=True,
            max_str_len=limits.max_str_len,
            max_bin_len=limits.max_message_bytes,
            max_array_len=limits.max_container_len,
            max_map_len=limits.max_container_len,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises ValueError/TypeError/StackError/...: all mean malformed input
        raise WireError(ErrorCode.MALFORMED, f"not a valid message: {type(exc).__name__}: {exc}"[:300]) from None


# msgpack header byte → (bytes of length field, fixed bytes after it), for every type but fix* and containers
_SIZED = {0xC4: (1, 0), 0xC5: (2, 0), 0xC6: (4, 0), 0xD9: (1, 0), 0xDA: (2, 0), 0xDB: (4, 0),
          0xC7: (1, 1), 0xC8: (2, 1), 0xC9: (4, 1)}  # fmt: skip  # bin, str, ext (+ its type byte)
_FIXED = {0xC0: 0, 0xC2: 0, 0xC3: 0, 0xCA: 4, 0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2,
          0xD2: 4, 0xD3: 8, 0xD4: 2, 0xD5: 3, 0xD6: 5, 0xD7: 9, 0xD8: 17}  # fmt: skip
_CONTAINERS = {0xDC: (2, 1), 0xDD: (4, 1), 0xDE: (2, 2), 0xDF: (4, 2)}  # length bytes, objects per entry


def count_objects(payload: bytes, limit: int) -> int:
    """Walk the msgpack headers of ``payload`` without building anything; the number of objects it holds.

    Raises ``malformed`` past ``limit`` objects, on a truncated stream, on trailing bytes or the unused byte 0xc1.
    """
    pos, pending, count, end = 0, 1, 0, len(payload)
    while pending:
        if count >= limit or pos >= end:
            problem = f"more than {limit} objects" if count >= limit else "truncated"
            raise WireError(ErrorCode.MALFORMED, f"not a valid message: {problem}")
        byte, pos, pending, count = payload[pos], pos + 1, pending - 1, count + 1
        if byte <= 0x7F or byte >= 0xE0:
            continue
        if byte <= 0x9F:  # fixmap, fixarray
            pending += (byte & 0x0F) * (2 if byte <= 0x8F else 1)
        elif byte <= 0xBF:  # fixstr
            pos += byte & 0x1F
        elif byte in _FIXED:
            pos += _FIXED[byte]
        elif byte in _SIZED:
            width, extra = _SIZED[byte]
            pos += width + extra + int.from_bytes(payload[pos : pos + width], "big")
        elif byte in _CONTAINERS:
            width, per_entry = _CONTAINERS[byte]
            pending += per_entry * int.from_bytes(payload[pos : pos + width], "big")
            pos += width
        else:  # 0xc1: never used
            raise WireError(ErrorCode.MALFORMED, "not a valid message: reserved byte 0xc1")
    if pos != end:
        raise WireError(ErrorCode.MALFORMED, f"not a valid message: {'truncated' if pos > end else 'trailing bytes'}")
    return count


def encode_array(array: np.ndarray) -> dict[str, Any]:
    """An array as a wire map: its dtype name, shape and C-contiguous little-endian bytes."""
    name = _NAMES.get(array.dtype) or np.dtype(array.dtype).name  # the lookup: ``dtype.name`` is slow in numpy 2
    if name not in DTYPES:
        raise WireError(ErrorCode.BAD_ARRAY, f"dtype {name} cannot be sent; allowed: {sorted(DTYPES)}")
    data = np.ascontiguousarray(array, dtype=DTYPES[name])
    return {"dtype": name, "shape": list(data.shape), "data": data.reshape(-1).view(np.uint8).data}


class Fields:
    """A decoded msgpack map checked to have exactly the expected keys, with typed accessors.

    Args:
        value: the decoded value (must be a map).
        where: its path in the message, for error messages (``"infer.obs"``).
        limits: bounds for arrays and strings.
    """

    def __init__(self, value: Any, where: str, limits: WireLimits) -> None:
        if not isinstance(value, dict):
            raise WireError(ErrorCode.BAD_REQUEST, f"{where} must be a map, got {type(value).__name__}")
        self.value, self.where, self.limits = value, where, limits

    def expect_keys(self, required: Collection[str], optional: Collection[str] = ()) -> Fields:
        """Raise unless every ``required`` key is present and no key outside ``required`` + ``optional`` is."""
        keys = set(self.value)
        missing, unknown = set(required) - keys, keys - set(required) - set(optional)
        if missing or unknown:
            raise WireError(
                ErrorCode.BAD_REQUEST,
                f"{self.where}: missing keys {sorted(missing)}, unknown keys {sorted(map(str, unknown))}; "
                f"expected {sorted(required)}",
            )
        return self

    def raw(self, key: str) -> Any:
        return self.value.get(key)

    def sub(self, key: str) -> Fields:
        return Fields(self.value.get(key), f"{self.where}.{key}", self.limits)

    def integer(self, key: str, lo: int, hi: int) -> int:
        value = self.value.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise WireError(ErrorCode.BAD_REQUEST, f"{self.where}.{key} must be an integer in [{lo}, {hi}]")
        return value

    def number(self, key: str) -> float:
        """A finite float (ints accepted)."""
        value = self.value.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise WireError(ErrorCode.BAD_REQUEST, f"{self.where}.{key} must be a finite number")
        return float(value)

    def text(self, key: str) -> str:
        value = self.value.get(key)
        if not isinstance(value, str):
            raise WireError(ErrorCode.BAD_REQUEST, f"{self.where}.{key} must be a string")
        return value

    def names(self, key: str) -> dict[str, Any]:
        """A map from str names to values (camera name → array map)."""
        value = self.value.get(key)
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise WireError(ErrorCode.BAD_REQUEST, f"{self.where}.{key} must be a map with string keys")
        return value


def read_array(fields: Fields, key: str, dtypes: Collection[str], ndim: int) -> np.ndarray:
    """The array at ``fields[key]``: one of ``dtypes``, exactly ``ndim`` dimensions, data matching its shape.

    Returns a read-only view onto the message's bytes (no copy).
    """
    return decode_array(fields.raw(key), f"{fields.where}.{key}", dtypes, ndim, fields.limits)


def decode_array(value: Any, where: str, dtypes: Collection[str], ndim: int, limits: WireLimits) -> np.ndarray:
    """Check and view one wire array (see :func:`read_array`)."""
    spec = Fields(value, where, limits).expect_keys(("dtype", "shape", "data"))
    name, shape, data = spec.raw("dtype"), spec.raw("shape"), spec.raw("data")
    if not isinstance(name, str) or name not in dtypes:
        raise WireError(
            ErrorCode.BAD_ARRAY, f"{where}: dtype {name!r} is not allowed here; use one of {sorted(dtypes)}"
        )
    if not isinstance(shape, list) or len(shape) != ndim or ndim > limits.max_ndim:
        raise WireError(ErrorCode.BAD_ARRAY, f"{where}: shape must be a list of {ndim} sizes, got {shape!r}"[:200])
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= limits.max_array_elements for n in shape):
        raise WireError(ErrorCode.BAD_ARRAY, f"{where}: sizes must be integers in [0, {limits.max_array_elements}]")
    count, dtype = math.prod(shape), DTYPES[name]
    if count > limits.max_array_elements:
        raise WireError(ErrorCode.BAD_ARRAY, f"{where}: {count} elements, at most {limits.max_array_elements}")
    if not isinstance(data, bytes) or len(data) != count * dtype.itemsize:
        got = f"{len(data)} bytes" if isinstance(data, bytes) else type(data).__name__
        raise WireError(ErrorCode.BAD_ARRAY, f"{where}: {name} {shape} needs {count * dtype.itemsize} bytes, got {got}")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def require_finite(array: np.ndarray, where: str) -> np.ndarray:
    """``array`` if every value is finite, else a ``bad_array`` :class:`WireError`."""
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise WireError(ErrorCode.BAD_ARRAY, f"{where} holds NaN or infinite values")
    return array
