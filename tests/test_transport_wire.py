"""The wire format: messages round-trip bit for bit, and every malformed input is refused with its typed code."""

from __future__ import annotations

from dataclasses import replace

import msgpack
import numpy as np
import pytest

import transport_helpers as th
from failforward.policy.base import RtcSupport
from failforward.transport.errors import ErrorCode, WireError
from failforward.transport.fair_queue import FairQueue, QueueLimits
from failforward.transport.messages import (
    PROTOCOL,
    ErrorReply,
    HandshakeReply,
    HandshakeRequest,
    HealthReply,
    HealthRequest,
    InferReply,
    InferRequest,
    decode_reply,
    decode_request,
    encode_reply,
    encode_request,
    request_id_of,
)
from failforward.transport.model_card import CameraSpec, ModelCard
from failforward.transport.wire import WireLimits, count_objects, encode_array, pack
from failforward.types import ActionChunk, ChunkPrefix, Observation

LIMITS = WireLimits()
CAMERAS = (("top", 24, 32), ("left_wrist", 12, 16))


def _request(rng: np.random.Generator) -> InferRequest:
    obs = th.observation(rng, cameras=CAMERAS)
    obs = Observation(obs.timestamp, obs.joint_positions, obs.joint_velocities, obs.images,
                      {"top": rng.random((24, 32), dtype=np.float32)}, obs.object_state)  # fmt: skip
    prefix = ChunkPrefix(rng.normal(size=(7, 14)), delay=3)
    return InferRequest(41, obs, "transfer the cube", rng.normal(size=(50, 14)).astype(np.float32), prefix)


def test_an_infer_request_round_trips_bit_for_bit_with_its_dtypes() -> None:
    request = _request(np.random.default_rng(0))
    decoded = decode_request(encode_request(request), LIMITS)
    assert isinstance(decoded, InferRequest) and decoded.id == 41 and decoded.prompt == request.prompt
    for name in ("joint_positions", "joint_velocities", "object_state"):
        a, b = getattr(request.obs, name), getattr(decoded.obs, name)
        assert a.dtype == b.dtype == np.float64 and a.tobytes() == b.tobytes()
    for name, image in request.obs.images.items():
        assert decoded.obs.images[name].dtype == np.uint8 and decoded.obs.images[name].tobytes() == image.tobytes()
    assert decoded.obs.depth["top"].dtype == np.float32
    assert np.array_equal(decoded.obs.depth["top"], request.obs.depth["top"])
    assert decoded.obs.timestamp == request.obs.timestamp
    assert decoded.noise is not None and request.noise is not None
    assert decoded.noise.dtype == np.float32 and decoded.noise.tobytes() == request.noise.tobytes()
    assert decoded.prefix is not None and decoded.prefix.delay == 3
    assert np.array_equal(decoded.prefix.actions, request.prefix.actions)  # type: ignore[union-attr]


def test_cameras_blanked_on_purpose_travel_and_a_bad_list_is_refused() -> None:
    request = _request(np.random.default_rng(1))
    blanked = InferRequest(request.id, replace(request.obs, blanked=frozenset({"left_wrist"})), "move", None, None)
    assert decode_request(encode_request(blanked), LIMITS).obs.blanked == {"left_wrist"}
    assert decode_request(encode_request(request), LIMITS).obs.blanked == frozenset()
    for bad in ("left_wrist", [1], ["front"]):
        message = _infer_map()
        message["obs"]["blanked"] = bad
        assert _code(pack(message)) in (ErrorCode.BAD_REQUEST, ErrorCode.BAD_ARRAY)


