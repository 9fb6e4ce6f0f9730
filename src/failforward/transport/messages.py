"""Typed requests and replies of the policy server, and their wire encoding (see :mod:`~failforward.transport.wire`).

Requests (robot → server): :class:`HandshakeRequest`, :class:`InferRequest`, :class:`HealthRequest`.
Replies (server → robot): :class:`HandshakeReply`, :class:`InferReply`, :class:`HealthReply`, and
:class:`ErrorReply` (an :class:`~failforward.transport.errors.ErrorCode` and a message) for every failure.
Every message is a map with the protocol version ``v``, its ``type`` and the request ``id`` the reply echoes.
Arrays keep their dtype on the wire (joints ``float64``, images ``uint8``, depth ``float32``), so a remote
inference sees bit for bit the observation the robot made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from failforward.errors import ShapeError
from failforward.policy.base import RtcSupport
from failforward.transport.errors import ErrorCode, WireError
from failforward.transport.model_card import CameraSpec, ModelCard
from failforward.transport.wire import (
    Fields,
    WireLimits,
    decode_array,
    encode_array,
    pack,
    read_array,
    require_finite,
    unpack,
)
from failforward.types import ActionChunk, ChunkPrefix, Observation

PROTOCOL = 1
"""Protocol version; a peer speaking another one gets a ``version`` error."""
MAX_ID = (1 << 32) - 1
FLOAT = {"float64"}
NOISE = {"float32", "float64"}


@dataclass(frozen=True)
class HandshakeRequest:
    """Ask for the served model's :class:`ModelCard`."""

    id: int


@dataclass(frozen=True)
class HealthRequest:
    """Ask whether the server is up, and how busy."""

    id: int


@dataclass(frozen=True)
class InferRequest:
    """One ``PolicyBackend.infer`` call: ``noise [H, A]`` and ``prefix`` as in the policy interface."""

    id: int
    obs: Observation
    prompt: str = ""
    noise: np.ndarray | None = None
    prefix: ChunkPrefix | None = None


Request = HandshakeRequest | HealthRequest | InferRequest


@dataclass(frozen=True)
class HandshakeReply:
    id: int
    card: ModelCard


@dataclass(frozen=True)
class InferReply:
    """The chunk, with the server's inference time ``infer_s`` [s] and the time ``queued_s`` [s] the request
    waited behind other robots' requests."""

    id: int
    chunk: ActionChunk
    infer_s: float
    queued_s: float


@dataclass(frozen=True)
class HealthReply:
    """``served``/``errors``: requests answered with a chunk / with an error since start; ``pending``: queued now."""

    id: int
    status: str
    model: str
    uptime_s: float
    served: int
    errors: int
    pending: int


@dataclass(frozen=True)
class ErrorReply:
    """A refused request; ``id`` is ``None`` when the request was too broken to read its id."""

    id: int | None
    code: ErrorCode
    message: str


Reply = HandshakeReply | InferReply | HealthReply | ErrorReply


# ------------------------------------------------------------------ encoding
def encode_request(request: Request) -> bytes:
    body: dict[str, Any] = {"v": PROTOCOL, "id": request.id}
    if isinstance(request, InferRequest):
        body.update(type="infer", obs=_obs_map(request.obs), prompt=request.prompt)
        body["noise"] = None if request.noise is None else encode_array(request.noise)
        prefix = request.prefix
        body["prefix"] = None if prefix is None else {"actions": encode_array(prefix.actions), "delay": prefix.delay}
    else:
        body["type"] = "handshake" if isinstance(request, HandshakeRequest) else "health"
    return pack(body)


def _obs_map(obs: Observation) -> dict[str, Any]:
    body = {
        "timestamp": obs.timestamp,
        "joint_positions": encode_array(obs.joint_positions),
        "joint_velocities": encode_array(obs.joint_velocities),
        "object_state": encode_array(obs.object_state),
        "images": {name: encode_array(image) for name, image in obs.images.items()},
        "depth": {name: encode_array(depth) for name, depth in obs.depth.items()},
    }
    if obs.blanked:  # optional: only VSF-masked observations carry it
        body["blanked"] = sorted(obs.blanked)
    return body


def encode_reply(reply: Reply) -> bytes:
    body: dict[str, Any] = {"v": PROTOCOL, "id": reply.id}
    if isinstance(reply, InferReply):
        chunk = reply.chunk
        body.update(type="infer", actions=encode_array(chunk.actions), guidance=encode_array(chunk.guidance))
        body.update(source=chunk.source, infer_s=reply.infer_s, queued_s=reply.queued_s)
        if chunk.done is not None:
            body.update(done=chunk.done)
    elif isinstance(reply, HandshakeReply):
        body.update(type="handshake", model=_card_map(reply.card))
    elif isinstance(reply, HealthReply):
        body.update(type="health", status=reply.status, model=reply.model, uptime_s=reply.uptime_s)
        body.update(served=reply.served, errors=reply.errors, pending=reply.pending)
    else:
        body.update(type="error", code=str(reply.code), message=reply.message)
    return pack(body)


