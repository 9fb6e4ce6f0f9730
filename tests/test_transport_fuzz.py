"""Fuzzing a running policy server: random bytes, truncated and bit-flipped messages, wrong keys, types, dtypes and
shapes, msgpack bombs, oversized and multi-frame messages. The server never crashes, its memory stays bounded,
and every reply is a typed reply (an error with its code, for everything that is not a valid request).

5 000 messages by default; ``-m slow`` sends 100 000.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import numpy as np
import pytest
import zmq

import transport_helpers as th
from failforward.testing.policy_server import ServerProcess
from failforward.transport.messages import (
    ErrorReply,
    HandshakeRequest,
    HealthReply,
    HealthRequest,
    InferRequest,
    decode_reply,
    encode_request,
)
from failforward.transport.wire import WireLimits

MAX_BYTES = 256 << 10  # the fuzzed server's message limit (small, so oversized messages are cheap to send)
CLIENT_LIMITS = WireLimits()
CAMERA = ("top", 12, 16)
ALWAYS_ERRORS = {"random_bytes", "truncated", "bomb", "too_large", "frames", "wrong_dtype", "wrong_shape"}
VALUES: list[Any] = [None, True, -1, 2**63, 1.5, float("nan"), "text", b"bin", [], {}, [[[]]], {"a": {"b": 1}}]
DTYPES: list[Any] = ["float16", "int64", "object", "<f8", "complex128", "", 5, None, "U8", "bool"]
SHAPES: list[Any] = [[-1], [1 << 40], [1, 2, 3, 4, 5], [], [0], ["a"], [1.5], None, [3, -3], [True], {}]
FRAMES = [[b"", b""], [b"x", b"y"], [b"", b"x", b"y", b"z", b"w"], [b"", b"\x80"]]  # only the last is valid
BOMBS = [
    b"\x91" * 50_000,
    b"\xdd\xff\xff\xff\xff",
    b"\xdf\xff\xff\xff\xff" + b"\xa1a\x00" * 100,
    b"\xc6\xff\xff\xff\xff" + b"\x00" * 64,
    b"\xdb\xff\xff\xff\xff" + b"a" * 64,
    b"\xdc\xff\xff" + b"\x90" * 0xFFFF,
    b"\x81\xa1v" + b"\x81\xa1v" * 5000 + b"\x01",
    b"\xc7\x10\x01" + b"\x80" * 16,
    b"\xd8\x00" + bytes(range(16)),
    b"\xc1",
]


class Fuzzer:
    """Seeded generator of (category, frames) pairs built from valid requests."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        nprng = np.random.default_rng(seed)
        obs = th.observation(nprng, cameras=(CAMERA,))
        self.valid = [
            encode_request(HandshakeRequest(1)),
            encode_request(HealthRequest(2)),
            encode_request(InferRequest(3, obs, "pick", nprng.normal(size=(50, 14)), None)),
        ]
        self.generators: dict[str, Callable[[], list[bytes]]] = {
            "valid": lambda: [self.rng.choice(self.valid)],
            "random_bytes": lambda: [self.rng.randbytes(self.rng.randint(0, 600))],
            "truncated": lambda: [(m := self.rng.choice(self.valid))[: self.rng.randrange(len(m))]],
            "bitflip": self._bitflip,
            "wrong_keys": lambda: self._mutate(self._keys),
            "wrong_type": lambda: self._mutate(self._type),
            "wrong_dtype": lambda: self._mutate_array("dtype", DTYPES),
            "wrong_shape": lambda: self._mutate_array("shape", SHAPES),
            "bomb": lambda: [self.rng.choice(BOMBS)],
            "too_large": lambda: [self.valid[2] + b"\x00" * (MAX_BYTES + self.rng.randint(1, 9999))],
            "frames": lambda: self.rng.choice(FRAMES),
        }
        self.weights = {"too_large": 0.2, "bomb": 0.5}

    def __call__(self, count: int) -> Iterator[tuple[str, list[bytes]]]:
        names = list(self.generators)
        weights = [self.weights.get(name, 1.0) for name in names]
        for _ in range(count):
            name = self.rng.choices(names, weights)[0]
            yield name, self.generators[name]()

    def _bitflip(self) -> list[bytes]:
        message = bytearray(self.rng.choice(self.valid))
        for _ in range(self.rng.randint(1, 8)):
            message[self.rng.randrange(len(message))] = self.rng.getrandbits(8)
        return [bytes(message)]

    def _mutate(self, change: Callable[[dict], None]) -> list[bytes]:
        message = msgpack.unpackb(self.rng.choice(self.valid), raw=False)
        maps = list(_maps(message))
        change(self.rng.choice(maps))
        return [msgpack.packb(message, use_bin_type=True)]

    def _keys(self, node: dict) -> None:
        key = self.rng.choice(list(node) or ["v"])
        action = self.rng.randrange(3)
        if action == 0:
            node.pop(key, None)
        elif action == 1:
            node[f"{key}_"] = node.pop(key, None)
        else:
            node[self.rng.choice(["extra", "__class__", "pickle", key.upper()])] = self.rng.choice(VALUES)

    def _type(self, node: dict) -> None:
        if node:
            node[self.rng.choice(list(node))] = self.rng.choice(VALUES)

    def _mutate_array(self, field: str, choices: list[Any]) -> list[bytes]:
        message = msgpack.unpackb(self.valid[2], raw=False)
        arrays = [m for m in _maps(message) if set(m) == {"dtype", "shape", "data"}]
        self.rng.choice(arrays)[field] = self.rng.choice(choices)
        return [msgpack.packb(message, use_bin_type=True)]


