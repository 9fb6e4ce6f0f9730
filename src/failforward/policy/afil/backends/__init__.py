"""AFIL backends behind :class:`failforward.policy.base.PolicyBackend`, chosen by ``BackendConfig.backend``."""

from failforward.policy.afil.backends.base import AfilBackend
from failforward.policy.afil.backends.registry import backend_class, make_backend, register_backend, registered_backends

__all__ = ["AfilBackend", "backend_class", "make_backend", "register_backend", "registered_backends"]
