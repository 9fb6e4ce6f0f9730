"""A small Foxglove WebSocket client (tests, benches): subscribes to advertised topics and decodes what arrives.

Protocol (foxglove-sdk 0.30 speaks subprotocol ``foxglove.sdk.v1``, the successor of ``foxglove.websocket.v1``
with the same messages): the server sends ``serverInfo`` and ``advertise`` (JSON text, one entry per channel with
``id``, ``topic``, ``encoding``, ``schemaName``, ``schemaEncoding`` and ``schema``); the client sends
``subscribe`` with its own subscription ids; the server then sends binary Message Data frames: opcode ``0x01``,
``uint32`` subscription id, ``uint64`` log time [ns], payload (all little-endian). Protobuf payloads are decoded
with the ``FileDescriptorSet`` the server advertises (base64), JSON payloads with ``json``.
"""

from __future__ import annotations

import base64
import json
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

SUBPROTOCOLS = [Subprotocol("foxglove.sdk.v1"), Subprotocol("foxglove.websocket.v1")]
MESSAGE_DATA = 0x01


@dataclass(frozen=True)
class Received:
    """One decoded message: ``log_time`` [ns] from the frame header, ``message`` (protobuf object or JSON value)."""

    log_time: int
    message: Any


def protobuf_class(schema_name: str, schema_b64: str) -> type:
    """The message class of ``schema_name`` from a base64 ``FileDescriptorSet`` (dependencies in any order)."""
    files = list(descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(schema_b64)).file)
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()
    while files:
        ready = [f for f in files if all(d in added for d in f.dependency)]
        assert ready, f"unresolvable dependencies in {[f.name for f in files]}"
        for proto in ready:
            pool.Add(proto)
            added.add(proto.name)
            files.remove(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(schema_name))


class FoxgloveClient:
    """Connects, subscribes to every advertised topic that ``wanted`` accepts (as it is advertised), and collects
    decoded messages per topic on a reader thread."""

    def __init__(self, url: str, wanted: Callable[[str], bool] = lambda topic: True, **options: Any) -> None:
        # entered as a context manager (websockets ≥ 17.1 warns otherwise); left in close()
        self.ws: ClientConnection = connect(url, subprotocols=SUBPROTOCOLS, compression=None, **options).__enter__()
        self.subprotocol = self.ws.subprotocol
        self.wanted = wanted
        self.channels: dict[int, dict[str, Any]] = {}
        self.messages: dict[str, list[Received]] = defaultdict(list)
        self.server_info: dict[str, Any] = {}
        self.error: Exception | None = None
        self.closed: ConnectionClosed | None = None  # why the connection ended, once it has
        self._decoders: dict[int, Callable[[bytes], Any]] = {}
        self._subscribed: dict[int, int] = {}  # subscription id → channel id
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ queries
    def topics(self) -> set[str]:
        with self._lock:
            return {c["topic"] for c in self.channels.values()}

    def subscribed_topics(self) -> set[str]:
        with self._lock:
            return {self.channels[c]["topic"] for c in self._subscribed.values()}

    def get(self, topic: str) -> list[Received]:
        with self._lock:
            return list(self.messages.get(topic, []))

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.error is None, f"the client's reader failed: {self.error!r}"
            if condition():
                return True
            time.sleep(0.01)
        return condition()

    def wait_subscribed(self, topics: Iterable[str], timeout_s: float = 10.0) -> bool:
        wanted = set(topics)
        return self.wait_for(lambda: wanted <= self.subscribed_topics(), timeout_s)

    def close(self) -> None:
        self.ws.close()
        self._thread.join(timeout=5.0)

    # ------------------------------------------------------------ reading
    def _read(self) -> None:
        try:
            for frame in self.ws:
                if isinstance(frame, str):
                    self._control(json.loads(frame))
                else:
                    self._data(frame)
        except ConnectionClosed as exc:
            self.closed = exc
            return
        except Exception as exc:  # surfaced by wait_for: a test must not wait on a dead reader
            self.error = exc
            raise

    def _control(self, message: dict[str, Any]) -> None:
        if message["op"] == "serverInfo":
            self.server_info = message
        elif message["op"] == "advertise":
            fresh = []
            with self._lock:
                for channel in message["channels"]:
                    self.channels[channel["id"]] = channel
                    self._decoders[channel["id"]] = _decoder(channel)
                    if self.wanted(channel["topic"]):
                        sub_id = len(self._subscribed) + 1
                        self._subscribed[sub_id] = channel["id"]
                        fresh.append({"id": sub_id, "channelId": channel["id"]})
            if fresh:
                self.ws.send(json.dumps({"op": "subscribe", "subscriptions": fresh}))

    def _data(self, frame: bytes) -> None:
        if frame[0] != MESSAGE_DATA:
            return
        sub_id, log_time = struct.unpack_from("<IQ", frame, 1)
        payload = frame[13:]
        with self._lock:
            channel_id = self._subscribed[sub_id]
            topic = self.channels[channel_id]["topic"]
            decode = self._decoders[channel_id]
        received = Received(log_time, decode(payload))
        with self._lock:
            self.messages[topic].append(received)


def _decoder(channel: dict[str, Any]) -> Callable[[bytes], Any]:
    if channel["encoding"] == "json":
        return lambda payload: json.loads(payload)
    assert channel["encoding"] == "protobuf" and channel["schemaEncoding"] == "protobuf", channel
    cls = protobuf_class(channel["schemaName"], channel["schema"])
    return cls.FromString  # type: ignore[attr-defined]  # a generated protobuf message class
