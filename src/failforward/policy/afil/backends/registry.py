"""Backends registered by name; ``BackendConfig.backend`` picks one (no if/elif factory).

Example:
    >>> from failforward.policy.afil import BackendConfig, make_backend
    >>> policy = make_backend(BackendConfig(backend="torch", model_dir="models/afil_aloha_state"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from failforward.policy.afil.backends.base import AfilBackend
from failforward.policy.afil.config import BackendConfig
from failforward.registry import Registry

BackendT = TypeVar("BackendT", bound=type[AfilBackend])
# Imported on first use so that torch / onnxruntime / tensorrt are only needed by the backend in use.
BACKENDS: Registry[type[AfilBackend]] = Registry(
    "AFIL backend",
    {
        "torch": "failforward.policy.afil.backends.torch_backend",
        "onnxruntime": "failforward.policy.afil.backends.ort_backend",
        "tensorrt": "failforward.policy.afil.backends.trt_backend",
    },
)


def register_backend(kind: str) -> Callable[[BackendT], BackendT]:
    """Class decorator: register an :class:`AfilBackend` under ``kind``."""

    def decorate(cls: BackendT) -> BackendT:
        cls.kind = kind
        BACKENDS.register(kind)(cls)
        return cls

    return decorate


def registered_backends() -> tuple[str, ...]:
    return BACKENDS.names()


def backend_class(kind: str) -> type[AfilBackend]:
    """The class registered as ``kind`` (importing a built-in module on first use)."""
    return BACKENDS.get(kind)


def make_backend(config: BackendConfig) -> AfilBackend:
    """Build the backend named by ``config.backend`` for ``config.model_dir`` (manifest verified)."""
    return backend_class(config.backend).from_config(config)