def test_replies_round_trip() -> None:
    card = ModelCard("m", "a" * 64, 14, 21, 50, 50.0, (CameraSpec("top", 96, 128),), RtcSupport("training", 10),
                     {"weights.pt": "b" * 64})  # fmt: skip
    chunk = ActionChunk(np.random.default_rng(1).normal(size=(50, 14)), guidance=np.arange(10.0), source="afil-ort")
    replies = [
        HandshakeReply(1, card),
        InferReply(2, chunk, 0.009, 0.001),
        HealthReply(3, "ok", "m", 12.5, 7, 2, 0),
        ErrorReply(None, ErrorCode.BUSY, "queue full"),
    ]
    for reply in replies:
        decoded = decode_reply(encode_reply(reply), LIMITS)
        if isinstance(reply, InferReply):
            assert isinstance(decoded, InferReply)
            assert decoded.chunk.actions.tobytes() == chunk.actions.tobytes() and decoded.chunk.source == chunk.source
            assert np.array_equal(decoded.chunk.guidance, chunk.guidance) and decoded.infer_s == 0.009
        else:
            assert decoded == reply
    for request in (HandshakeRequest(5), HealthRequest(6)):
        assert decode_request(encode_request(request), LIMITS) == request


def test_a_done_probability_travels_with_its_chunk_and_is_checked() -> None:
    actions = np.zeros((50, 14))
    for done in (None, 0.0, 0.73):
        reply = InferReply(2, ActionChunk(actions, source="afil-ort", done=done), 0.009, 0.001)
        decoded = decode_reply(encode_reply(reply), LIMITS)
        assert isinstance(decoded, InferReply) and decoded.chunk.done == done
    for bad in (1.5, -0.1, float("nan"), "yes"):
        body = msgpack.unpackb(encode_reply(InferReply(2, ActionChunk(actions), 0.0, 0.0)), raw=False)
        with pytest.raises(WireError):
            decode_reply(pack({**body, "done": bad}), LIMITS)


def _infer_map() -> dict:
    return msgpack.unpackb(encode_request(_request(np.random.default_rng(2))), raw=False)


def _code(payload: bytes) -> ErrorCode:
    with pytest.raises(WireError) as info:
        decode_request(payload, LIMITS)
    return info.value.code


def _array(dtype: str, shape: list, data: bytes) -> dict:
    return {"dtype": dtype, "shape": shape, "data": data}


@pytest.mark.parametrize(
    ("array", "why"),
    [
        (_array("float16", [14], bytes(28)), "dtype outside the allow-list"),
        (_array("object", [14], bytes(112)), "object dtype"),
        (_array("float64", [13], bytes(112)), "shape disagrees with the data"),
        (_array("float64", [14, 1], bytes(112)), "wrong number of dimensions"),
        (_array("float64", [-14], bytes(112)), "negative size"),
        (_array("float64", [True], bytes(8)), "a bool as a size"),
        (_array("float64", [1 << 40], bytes(8)), "too many elements"),
        (_array("float64", [14], "x" * 112), "data that is not bytes"),
        (_array("float64", [14], np.full(14, np.nan).tobytes()), "NaN joints"),
    ],
)
def test_bad_arrays_are_refused(array: dict, why: str) -> None:
    message = _infer_map()
    message["obs"]["joint_positions"] = array
    assert _code(pack(message)) is ErrorCode.BAD_ARRAY, why


def test_wrong_keys_types_and_versions_are_refused() -> None:
    for mutate in (
        lambda m: m.pop("prompt"),
        lambda m: m.update(extra=1),
        lambda m: m["obs"].pop("timestamp"),
        lambda m: m.update(prompt=7),
        lambda m: m.update(id=-1),
        lambda m: m.update(type="reboot"),
        lambda m: m["obs"].update(timestamp=float("nan")),
        lambda m: m["obs"].update(images=[1, 2]),
        lambda m: m.update(prefix={"actions": m["noise"], "delay": 99}),
    ):
        message = _infer_map()
        mutate(message)
        assert _code(pack(message)) in (ErrorCode.BAD_REQUEST, ErrorCode.BAD_ARRAY)
    assert _code(pack({**_infer_map(), "v": PROTOCOL + 1})) is ErrorCode.VERSION
    assert request_id_of(pack({**_infer_map(), "v": PROTOCOL + 1}), LIMITS) == 41


