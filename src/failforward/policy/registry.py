"""Policies registered by name; ``PolicyConfig.kind`` selects one.

A builder receives the policy config and a :class:`PolicyContext` describing the robot, so that
policies needing privileged simulator state (the scripted expert) get it injected explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from failforward.policy.base import PolicyBackend
from failforward.registry import Registry
from failforward.types import RobotFeatures


@dataclass(frozen=True)
class PolicyContext:
    """What a policy builder may know about the robot it will drive.

    Attributes:
        features: joints (order, units, limits) and cameras of the driver.
        task: task name (e.g. ``"transfer_cube"``).
        prompt: language instruction of the task.
        privileged_state: zero-argument callable returning simulator state, or ``None`` on hardware.
        teleop_source: zero-argument callable returning leader-arm joints ``[A]``, or ``None`` without leaders.
    """

    features: RobotFeatures
    task: str
    prompt: str
    privileged_state: Callable[[], Any] | None = None
    teleop_source: Callable[[], Any] | None = None


PolicyBuilder = Callable[[Any, PolicyContext], PolicyBackend]
POLICIES: Registry[PolicyBuilder] = Registry(
    "policy",
    {
        "expert": "failforward.policy.expert.builder",
        "subgoal_expert": "failforward.policy.expert.plug_strip_prompted",
        "hold": "failforward.policy.hold",
        "maniskill_expert": "failforward.policy.maniskill_expert",
        "afil": "failforward.policy.afil.builder",
        "teleop": "failforward.policy.teleop",
        "remote": "failforward.transport.remote_policy",
    },
)


def register_policy(kind: str) -> Callable[[PolicyBuilder], PolicyBuilder]:
    """Decorator registering ``builder(config, context) -> PolicyBackend`` under ``kind``."""
    return POLICIES.register(kind)


def registered_policies() -> tuple[str, ...]:
    return POLICIES.names()


def make_policy(config: Any, context: PolicyContext) -> PolicyBackend:
    """Build the policy named by ``config.kind`` for the robot described by ``context``."""
    return POLICIES.get(config.kind)(config, context)
