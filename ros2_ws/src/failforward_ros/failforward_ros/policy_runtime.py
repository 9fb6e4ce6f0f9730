"""Builds the policy node's control loop from a ``RunConfig`` (no ROS here; the node passes the link)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from failforward.config import RunConfig
from failforward.control.broker import ChunkBroker
from failforward.control.loop import ControlLoop, EpisodeResult
from failforward.control.safety import SafetyLayer
from failforward.errors import DriverError
from failforward.policy.registry import PolicyContext, make_policy
from failforward.record.recorder import EpisodeRecorder
from failforward.robots.base import EpisodicDriver
from failforward.robots.registry import make_driver
from failforward.types import ActionChunk
from failforward_ros.policy_core import ChunkPublisher, RemoteRobot, RobotLink
from failforward_ros.preview import ChunkPreview

logger = logging.getLogger(__name__)


class LinkError(DriverError):
    """The robot bridge could not be reached (service missing, refused, or timed out)."""


class PolicyRuntime:
    """The loop of the policy node: policy → broker → safety → :class:`RemoteRobot` → bridge."""

    def __init__(self, config: RunConfig, link: RobotLink, on_chunk: Callable[[float, ActionChunk], None],
                 on_episode: Callable[[EpisodeResult], None]) -> None:
        self.config = config
        description = make_driver(config.robot)  # only for features and kind; never connected here
        self.features = description.features
        episodic = isinstance(description, EpisodicDriver)
        prompt = description.task_prompt if episodic else ""
        self.robot = RemoteRobot(self.features, prompt, link, episodic=episodic)
        context = PolicyContext(self.features, getattr(config.robot, "task", ""), prompt,
                                self.robot.privileged_state if episodic else None)
        policy = make_policy(config.policy, context)
        subscribers = [ChunkPublisher(on_chunk)]
        if config.record.enabled:
            subscribers.append(EpisodeRecorder(config.record, time.strftime("ros-%Y%m%d-%H%M%S")))
        safety = SafetyLayer(self.features, config.safety, config.loop.rate_hz)
        self.loop = ControlLoop(self.robot, policy, ChunkBroker(config.broker), safety, config.loop, prompt,
                                subscribers)
        if config.recovery.enabled:  # PMC needs the simulator's depth and robot mask in-process
            logger.warning("recovery.enabled is ignored by policy_node: corrective execution runs in-process "
                           "(failforward demo) for now; the node graph runs the policy and the supervisor only.")
        self.preview = ChunkPreview(self.features)
        self.on_episode = on_episode
        self._stopped = threading.Event()

    def run_episodes(self) -> None:
        """Run ``config.episodes`` episodes (stops early on ``stop``); reports each through ``on_episode``."""
        self._stopped.clear()
        self.robot.connect()
        task = getattr(self.config.robot, "task", "")
        for index in range(self.config.episodes):
            if self._stopped.is_set():
                break
            result = self.loop.run_episode(index, self.config.seed + index, task=task)
            logger.info("episode %d: %s", index, result.outcome)
            self.on_episode(result)

    def stop(self) -> None:
        self._stopped.set()
        self.loop.request_stop()
