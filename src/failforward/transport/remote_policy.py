"""The ``remote`` policy: ``infer`` is a request to a policy server (``failforward serve``), registered in the
policy registry as ``kind="remote"`` (config: :class:`~failforward.config.remote.RemotePolicyConfig`).

Building it performs the handshake and checks the served model against the robot's features (joints, object
state, cameras and image sizes, control rate; optionally the model's sha256), so a mismatch fails before the
first tick. Each ``infer`` has a deadline (``timeout_s``): a slow or dead server raises
:class:`~failforward.errors.PolicyTimeoutError` / :class:`~failforward.errors.PolicyUnavailableError`, which the
loop's worker turns into "keep executing the queue, then hold". After such a failure the next call reconnects.
Whenever the connection is new (after a failure, or one ZeroMQ made by itself after a server restart), the server
is asked for its model again, and a chunk is returned only if it is still the model checked at build time.

Example:
    >>> policy = make_policy(RemotePolicyConfig(endpoint="tcp://127.0.0.1:5555"), context)  # doctest: +SKIP
    >>> chunk = policy.infer(obs, noise=noise)  # doctest: +SKIP
    >>> policy.last_timing.infer_s, policy.last_timing.round_trip_s  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from failforward.config.remote import RemotePolicyConfig
from failforward.policy.base import PolicyBackend, RtcSupport
from failforward.policy.registry import PolicyContext, register_policy
from failforward.transport.client import PolicyClient
from failforward.transport.errors import HandshakeMismatchError, InvalidReplyError
from failforward.transport.keys import load_client_keys
from failforward.transport.messages import HandshakeReply, HandshakeRequest, InferReply, InferRequest
from failforward.transport.model_card import ModelCard
from failforward.transport.wire import WireLimits
from failforward.types import ActionChunk, ChunkPrefix, Observation, RobotFeatures


@dataclass(frozen=True)
class RemoteTiming:
    """Timing of one remote ``infer`` [s]: the robot's round trip, the server's inference, its queueing."""

    round_trip_s: float
    infer_s: float
    queued_s: float

    @property
    def overhead_s(self) -> float:
        """[s] what the remote call added to the inference itself: transport, coding, queueing."""
        return self.round_trip_s - self.infer_s


class RemotePolicy(PolicyBackend):
    """A :class:`PolicyBackend` whose chunks come from a policy server (see the module docstring).

    Args:
        client: the connection to the server.
        features: the robot's features, checked against the served model.
        timeout_s: [s] deadline of one ``infer`` (a reconnection's handshake included).
        connect_timeout_s: [s] deadline of the first handshake.
        expect_sha256: the served model's manifest sha256, or ``None`` for any model that fits.
    """

    def __init__(
        self,
        client: PolicyClient,
        features: RobotFeatures,
        *,
        timeout_s: float = 1.0,
        connect_timeout_s: float = 5.0,
        expect_sha256: str | None = None,
    ) -> None:
        self.client, self.features, self.timeout_s = client, features, timeout_s
        self.card = self._handshake(time.monotonic() + connect_timeout_s)
        self.card.check(features)
        self.card.check_pinned(expect_sha256)
        self._verified = client.connections  # the connection (count) whose server was checked to serve self.card
        self.last_timing: RemoteTiming | None = None

    @classmethod
    def from_config(cls, config: RemotePolicyConfig, features: RobotFeatures) -> RemotePolicy:
        """Keys from the config's files or the environment; the handshake runs here (raises when it fails)."""
        limits = WireLimits(max_message_bytes=int(config.max_message_mib * (1 << 20)))
        keys = load_client_keys(config.server_key, config.client_key)
        client = PolicyClient(config.endpoint, keys=keys, limits=limits)
        try:
            return cls(
                client,
                features,
                timeout_s=config.timeout_s,
                connect_timeout_s=config.connect_timeout_s,
                expect_sha256=config.expect_sha256,
            )
        except Exception:
            client.close()
            raise

    @property
    def rtc(self) -> RtcSupport:
        """The served policy's real-time-chunking support (prefixes are passed through to it)."""
        return self.card.rtc

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        """One chunk ``[H, A]`` from the server, checked (shape, finite) before it is returned."""
        start = time.monotonic()
        deadline = start + self.timeout_s
        self.client.refresh()
        if self.client.connections != self._verified:  # a new connection: maybe a restarted, other server
            self._reverify(deadline)
        reply = self.client.request(lambda i: InferRequest(i, obs, prompt, noise, prefix), deadline - time.monotonic())
        if not isinstance(reply, InferReply):
            raise InvalidReplyError(f"expected a chunk from {self.client.endpoint}, got a {type(reply).__name__}")
        if self.client.connections != self._verified:  # the chunk came over a connection made during the request
            self._reverify(deadline)
        self.last_timing = RemoteTiming(time.monotonic() - start, reply.infer_s, reply.queued_s)
        return self._checked(reply.chunk)

    def close(self) -> None:
        self.client.close()

    def _handshake(self, deadline: float) -> ModelCard:
        reply = self.client.request(HandshakeRequest, max(deadline - time.monotonic(), 1e-3))
        if not isinstance(reply, HandshakeReply):
            raise InvalidReplyError(f"expected a handshake from {self.client.endpoint}, got a {type(reply).__name__}")
        return reply.card

    def _reverify(self, deadline: float) -> None:
        """On a new connection: the server must still serve the model checked at build time."""
        card = self._handshake(deadline)
        if card != self.card:
            raise HandshakeMismatchError(
                f"the policy server at {self.client.endpoint} now serves {card.name!r} (sha256 {card.sha256[:12]}…), "
                f"not {self.card.name!r} ({self.card.sha256[:12]}…) checked at start; rebuild the policy."
            )
        self._verified = self.client.connections

    def _checked(self, chunk: ActionChunk) -> ActionChunk:
        want = (self.card.horizon, self.features.action_dim)
        if chunk.actions.shape != want:
            raise InvalidReplyError(f"the server sent a {chunk.actions.shape} chunk, expected {want}; chunk dropped.")
        return ActionChunk(chunk.actions, guidance=chunk.guidance, source=f"remote:{chunk.source}", done=chunk.done)


@register_policy("remote")
def build_remote(config: Any, context: PolicyContext) -> RemotePolicy:
    """Connect to ``config.endpoint`` and check the served model fits ``context.features``."""
    if not isinstance(config, RemotePolicyConfig):
        config = RemotePolicyConfig.model_validate(config.model_dump())
    return RemotePolicy.from_config(config, context.features)