def _card_map(card: ModelCard) -> dict[str, Any]:
    return {
        "name": card.name,
        "sha256": card.sha256,
        "action_dim": card.action_dim,
        "state_dim": card.state_dim,
        "horizon": card.horizon,
        "control_hz": card.control_hz,
        "cameras": [[c.name, c.height, c.width] for c in card.cameras],
        "rtc": {"method": card.rtc.method, "max_delay": card.rtc.max_delay},
        "files": dict(card.files),
    }


# ------------------------------------------------------------------ decoding
def message_fields(value: Any, where: str, limits: WireLimits) -> Fields:
    """The top-level map of a message, after its protocol version check."""
    top = Fields(value, where, limits)
    if top.raw("v") != PROTOCOL:
        raise WireError(ErrorCode.VERSION, f"{where}: protocol version {top.raw('v')!r}, this side speaks {PROTOCOL}")
    return top


def decode_request(payload: bytes, limits: WireLimits) -> Request:
    """Decode and validate a request; any violation raises :class:`WireError` (see :func:`request_id_of`)."""
    top = message_fields(unpack(payload, limits), "request", limits)
    kind = top.raw("type")
    if not isinstance(kind, str) or kind not in _REQUESTS:
        raise WireError(ErrorCode.BAD_REQUEST, f"request type {kind!r} is unknown; use one of {sorted(_REQUESTS)}")
    return _REQUESTS[kind](top)


def _handshake_request(top: Fields) -> Request:
    top.expect_keys(("v", "type", "id"))
    return HandshakeRequest(top.integer("id", 0, MAX_ID))


def _health_request(top: Fields) -> Request:
    top.expect_keys(("v", "type", "id"))
    return HealthRequest(top.integer("id", 0, MAX_ID))


def _infer_request(top: Fields) -> Request:
    top.expect_keys(("v", "type", "id", "obs", "prompt", "noise", "prefix"))
    noise = None if top.raw("noise") is None else require_finite(read_array(top, "noise", NOISE, 2), "noise")
    prefix = None if top.raw("prefix") is None else _prefix(top.sub("prefix"))
    return InferRequest(top.integer("id", 0, MAX_ID), _observation(top.sub("obs")), top.text("prompt"), noise, prefix)


_REQUESTS: dict[str, Callable[[Fields], Request]] = {
    "handshake": _handshake_request,
    "health": _health_request,
    "infer": _infer_request,
}


def _observation(obs: Fields) -> Observation:
    obs.expect_keys(_OBS_KEYS, optional=("blanked",))
    vectors = {k: require_finite(read_array(obs, k, FLOAT, 1), f"obs.{k}") for k in _VECTORS}
    images = {k: decode_array(v, f"obs.images.{k}", {"uint8"}, 3, obs.limits) for k, v in obs.names("images").items()}
    depth = {k: decode_array(v, f"obs.depth.{k}", {"float32"}, 2, obs.limits) for k, v in obs.names("depth").items()}
    try:
        return Observation(
            obs.number("timestamp"),
            joint_positions=vectors["joint_positions"],
            joint_velocities=vectors["joint_velocities"],
            object_state=vectors["object_state"],
            images=images,
            depth=depth,
            blanked=_blanked(obs),
        )
    except ShapeError as exc:
        raise WireError(ErrorCode.BAD_ARRAY, f"obs: {exc}") from None


_VECTORS = ("joint_positions", "joint_velocities", "object_state")
_OBS_KEYS = ("timestamp", *_VECTORS, "images", "depth")


def _blanked(obs: Fields) -> frozenset[str]:
    """``obs.blanked``: the camera names VSF zeroed on purpose (absent: none)."""
    names = obs.raw("blanked")
    if names is None:
        return frozenset()
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise WireError(ErrorCode.BAD_REQUEST, f"{obs.where}.blanked must be a list of camera names, got {names!r}")
    return frozenset(names)


def _prefix(prefix: Fields) -> ChunkPrefix:
    prefix.expect_keys(("actions", "delay"))
    actions = require_finite(read_array(prefix, "actions", FLOAT, 2), "prefix.actions")
    try:
        return ChunkPrefix(actions, prefix.integer("delay", 0, MAX_ID))
    except ShapeError as exc:
        raise WireError(ErrorCode.BAD_ARRAY, f"prefix: {exc}") from None


