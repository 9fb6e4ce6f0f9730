"""Errors of the remote policy transport, and the codes that travel on the wire in error replies.

Every failure of a request comes back to the robot as a typed reply (:class:`ErrorCode` + message); the client
turns it into one of the exceptions below. Transient failures derive from
:class:`~failforward.errors.PolicyUnavailableError` (the loop keeps executing its queue, then holds); a model
that does not fit the robot or keys the server refuses are configuration errors.
"""

from __future__ import annotations

from failforward.config.base import ValueEnum
from failforward.errors import ConfigError, FailforwardError, PolicyError, PolicyUnavailableError


class ErrorCode(ValueEnum):
    """Why the server refused a request (the ``code`` of an error reply)."""

    MALFORMED = "malformed"  # not msgpack, or msgpack beyond the limits (depth, lengths, ext types)
    TOO_LARGE = "too_large"  # over the maximum message size, refused before decoding
    BAD_REQUEST = "bad_request"  # wrong frames, keys or value types
    BAD_ARRAY = "bad_array"  # dtype not allowed, shape inconsistent with the data, non-finite numbers
    VERSION = "version"  # another protocol version
    MISMATCH = "mismatch"  # the observation does not fit the served model (joints, state, cameras, horizon)
    BUSY = "busy"  # the server's queue is full; try again
    POLICY = "policy"  # the policy refused the input (its own typed error)
    INTERNAL = "internal"  # the policy failed unexpectedly (logged on the server)


class WireError(FailforwardError):
    """A message could not be decoded or validated; ``code`` says which rule it broke."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class RemotePolicyError(PolicyError):
    """The server answered a request with a typed error that retrying will not fix (``code``: see ErrorCode)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"policy server refused the request ({code}): {message}")
        self.code = code


class ServerBusyError(PolicyUnavailableError):
    """The server's queue was full; the request was not served (transient)."""


class InvalidReplyError(PolicyUnavailableError):
    """The server's reply was not a valid message, or its chunk had the wrong shape/dtype or non-finite values.

    Such a chunk never reaches the robot; treated as transient (the loop holds) since a restarted server may be fine.
    """


class ServerDisconnectedError(PolicyUnavailableError):
    """The connection to the server dropped while a request was in flight (the server died or restarted)."""


class HandshakeMismatchError(ConfigError):
    """The served model does not fit this robot (joints, state, cameras, control rate) or is not the pinned model."""


class AuthenticationError(ConfigError):
    """The CURVE handshake failed: the server refused this client's key, or one side uses CURVE and the other not."""


class InsecureBindError(ConfigError):
    """A server was asked to listen beyond loopback without CURVE keys."""


class KeyFileError(ConfigError):
    """A CURVE key file or key environment variable is missing or unreadable."""
