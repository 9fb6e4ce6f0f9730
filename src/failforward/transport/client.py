"""The robot side of the wire: one request at a time over a DEALER socket, each with a deadline.

Every failure is typed. No reply by the deadline → :class:`~failforward.errors.PolicyTimeoutError`; the connection
dropped while a request was in flight (the server died) → :class:`ServerDisconnectedError`, as soon as ZeroMQ
notices, not at the deadline; a reply that does not decode → :class:`InvalidReplyError`; the server refused
the request → :class:`RemotePolicyError` (``busy``: :class:`ServerBusyError`); the CURVE handshake failed →
:class:`AuthenticationError`. After any failure the socket is closed and the next request opens a fresh one,
so a restarted server is reached again and no stale reply is ever taken for a new one.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable

import zmq
from zmq.utils.monitor import recv_monitor_message

from failforward.errors import ConfigError, PolicyTimeoutError
from failforward.transport.errors import (
    AuthenticationError,
    ErrorCode,
    InvalidReplyError,
    RemotePolicyError,
    ServerBusyError,
    ServerDisconnectedError,
    WireError,
)
from failforward.transport.keys import ClientKeys
from failforward.transport.messages import MAX_ID, ErrorReply, Reply, Request, decode_reply, encode_request
from failforward.transport.security import is_local_endpoint, secure_client
from failforward.transport.wire import DEFAULT_LIMITS, WireLimits

_EVENTS = (
    zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_DISCONNECTED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)
_AUTH_FAILED: dict[int, str] = {
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "the server refused this robot's CURVE key: add its public key (<robot>.key) "
    "to the server's authorized_clients and restart the server",
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "the security handshake failed: one side uses CURVE keys and the other "
    "not, or the server public key is wrong (policy.server_key)",
}
# EVENT_HANDSHAKE_FAILED_NO_DETAIL also comes when a server dies during a handshake: counted, named on timeout only


class PolicyClient:
    """Requests to one policy server (see the module docstring); safe to call from one thread at a time
    (calls from several threads are serialized by a lock).

    Args:
        endpoint: the server, e.g. ``tcp://127.0.0.1:5555``; beyond loopback only with ``keys``.
        keys: CURVE keys; ``None``: plain TCP (loopback only).
        limits: message limits (replies over ``max_message_bytes`` are refused).
    """

    def __init__(self, endpoint: str, *, keys: ClientKeys | None = None, limits: WireLimits = DEFAULT_LIMITS) -> None:
        if keys is None and not is_local_endpoint(endpoint):
            raise ConfigError(
                f"policy server {endpoint} is not on this machine: give CURVE keys (policy.server_key and "
                "policy.client_key, made by `failforward keys`), or reach it through loopback (an SSH tunnel)."
            )
        self.endpoint, self.keys, self.limits = endpoint, keys, limits
        self._context = zmq.Context()
        self._socket: zmq.Socket | None = None
        self._monitor: zmq.Socket | None = None
        self._up = False  # a connection to the server completed its handshake
        self._failed = 0  # handshakes failed without detail since the last success
        self.connections = 0  # connections made so far (ZeroMQ reconnects by itself: a new one may be a new server)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def request(self, make: Callable[[int], Request], timeout_s: float) -> Reply:
        """Send ``make(request_id)`` and return the server's reply within ``timeout_s`` [s].

        Raises the typed errors of the module docstring; never returns an :class:`ErrorReply`.
        """
        with self._lock:
            request_id = next(self._ids) % MAX_ID
            try:
                reply = self._round_trip(encode_request(make(request_id)), request_id, time.monotonic() + timeout_s)
            except Exception:
                self.reset()
                raise
        if isinstance(reply, ErrorReply) and reply.code is ErrorCode.BUSY:
            raise ServerBusyError(f"the policy server at {self.endpoint} is busy: {reply.message}")
        if isinstance(reply, ErrorReply):
            raise RemotePolicyError(reply.code, reply.message)
        return reply

    def refresh(self) -> None:
        """Take in the connection events so far (:attr:`connections`; a failed CURVE handshake raises)."""
        with self._lock:
            if self._monitor is not None:
                self._watch(self._monitor, in_flight=False)

    def reset(self) -> None:
        """Close the socket (dropping anything in flight); the next request connects afresh."""
        if self._socket is not None:
            self._socket.disable_monitor()
            self._socket.close(linger=0)
        if self._monitor is not None:
            self._monitor.close(linger=0)
        self._socket = self._monitor = None
        self._up = False

    def close(self) -> None:
        with self._lock:
            self.reset()
            self._context.term()

    # ------------------------------------------------------------------ internals
    def _open(self) -> tuple[zmq.Socket, zmq.Socket]:
        if self._socket is None or self._monitor is None:
            sock = self._context.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.MAXMSGSIZE, self.limits.socket_max_bytes)
            sock.setsockopt(zmq.RECONNECT_IVL, 50)
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, 500)
            if self.keys is not None:
                secure_client(sock, self.keys)
            self._monitor = sock.get_monitor_socket(_EVENTS)
            sock.connect(self.endpoint)
            self._socket = sock
        return self._socket, self._monitor

    def _round_trip(self, payload: bytes, request_id: int, deadline: float) -> Reply:
        sock, monitor = self._open()
        self._watch(monitor, in_flight=False)
        sock.send(payload)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        while (remaining := deadline - time.monotonic()) > 0:
            ready = dict(poller.poll(math.ceil(remaining * 1000)))
            if monitor in ready:
                self._watch(monitor, in_flight=True)
            if sock in ready:
                reply = self._decode(sock.recv())
                if reply.id == request_id or (isinstance(reply, ErrorReply) and reply.id is None):
                    self._watch(monitor, in_flight=False)  # count a reconnection the reply may have come over
                    return reply
        hint = f" ({self._failed} connection handshakes failed: check the CURVE keys)" if self._failed else ""
        raise PolicyTimeoutError(
            f"no reply from the policy server at {self.endpoint} within the timeout{hint}; check that `failforward "
            "serve` runs there and is reachable, or raise policy.timeout_s if inference is that slow."
        )

    def _watch(self, monitor: zmq.Socket, in_flight: bool) -> None:
        """Read the socket's connection events; raise on a failed handshake or on a drop with a request in flight."""
        while monitor.poll(0):
            event = recv_monitor_message(monitor)["event"]
            if event in _AUTH_FAILED:
                raise AuthenticationError(f"{self.endpoint}: {_AUTH_FAILED[event]}.")
            if event == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:
                self._failed += 1
            elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._up, self.connections, self._failed = True, self.connections + 1, 0
            elif event == zmq.EVENT_DISCONNECTED:
                dropped, self._up = in_flight and self._up, False
                if dropped:
                    raise ServerDisconnectedError(
                        f"the policy server at {self.endpoint} closed the connection during the request (it stopped "
                        "or crashed); the next request reconnects."
                    )

    def _decode(self, data: bytes) -> Reply:
        try:
            return decode_reply(data, self.limits)
        except WireError as exc:
            raise InvalidReplyError(f"the policy server at {self.endpoint} sent an invalid reply: {exc}") from None
