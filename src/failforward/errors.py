"""One exception hierarchy for failforward.

Every error the core raises derives from :class:`FailforwardError`. Messages say what
was wrong and how to fix it, so a roboticist reading a log line can act on it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FailforwardError(Exception):
    """Base class of every error raised by failforward."""


class ConfigError(FailforwardError):
    """A configuration value is missing, out of range or inconsistent."""


class UnknownNameError(ConfigError, KeyError):
    """A name (preset, driver, backend, task) is not registered.

    The message lists the valid names and the closest match ("did you mean").
    """

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        valid = sorted(valid)
        close = difflib.get_close_matches(name, valid, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        super().__init__(f"Unknown {kind} {name!r}.{hint} Valid {kind} names: {', '.join(valid)}.")
        self.kind, self.name, self.valid = kind, name, valid

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class ShapeError(FailforwardError, ValueError):
    """An array has the wrong shape or dtype for where it is going."""


class SafetyError(FailforwardError):
    """A command was rejected by the safety layer (non-finite, or the e-stop is latched)."""


class DriverError(FailforwardError):
    """A robot driver failed to connect, read or write."""


class NotConnectedError(DriverError):
    """A driver method that needs a connection was called before ``connect()``."""


class PolicyError(FailforwardError):
    """A policy backend could not produce an action chunk."""


class PolicyUnavailableError(PolicyError):
    """The policy cannot answer now (a remote policy server is down, busy, or sent an unusable reply).

    Transient: the loop keeps executing the chunk it has, then holds, and asks again; the next call may succeed
    (a restarted server is reconnected to).
    """


class PolicyTimeoutError(PolicyUnavailableError):
    """No answer within the request's timeout (a slow or dead policy server)."""


class ExpertError(PolicyError):
    """The scripted expert cannot plan from the current state (e.g. IK did not converge)."""


class RecordingError(FailforwardError):
    """An episode file could not be written or read back."""


class PolicyStarvedError(PolicyError):
    """The robot held with an empty action queue for longer than ``broker.max_starvation_s``: the policy's chunks
    are late or failing (a dead policy server, an inference error). The episode is aborted with this reason."""