@pytest.mark.parametrize(
    "payload",
    [
        b"\x91" * 100_000,  # 100k nested arrays
        b"\xdc\xff\xff" + b"\x90" * 0xFFFF,  # 64k empty arrays: 384 KiB of Python objects from 64 KiB
        b"\xdd\xff\xff\xff\xff",  # array header claiming 2^32 - 1 elements
        b"\xdf\xff\xff\xff\xff" + b"\xa1a" * 8,  # map header claiming 2^32 - 1 pairs
        b"\xc6\xff\xff\xff\xff" + b"\x00" * 16,  # bin header claiming 4 GiB
        b"\xdb\x7f\xff\xff\xff" + b"a" * 16,  # str header claiming 2 GiB
        b"\xc7\x05\x01" + b"x" * 5,  # ext type (the hook a pickle-based format would use)
        b"\xd6\xff\x00\x00\x00\x00",  # msgpack timestamp ext
        b"\x81\x01\x02",  # int map key
        b"\x81\xa1\xff\x01",  # invalid UTF-8 in a key
        b"\x82\xa1v\x01",  # truncated map
        b"",
    ],
)
def test_msgpack_bombs_and_garbage_are_malformed(payload: bytes) -> None:
    assert _code(payload) is ErrorCode.MALFORMED


def test_oversized_messages_are_refused_before_decoding() -> None:
    small = WireLimits(max_message_bytes=1000)
    with pytest.raises(WireError) as info:
        decode_request(b"\x91" * 1001, small)  # would be malformed too, but is refused by size first
    assert info.value.code is ErrorCode.TOO_LARGE
    assert small.socket_max_bytes > small.max_message_bytes


def test_only_allow_listed_dtypes_are_sent() -> None:
    with pytest.raises(WireError):
        encode_array(np.zeros(3, dtype=np.complex128))
    big_endian = np.arange(4, dtype=">f8")
    array = encode_array(big_endian)
    assert array["dtype"] == "float64" and bytes(array["data"]) == np.arange(4, dtype="<f8").tobytes()


def test_the_queue_is_fifo_per_client_and_round_robin_across_clients() -> None:
    queue: FairQueue[str] = FairQueue(QueueLimits(max_items=6, max_bytes=100, max_per_client=3))
    for item in ("a1", "a2", "a3"):
        assert queue.push(b"a", item, 10)
    assert not queue.push(b"a", "a4", 10)  # per-client bound
    assert queue.push(b"b", "b1", 10) and queue.push(b"c", "c1", 10)
    assert not queue.push(b"d", "d1", 80)  # byte bound
    assert queue.push(b"b", "b2", 10)
    assert not queue.push(b"e", "e1", 1)  # item bound
    order = [queue.pop() for _ in range(len(queue))]
    assert [item for _, item in order] == ["a1", "b1", "c1", "a2", "b2", "a3"]  # type: ignore[misc]
    assert queue.pop() is None and len(queue) == 0


def _objects(value: object) -> int:
    if isinstance(value, list):
        return 1 + sum(_objects(v) for v in value)
    if isinstance(value, dict):
        return 1 + sum(_objects(k) + _objects(v) for k, v in value.items())
    return 1


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        0,
        -1,
        2**64 - 1,
        -(2**63),
        1.5,
        "x" * 40,
        "y" * 300,
        "z" * 70_000,
        b"b" * 300,
        b"c" * 70_000,
        None,
        True,
        [1, [2, [3, {"a": [None]}]]],
        {"k": {"l": list(range(20))}},
        list(range(70_000)),
        {str(i): i for i in range(70_000)},
        msgpack.ExtType(5, b"abc"),
        msgpack.ExtType(5, b"x" * 17),
        msgpack.ExtType(1, b"ab" * 4),
    ],
)
def test_the_header_scan_counts_what_msgpack_decodes(value: object) -> None:
    payload = msgpack.packb(value, use_bin_type=True)
    assert count_objects(payload, 1 << 20) == _objects(value)
    with pytest.raises(WireError):
        count_objects(payload + b"\x00", 1 << 20)  # trailing bytes
    if len(payload) > 1:
        with pytest.raises(WireError):
            count_objects(payload[:-1], 1 << 20)  # truncated
