"""The server's request logic without sockets: bytes in, a typed reply out, never an exception.

Each infer request is checked against the served :class:`ModelCard` (joints, state, cameras and image sizes,
noise ``[H, A]``, prefix ``[P ≤ H, A]``) before the policy sees it, and the chunk the policy returns is checked
(``[H, A]``, finite) before it leaves; anything else becomes an :class:`ErrorReply` with its code.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from failforward.errors import PolicyError
from failforward.policy.base import PolicyBackend
from failforward.transport.errors import ErrorCode, WireError
from failforward.transport.messages import (
    ErrorReply,
    HandshakeReply,
    HandshakeRequest,
    HealthReply,
    InferReply,
    InferRequest,
    Reply,
    Request,
    decode_request,
    request_id_of,
)
from failforward.transport.model_card import ModelCard
from failforward.transport.wire import DEFAULT_LIMITS, WireLimits

logger = logging.getLogger(__name__)


class RequestHandler:
    """Answers requests for one policy and its card; counts chunks served and errors (for health replies)."""

    def __init__(self, policy: PolicyBackend, card: ModelCard, limits: WireLimits = DEFAULT_LIMITS) -> None:
        self.policy, self.card, self.limits = policy, card, limits
        self.started = time.monotonic()
        self.served = 0
        self.errors = 0

    def decode(self, payload: bytes) -> Request | ErrorReply:
        """The request in ``payload``, or the error reply that refuses it."""
        try:
            return decode_request(payload, self.limits)
        except WireError as exc:
            return self.error(request_id_of(payload, self.limits), exc.code, str(exc))
        except Exception as exc:  # a decoder bug must not end the server; reported as internal (fuzz tests fail on it)
            logger.exception("could not decode a request")
            return self.error(None, ErrorCode.INTERNAL, f"{type(exc).__name__} while decoding (see the server log)")

    def error(self, request_id: int | None, code: ErrorCode, message: str) -> ErrorReply:
        self.errors += 1
        return ErrorReply(request_id, code, message[: self.limits.max_str_len // 2])

    def answer_now(self, request: Request, pending: int) -> Reply:
        """Handshake and health replies (cheap: they never wait in the queue)."""
        if isinstance(request, HandshakeRequest):
            return HandshakeReply(request.id, self.card)
        uptime = time.monotonic() - self.started
        return HealthReply(request.id, "ok", self.card.name, uptime, self.served, self.errors, pending)

    def infer(self, request: InferRequest, queued_s: float) -> Reply:
        """Run the policy on a checked request; ``queued_s`` [s] is how long it waited in the queue."""
        problem = self._misfit(request)
        if problem:
            return self.error(request.id, ErrorCode.MISMATCH, f"{problem} (served model {self.card.name!r})")
        start = time.perf_counter()
        try:
            chunk = self.policy.infer(request.obs, prompt=request.prompt, noise=request.noise, prefix=request.prefix)
        except PolicyError as exc:
            return self.error(request.id, ErrorCode.POLICY, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # the server outlives any policy failure; the traceback goes to its log
            logger.exception("policy %s failed on request %d", self.card.name, request.id)
            return self.error(
                request.id, ErrorCode.INTERNAL, f"{type(exc).__name__} in the policy (see the server log)"
            )
        infer_s = time.perf_counter() - start
        want = (self.card.horizon, self.card.action_dim)
        if chunk.actions.shape != want or not (np.isfinite(chunk.actions).all() and np.isfinite(chunk.guidance).all()):
            logger.error(
                "policy %s returned a %s chunk with non-finite values or not %s",
                self.card.name,
                chunk.actions.shape,
                want,
            )
            return self.error(
                request.id, ErrorCode.INTERNAL, f"the policy returned an invalid chunk (not finite {want})"
            )
        self.served += 1
        return InferReply(request.id, chunk, infer_s, queued_s)

    def _misfit(self, request: InferRequest) -> str:
        """Why ``request`` does not fit the served model ("" when it fits)."""
        card, obs = self.card, request.obs
        horizon, joints = card.horizon, card.action_dim
        state_dim = obs.joint_positions.size + obs.object_state.size
        if obs.joint_positions.size != joints or state_dim != card.state_dim:
            got = f"{obs.joint_positions.size} joints / state {state_dim}"
            return f"observation has {got}, need {joints} / {card.state_dim}"
        for camera in card.cameras:
            image = obs.images.get(camera.name)
            if image is None or image.shape != (camera.height, camera.width, 3):
                got = "missing" if image is None else f"{image.shape}"
                return f"camera {camera.name!r} must be uint8 [{camera.height}, {camera.width}, 3], got {got}"
        if request.noise is not None and request.noise.shape != (horizon, joints):
            return f"noise must be [{horizon}, {joints}], got {list(request.noise.shape)}"
        prefix = request.prefix
        if prefix is not None and (prefix.actions.shape[1] != joints or prefix.actions.shape[0] > horizon):
            return f"prefix actions must be [P <= {horizon}, {joints}], got {list(prefix.actions.shape)}"
        return ""
