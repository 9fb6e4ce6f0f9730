"""Backends registered by name; a backend config names its class through its ``kind`` field.

Example:
    >>> backend = make_backend(OpenAIBackendConfig(base_url="http://127.0.0.1:8000/v1"))
    >>> oracle = make_backend(SimOracleConfig(task="transfer_cube"), state_source=driver.privileged_state)

Built-in backends are imported on first use, so MuJoCo or transformers are only needed by the backend
actually chosen. Constructor resources that are not configuration (the oracle's ``state_source``)
are passed as keyword arguments and forwarded to the class's ``from_config``; a backend ignores the
resources it does not use, so callers may pass the same set to any backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from failforward.registry import Registry
from failforward.supervisor.backends.base import SupervisorBackend

BackendT = TypeVar("BackendT", bound=type[SupervisorBackend])
BACKENDS: Registry[Any] = Registry(
    "supervisor backend",
    {
        "openai": "failforward.supervisor.backends.openai_compat",
        "sim_oracle": "failforward.supervisor.backends.sim_oracle",
        "qwen_local": "failforward.supervisor.backends.qwen_local",
        "scripted": "failforward.supervisor.backends.scripted",
    },
)


def register_backend(kind: str) -> Callable[[BackendT], BackendT]:
    """Class decorator: register a backend with a ``from_config(config, **resources)`` classmethod."""
    return BACKENDS.register(kind)


def registered_backends() -> tuple[str, ...]:
    """Names ``make_backend`` accepts."""
    return BACKENDS.names()


def make_backend(config: Any, **resources: Any) -> SupervisorBackend:
    """Build the backend named by ``config.kind``."""
    return BACKENDS.get(str(getattr(config, "kind", None))).from_config(config, **resources)
