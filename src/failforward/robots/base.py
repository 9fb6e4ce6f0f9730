"""The robot driver interface every arm (simulated or real) implements.

A driver knows its features before ``connect()``; ``send_action`` returns the command it
actually sent (after the device's own clamping), so the recorder logs the truth.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Any, TypeVar

from failforward.types import EpisodeOutcome, JointCommand, Observation, RobotFeatures

DriverT = TypeVar("DriverT", bound="RobotDriver")


class RobotDriver(abc.ABC):
    """Connect, observe, command, disconnect. Use as a context manager."""

    @property
    @abc.abstractmethod
    def features(self) -> RobotFeatures:
        """Joints (in command order, with units and limits) and cameras; valid before ``connect()``."""

    @property
    @abc.abstractmethod
    def is_connected(self) -> bool:
        """True between a successful ``connect()`` and ``disconnect()``."""

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the device (port, socket, simulator). Raises ``DriverError`` on failure."""

    @abc.abstractmethod
    def get_observation(self) -> Observation:
        """Read joint state and the configured cameras now."""

    @abc.abstractmethod
    def send_action(self, command: JointCommand) -> JointCommand:
        """Command joint positions ``[A]``; returns what was actually sent to the device."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Release the device, leaving it safe (held or torque-safe). Idempotent."""

    def __enter__(self: DriverT) -> DriverT:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()


class EpisodicDriver(RobotDriver):
    """A driver that can restart an episode from a seed and judge it (simulators).

    Privileged state (object poses, contacts, success) is exposed here and never in ``Observation``.
    """

    @abc.abstractmethod
    def reset(self, seed: int) -> Observation:
        """Start a new episode from the seeded initial state; returns its first observation."""

    @abc.abstractmethod
    def privileged_state(self) -> Any:
        """Simulator state for experts, oracles and labels (never for the policy's inputs)."""

    @abc.abstractmethod
    def episode_outcome(self) -> EpisodeOutcome:
        """Success so far, and if not, the furthest stage reached and why it failed."""

    @property
    @abc.abstractmethod
    def task_prompt(self) -> str:
        """The language instruction of the current task."""

    @property
    def episode_id(self) -> str | None:
        """Identity the robot gave the episode started by the last ``reset`` (a remote bridge names its
        episodes so that every process tags its output alike); ``None`` lets the loop make one up."""
        return None