def decode_reply(payload: bytes, limits: WireLimits) -> Reply:
    """Decode and validate a reply (the client side); violations raise :class:`WireError`."""
    top = message_fields(unpack(payload, limits), "reply", limits)
    kind = top.raw("type")
    if not isinstance(kind, str) or kind not in _REPLIES:
        raise WireError(ErrorCode.BAD_REQUEST, f"reply type {kind!r} is unknown")
    return _REPLIES[kind](top)


def _infer_reply(top: Fields) -> Reply:
    top.expect_keys(("v", "type", "id", "actions", "guidance", "source", "infer_s", "queued_s"), ("done",))
    actions = require_finite(read_array(top, "actions", FLOAT, 2), "actions")
    guidance = require_finite(read_array(top, "guidance", FLOAT, 1), "guidance")
    done = _probability(top) if top.raw("done") is not None else None
    try:
        chunk = ActionChunk(actions, guidance=guidance, source=top.text("source"), done=done)
    except ShapeError as exc:
        raise WireError(ErrorCode.BAD_ARRAY, f"reply: {exc}") from None
    return InferReply(top.integer("id", 0, MAX_ID), chunk, top.number("infer_s"), top.number("queued_s"))


def _probability(top: Fields) -> float:
    """The reply's ``done`` (a subgoal policy's end-of-edge probability), checked to lie in [0, 1]."""
    done = top.number("done")
    if not 0.0 <= done <= 1.0:
        raise WireError(ErrorCode.BAD_REQUEST, f"reply.done must be a probability in [0, 1], got {done}")
    return done


def _handshake_reply(top: Fields) -> Reply:
    top.expect_keys(("v", "type", "id", "model"))
    return HandshakeReply(top.integer("id", 0, MAX_ID), _card(top.sub("model")))


def _card(card: Fields) -> ModelCard:
    card.expect_keys(("name", "sha256", "action_dim", "state_dim", "horizon", "control_hz", "cameras", "rtc", "files"))
    rtc = card.sub("rtc").expect_keys(("method", "max_delay"))
    method = rtc.text("method")
    if method not in ("none", "inference", "training"):
        raise WireError(ErrorCode.BAD_REQUEST, f"model.rtc.method {method!r} is unknown")
    return ModelCard(
        name=card.text("name"),
        sha256=card.text("sha256"),
        action_dim=card.integer("action_dim", 1, 1 << 16),
        state_dim=card.integer("state_dim", 1, 1 << 16),
        horizon=card.integer("horizon", 1, 1 << 16),
        control_hz=card.number("control_hz"),
        cameras=_cameras(card.raw("cameras")),
        rtc=RtcSupport(method, rtc.integer("max_delay", 0, 1 << 16)),  # type: ignore[arg-type]  # checked above
        files={str(k): str(v) for k, v in card.names("files").items()},
    )


def _cameras(value: Any) -> tuple[CameraSpec, ...]:
    ok = isinstance(value, list) and all(
        isinstance(c, list) and len(c) == 3 and isinstance(c[0], str) and all(isinstance(n, int) for n in c[1:])
        for c in value
    )
    if not ok:
        raise WireError(ErrorCode.BAD_REQUEST, "model.cameras must be a list of [name, height, width]")
    return tuple(CameraSpec(name, height, width) for name, height, width in value)


def _health_reply(top: Fields) -> Reply:
    top.expect_keys(("v", "type", "id", "status", "model", "uptime_s", "served", "errors", "pending"))
    counts = [top.integer(key, 0, 1 << 62) for key in ("served", "errors", "pending")]
    return HealthReply(
        top.integer("id", 0, MAX_ID), top.text("status"), top.text("model"), top.number("uptime_s"), *counts
    )


def _error_reply(top: Fields) -> Reply:
    top.expect_keys(("v", "type", "id", "code", "message"))
    code = top.text("code")
    if code not in {c.value for c in ErrorCode}:
        raise WireError(ErrorCode.BAD_REQUEST, f"error code {code!r} is unknown")
    request_id = None if top.raw("id") is None else top.integer("id", 0, MAX_ID)
    return ErrorReply(request_id, ErrorCode(code), top.text("message"))


_REPLIES: dict[str, Callable[[Fields], Reply]] = {
    "infer": _infer_reply,
    "handshake": _handshake_reply,
    "health": _health_reply,
    "error": _error_reply,
}


def request_id_of(payload: bytes, limits: WireLimits) -> int | None:
    """The ``id`` of a (possibly invalid) request, when it can be read, to echo it in an error reply."""
    try:
        value = unpack(payload, limits)
    except WireError:
        return None
    request_id = value.get("id") if isinstance(value, dict) else None
    valid = isinstance(request_id, int) and not isinstance(request_id, bool) and 0 <= request_id <= MAX_ID
    return request_id if valid else None
