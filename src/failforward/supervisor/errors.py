"""Errors of the supervisor. Backends never raise these into the control loop: they return typed results."""

from __future__ import annotations

from failforward.errors import ConfigError, FailforwardError


class SupervisorError(FailforwardError):
    """Base of the supervisor's errors."""


class PromptError(SupervisorError, ValueError):
    """A prompt cannot be built from the given frames, options or labels."""


class BackendUnavailableError(SupervisorError, ConfigError):
    """A backend's optional dependency or resource is missing (the message says what to install or pass)."""
