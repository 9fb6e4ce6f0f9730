"""Supervisor backends: one interface, implementations registered by name (see :mod:`.registry`)."""

from failforward.supervisor.backends.base import ChatBackend, SupervisorBackend
from failforward.supervisor.backends.registry import make_backend, register_backend, registered_backends

__all__ = ["ChatBackend", "SupervisorBackend", "make_backend", "register_backend", "registered_backends"]
