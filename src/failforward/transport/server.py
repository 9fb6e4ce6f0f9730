"""The policy server: one policy behind a ZeroMQ ROUTER socket, shared by every robot that connects.

Guarantees to the robots sharing one server (measured by ``bench/remote_policy.py``):

- **One inference at a time, no batching.** Requests are served one after the other on the serving thread;
  handshake and health requests are answered at once, between inferences (they never wait in the queue).
- **FIFO per robot, round-robin across robots** (:class:`~failforward.transport.fair_queue.FairQueue`): with
  ``k`` robots waiting, a request waits behind at most ``k − 1`` others, so its latency is at most about
  ``k ×`` the inference time plus transport. Each reply reports ``infer_s`` and ``queued_s``.
- **Bounded**: at most ``QueueLimits.max_items`` requests / ``max_bytes`` queued (``max_per_client`` per robot);
  past that a request is answered ``busy`` at once. Messages over ``WireLimits.max_message_bytes`` are
  refused before decoding (slightly over: a ``too_large`` reply; far over: ZeroMQ's ``MAXMSGSIZE`` drops the
  sender). A reply to a robot that is gone or stopped reading is dropped, never waited for.
- **Every refused request gets a typed error reply** (:class:`~failforward.transport.errors.ErrorCode`), except
  far-oversized messages and clients the CURVE allow-list refuses, which get nothing at all.

Example:
    >>> server = PolicyServer(policy, card, bind="tcp://127.0.0.1:5555")  # doctest: +SKIP
    >>> server.start(); server.serve()  # until Ctrl-C or ``stop.set()``  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time

import zmq
from zmq.auth.thread import ThreadAuthenticator

from failforward.errors import ConfigError
from failforward.policy.base import PolicyBackend
from failforward.transport.errors import ErrorCode
from failforward.transport.fair_queue import DEFAULT_QUEUE, FairQueue, QueueLimits
from failforward.transport.handler import RequestHandler
from failforward.transport.keys import ServerKeys
from failforward.transport.messages import ErrorReply, InferRequest, Reply, encode_reply
from failforward.transport.model_card import ModelCard
from failforward.transport.security import AllowList, check_bind, secure_server
from failforward.transport.wire import DEFAULT_LIMITS, WireLimits

logger = logging.getLogger(__name__)

DEFAULT_BIND = "tcp://127.0.0.1:5555"
POLL_MS = 100
REPLY_HWM = 1000  # replies queued per robot before ZeroMQ drops them (a robot that stopped reading)
MAX_FRAMES = 3  # identity, optional empty delimiter (REQ clients), payload
QueuedInfer = tuple[list[bytes], InferRequest, float]  # reply envelope, request, arrival time [s, perf_counter]


class PolicyServer:
    """Serves ``policy`` (described by ``card``) on ``bind``; see the module docstring for the guarantees.

    Args:
        policy: any :class:`PolicyBackend`; it is called from the serving thread only.
        card: what the handshake reports, and what every observation is checked against.
        bind: ZeroMQ endpoint; beyond loopback only with ``keys`` (else :class:`InsecureBindError`).
            ``tcp://127.0.0.1:*`` picks a free port (see :attr:`endpoint`).
        keys: CURVE keypair and client allow-list; ``None``: plain TCP (loopback only).
        limits: message limits; queue: queue bounds.
    """

    def __init__(
        self,
        policy: PolicyBackend,
        card: ModelCard,
        *,
        bind: str = DEFAULT_BIND,
        keys: ServerKeys | None = None,
        limits: WireLimits = DEFAULT_LIMITS,
        queue: QueueLimits = DEFAULT_QUEUE,
    ) -> None:
        check_bind(bind, keys)
        self.bind, self.keys, self.limits = bind, keys, limits
        self.handler = RequestHandler(policy, card, limits)
        self.queue: FairQueue[QueuedInfer] = FairQueue(queue)
        self.endpoint = ""
        self.allow: AllowList | None = None
        self._context: zmq.Context | None = None
        self._socket: zmq.Socket | None = None
        self._authenticator: ThreadAuthenticator | None = None

    def start(self) -> str:
        """Bind (starting the CURVE authenticator first when keyed); returns the endpoint actually bound."""
        self._context = zmq.Context()
        sock = self._socket = self._context.socket(zmq.ROUTER)
        if self.keys is not None:
            self._authenticator, self.allow = secure_server(self._context, sock, self.keys)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, self.limits.socket_max_bytes)
        sock.setsockopt(zmq.RCVHWM, self.queue.limits.max_per_client + 4)
        # replies are small; a low send HWM would drop replies silently (ROUTER never blocks), as libzmq learns that
        # a peer has read its messages only in batches
        sock.setsockopt(zmq.SNDHWM, REPLY_HWM)
        sock.bind(self.bind)
        self.endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        logger.info("serving %s on %s (CURVE %s)", self.handler.card.name, self.endpoint, "on" if self.keys else "off")
        return self.endpoint

    @property
    def socket(self) -> zmq.Socket:
        """The bound ROUTER socket (after :meth:`start`)."""
        if self._socket is None:
            raise ConfigError("the policy server is not started: call start() (or serve()) first.")
        return self._socket

    def serve(self, stop: threading.Event | None = None) -> None:
        """Answer requests until ``stop`` is set (checked every 100 ms) or the process is interrupted."""
        if self._socket is None:
            self.start()
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        while stop is None or not stop.is_set():
            if poller.poll(0 if len(self.queue) else POLL_MS):
                self._drain()
            self._serve_one()

    def close(self) -> None:
        """Unbind and stop the authenticator; queued requests are dropped (their clients time out)."""
        if self._authenticator is not None:
            self._authenticator.stop()
        if self._socket is not None:
            self._socket.close(linger=0)
        if self._context is not None:
            self._context.term()
        self._socket = self._context = self._authenticator = None

    def __enter__(self) -> PolicyServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ one step each
    def _drain(self) -> None:
        """Read every waiting message: answer handshakes, health and refusals now; queue inference requests."""
        for _ in range(1000):  # bounded, so queued inferences still run under a flood
            frames = self._receive()
            if frames is None:
                return
            self._accept(frames)

    def _receive(self) -> list[bytes] | None:
        """One message's frames (at most ``MAX_FRAMES + 1`` kept: extra frames are read and dropped)."""
        try:
            frames = [self.socket.recv(zmq.NOBLOCK)]
        except zmq.Again:
            return None
        while self.socket.getsockopt(zmq.RCVMORE):
            frame = self.socket.recv()
            if len(frames) <= MAX_FRAMES:
                frames.append(frame)
        return frames

    def _accept(self, frames: list[bytes]) -> None:
        delimited = len(frames) >= 3 and frames[1] == b""
        envelope, body = (frames[:2], frames[2:]) if delimited else (frames[:1], frames[1:])
        if len(body) != 1:
            message = "send one msgpack frame per request (from a DEALER or REQ socket)"
            self._send(envelope, self.handler.error(None, ErrorCode.BAD_REQUEST, message))
            return
        request = self.handler.decode(body[0])
        if isinstance(request, ErrorReply):
            self._send(envelope, request)
        elif not isinstance(request, InferRequest):
            self._send(envelope, self.handler.answer_now(request, len(self.queue)))
        elif not self.queue.push(frames[0], (envelope, request, time.perf_counter()), len(body[0])):
            message = f"{len(self.queue)} requests queued; retry after the current ones"
            self._send(envelope, self.handler.error(request.id, ErrorCode.BUSY, message))

    def _serve_one(self) -> None:
        item = self.queue.pop()
        if item is None:
            return
        envelope, request, arrived = item[1]
        self._send(envelope, self.handler.infer(request, queued_s=time.perf_counter() - arrived))

    def _send(self, envelope: list[bytes], reply: Reply) -> None:
        # a ROUTER never blocks: a reply to a robot that is gone, or has REPLY_HWM replies unread, is dropped
        self.socket.send_multipart([*envelope, encode_reply(reply)], zmq.NOBLOCK)
