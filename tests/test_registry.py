"""The shared registry: lazy built-ins, registration, and 'did you mean' on unknown names."""

from __future__ import annotations

import pytest

from failforward.errors import UnknownNameError
from failforward.policy.registry import registered_policies
from failforward.registry import Registry
from failforward.robots.registry import registered_drivers
from failforward.supervisor.backends.registry import registered_backends


def test_builtin_module_is_imported_on_first_use() -> None:
    registry: Registry[object] = Registry("thing", {"hold": "failforward.policy.hold"})
    with pytest.raises(UnknownNameError):  # the module registers into the policy registry, not this one
        registry.get("hold")
    registry.register("local")(42)
    assert registry.get("local") == 42 and registry.names() == ("hold", "local")


def test_unknown_names_suggest_the_closest() -> None:
    registry: Registry[int] = Registry("robot driver")
    registry.register("sim_aloha")(1)
    with pytest.raises(UnknownNameError, match=r"Did you mean 'sim_aloha'\?.*Valid robot driver names: sim_aloha"):
        registry.get("sim_alhoa")


def test_every_role_lists_its_built_ins() -> None:
    assert {"sim_aloha", "aloha", "franka"} <= set(registered_drivers())
    assert {"expert", "hold", "teleop", "afil"} <= set(registered_policies())
    assert {"openai", "sim_oracle", "qwen_local"} <= set(registered_backends())
