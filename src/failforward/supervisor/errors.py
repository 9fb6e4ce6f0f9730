"""Errors of the supervisor. Backends never raise these into the control loop: they return typed results."""

from __future__ import annotations

from failforward.errors import ConfigError, FailforwardError


class SupervisorError(FailforwardError):
    """Base of the supervisor's errors."""


class PromptError(SupervisorError, ValueError):
    """A prompt cannot be built from the given frames, options or labels."""


class BackendUnavailableError(SupervisorError, ConfigError):
    """A backend's optional dependency or resource is missing (the message says what to install or pass)."""


class BackendCallError(SupervisorError):
    """A backend call failed; ``reason`` is the :class:`NoDiagnosis` reason it maps to."""

    reason = "backend_error"


class BackendTimeoutError(BackendCallError):
    """The server did not answer within the configured timeout (raise ``timeout_s`` or check the server load)."""

    reason = "timeout"


class BackendConnectionError(BackendCallError):
    """The server could not be reached (check ``base_url`` and that vLLM/SGLang is running)."""

    reason = "connection"


class BackendHTTPError(BackendCallError):
    """The server answered with an HTTP error status."""

    reason = "http_error"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