def _maps(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _maps(value)


def _fuzz(count: int, seed: int) -> None:
    name, height, width = CAMERA
    extra = ("--objects", "1", f"--camera={name}:{width}x{height}", "--max-message-bytes", str(MAX_BYTES))
    context = zmq.Context()
    try:
        with ServerProcess.echo(*extra) as server:
            sock = context.socket(zmq.DEALER)
            sock.connect(server.endpoint)
            codes, growth = _send_all(sock, server, Fuzzer(seed)(count), baseline_at=min(1000, count // 10))
            _far_oversized_senders_are_dropped(context, server)
            sock.send(encode_request(HealthRequest(9)))
            health = decode_reply(sock.recv(), CLIENT_LIMITS) if sock.poll(5000) else None
            assert server.alive() and isinstance(health, HealthReply) and health.status == "ok"
    finally:
        context.destroy(linger=0)
    print(f"{count} messages, server RSS growth {growth / 1e6:.1f} MB; replies: {dict(sorted(codes.items()))}")
    assert growth < 40e6, f"server memory grew by {growth / 1e6:.1f} MB"
    assert sum(n for key, n in codes.items() if key.endswith(":ok")) > count * 0.05  # valid ones were served


def _send_all(
    sock: zmq.Socket, server: ServerProcess, messages: Iterator[tuple[str, list[bytes]]], baseline_at: int
) -> tuple[Counter[str], int]:
    """Send each message, wait for its reply and check it; the reply codes by category, and the server's RSS
    growth [bytes] from message ``baseline_at`` (after warm-up) to the end."""
    codes: Counter[str] = Counter()
    baseline = 0
    for i, (category, frames) in enumerate(messages):
        if i == baseline_at:
            baseline = server.rss_bytes()
        sock.send_multipart(frames)
        if not sock.poll(5000):
            log = "".join(server.output)[-3000:]
            pytest.fail(f"no reply to message {i} ({category}: {frames!r:.200}); alive: {server.alive()}\n{log}")
        reply = decode_reply(sock.recv_multipart()[-1], CLIENT_LIMITS)  # typed, or this raises
        code = str(reply.code) if isinstance(reply, ErrorReply) else "ok"
        assert code != "internal", f"{category}: {reply} {frames!r:.300}\n{''.join(server.output)[-2000:]}"
        assert category not in ALWAYS_ERRORS or code != "ok", f"{category} was accepted: {frames[0][:80]!r}"
        codes[f"{category}:{code}"] += 1
    return codes, server.rss_bytes() - baseline


def _far_oversized_senders_are_dropped(context: zmq.Context, server: ServerProcess) -> None:
    """Over ZeroMQ's MAXMSGSIZE the sender is disconnected without a reply and without the server buffering it."""
    for _ in range(3):
        sock = context.socket(zmq.DEALER)
        sock.connect(server.endpoint)
        sock.send(b"\x00" * (4 * MAX_BYTES))
        assert not sock.poll(300)
        sock.close(0)


def test_the_server_survives_5k_fuzzed_messages() -> None:
    _fuzz(5_000, seed=0)


@pytest.mark.slow
def test_the_server_survives_100k_fuzzed_messages() -> None:
    _fuzz(100_000, seed=1)
