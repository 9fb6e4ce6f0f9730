"""One registry type for every role that is chosen by name (drivers, policies, supervisor backends,
corrective modes): implementations register under a name; built-in ones live in modules imported
on first use, so an optional dependency (MuJoCo, dynamixel-sdk, franky, transformers) is needed only
by the implementation actually chosen.

Example:
    >>> DRIVERS = Registry("robot driver", {"sim_aloha": "failforward.robots.sim_aloha"})
    >>> @DRIVERS.register("sim_aloha")
    ... class SimAlohaDriver: ...
    >>> DRIVERS.get("sim_alhoa")   # UnknownNameError: ... Did you mean 'sim_aloha'? ...
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from failforward.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name → implementation for one role; ``kind`` names the role in error messages."""

    def __init__(self, kind: str, builtin_modules: Mapping[str, str] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._builtin_modules = dict(builtin_modules or {})

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering the decorated class or builder under ``name``."""

        def decorate(entry: T) -> T:
            self._entries[name] = entry
            return entry

        return decorate

    def names(self) -> tuple[str, ...]:
        """Every name ``get`` accepts (registered and built-in)."""
        return tuple(sorted(set(self._entries) | set(self._builtin_modules)))

    def get(self, name: str) -> T:
        """The implementation registered as ``name``; an unknown name raises with the closest valid one."""
        if name not in self._entries and name in self._builtin_modules:
            importlib.import_module(self._builtin_modules[name])
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, str(name), self.names()) from None
