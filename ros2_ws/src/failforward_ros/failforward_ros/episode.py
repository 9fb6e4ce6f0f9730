"""Which episode the graph is in: robot_bridge names each episode it starts; every node tags its output with it.

The robot clock restarts at every reset in simulation and a supervisor answer may be computed from frames a
tick ahead of the policy node's loop, so timestamps cannot tell a late answer from a stale one. The bridge gives
each episode an identity when it resets, returns it from ``~/reset`` and publishes it, latched, on
``episode/start`` before the episode's first observation; answers carry it back (``SupervisorReport.episode_id``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from failforward.config import RunConfig
from failforward.robots.base import EpisodicDriver
from failforward.robots.registry import DRIVERS


@dataclass(frozen=True)
class EpisodeStart:
    """One episode started by robot_bridge.

    Attributes:
        episode_id: unique identity (a UUID's hex), the ``EpisodeInfo.episode_id`` of every node's loop.
        seed: the simulator's seed (hardware: the bridge's episode counter).
        stamp: [s] graph-clock stamp of the episode's first observation; the bridge acts on commands stamped from
            it on (see ``BridgeCore.graph_time``).
        prompt: the task's language instruction as the robot states it (simulators know it; hardware: ``""``);
            recorders keep it, so that a recording of the graph trains with the prompt the policy ran with.
    """

    episode_id: str
    seed: int
    stamp: float
    prompt: str = ""

    @classmethod
    def new(cls, seed: int, stamp: float, prompt: str = "") -> EpisodeStart:
        """A freshly named episode."""
        return cls(uuid.uuid4().hex, seed, stamp, prompt)


def simulated(config: RunConfig) -> bool:
    """True when ``config``'s robot is a simulator (an episodic driver, found without building it): the graph then
    runs on simulated time, robot_bridge's graph clock published on ``/clock``."""
    driver = DRIVERS.get(config.robot.kind)
    return isinstance(driver, type) and issubclass(driver, EpisodicDriver)
