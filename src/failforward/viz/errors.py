"""Errors of the live view. None reaches the control loop once the view runs: publishing failures are logged."""

from __future__ import annotations

from failforward.errors import FailforwardError


class LiveViewError(FailforwardError):
    """The live view cannot start (the ``viz`` extra is missing, the server failed)."""


class LiveViewPortError(LiveViewError):
    """The WebSocket server could not listen on its host and port (taken by another process, or not allowed)."""
