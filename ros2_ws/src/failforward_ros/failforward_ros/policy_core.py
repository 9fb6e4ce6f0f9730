"""The policy node's logic without ROS: a robot reached over topics, and the control loop driving it.

:class:`RemoteRobot` is a :class:`~failforward.robots.base.EpisodicDriver` whose observations
arrive and whose commands leave through a :class:`RobotLink` (the node implements it with rclpy).
With a simulator the bridge runs in lockstep: each command advances one tick and is followed by
one observation (and one privileged-state message); a repeated command (its echo was late) is followed by
the same observation again, which is not taken for the next one. Stamps are the bridge's graph clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from failforward.errors import DriverError, NotConnectedError
from failforward.robots.base import EpisodicDriver
from failforward.types import ActionChunk, EpisodeOutcome, JointCommand, Observation, RobotFeatures, TickRecord
from failforward.types import TickSubscriber as _TickSubscriber
from failforward_ros.episode import EpisodeStart

STAMP_STEP_S = 1e-6  # [s] the least a command's stamp follows the previous one by (stamps round to 1 µs)


class RobotLink(Protocol):
    """Transport to the robot bridge."""

    def request_reset(self, timeout_s: float) -> EpisodeStart:
        """Ask the bridge for a new episode; returns the identity it gave it."""
        ...

    def publish_command(self, positions: np.ndarray, stamp: float) -> None: ...


@runtime_checkable
class DepthLink(RobotLink, Protocol):
    """A link that can also ask the bridge to publish the head camera's depth, pose and robot mask now."""

    def request_depth(self, timeout_s: float) -> None: ...


@dataclass
class _Inbox:
    observation: Observation | None = None
    observation_count: int = 0
    sim: tuple[Any, EpisodeOutcome] | None = None
    sim_count: int = 0
    echoes: dict[float, np.ndarray] = field(default_factory=dict)
    images: dict[str, tuple[float, np.ndarray]] = field(default_factory=dict)
    object_state: tuple[float, np.ndarray] | None = None


class RemoteRobot(EpisodicDriver):
    """A robot on the other side of the node graph. Thread-safe: messages arrive on the executor thread."""

    def __init__(
        self,
        features: RobotFeatures,
        prompt: str,
        link: RobotLink,
        *,
        episodic: bool,
        timeout_s: float = 2.0,
        frame_wait_s: float = 0.2,
        stale_image_s: float = 0.5,
        resend_s: float = 0.5,
    ) -> None:
        self._features, self._prompt, self._link = features, prompt, link
        self._episodic, self.timeout_s, self.frame_wait_s = episodic, timeout_s, frame_wait_s
        self.stale_image_s, self.resend_s = stale_image_s, resend_s
        self._inbox = _Inbox()
        self.dropped_frames = self.resent = 0
        self._last_command: tuple[np.ndarray, float] | None = None
        self._cond = threading.Condition()
        self._connected = False
        self._episode: EpisodeStart | None = None
        self._marks_at_send: tuple[int, int] | None = None  # message counts when the last command left
        self._stamp = float("-inf")  # [s] stamp of the last command published
        self._handed = float("-inf")  # [s] stamp of the newest observation handed to the loop
        self.last_stamp = 0.0  # [s] graph clock of the newest observation handed to the loop

    # --------------------------------------------------- message callbacks
    def deliver_observation(self, observation: Observation) -> None:
        with self._cond:
            self._inbox.observation, self._inbox.observation_count = observation, self._inbox.observation_count + 1
            self._cond.notify_all()

    def deliver_image(self, camera: str, stamp: float, rgb: np.ndarray) -> None:
        with self._cond:
            self._inbox.images[camera] = (stamp, rgb)
            self._cond.notify_all()

    def deliver_object_state(self, stamp: float, state: np.ndarray) -> None:
        """Object poses ``[7 · n]`` stamped ``stamp`` [s] (``objects/poses``)."""
        with self._cond:
            self._inbox.object_state = (stamp, state)
            self._cond.notify_all()

    def deliver_sim_state(self, state: Any, outcome: EpisodeOutcome) -> None:
        with self._cond:
            self._inbox.sim, self._inbox.sim_count = (state, outcome), self._inbox.sim_count + 1
            self._cond.notify_all()

    def deliver_echo(self, stamp: float, positions: np.ndarray) -> None:
        with self._cond:
            self._inbox.echoes[round(stamp, 6)] = positions
            self._cond.notify_all()

    # ------------------------------------------------------------- driver
    @property
    def features(self) -> RobotFeatures:
        return self._features

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def task_prompt(self) -> str:
        return self._prompt

    @property
    def episode_id(self) -> str | None:
        """The bridge's identity of the episode the last ``reset`` started (``None`` before any)."""
        return None if self._episode is None else self._episode.episode_id

    def connect(self) -> None:
        self._connected = True

    def disconnect(self) -> None:
        self._connected = False

    def reset(self, seed: int) -> Observation:
        """Ask the bridge for a new episode (it picks the seed sequence) and return its first observation."""
        self._require_connected()
        marks = self._marks()
        self._episode = self._link.request_reset(self.timeout_s)
        self._marks_at_send, self._last_command = None, None
        # the episode's clock starts at its first stamp: a bridge started anew (its clock from 0) is followed too,
        # and nothing stamped before the episode counts as fresh
        self._handed = self._stamp = self._episode.stamp - STAMP_STEP_S
        with self._cond:
            self._inbox.echoes.clear()
        return self._wait_new(marks)

    def get_observation(self) -> Observation:
        """Lockstep (simulator): the observation that followed the last command; else the latest one."""
        self._require_connected()
        if not self._episodic or self._marks_at_send is None:
            return self._latest()
        observation = self._wait_new(self._marks_at_send)
        self._marks_at_send = None
        return observation

    def send_action(self, command: JointCommand) -> JointCommand:
        """Publish ``command`` and wait for the bridge's echo of what it sent; ``DriverError`` after ``timeout_s``.

        The command's stamp is the graph clock of the observation it answers (the loop stamps it so); the bridge
        acts on each stamp once, and only on stamps from the current episode's start on. A command not echoed
        within ``resend_s`` is published again with the same stamp (a lost reliable sample is otherwise repaired
        only at the next DDS heartbeat, seconds later); the bridge echoes it again.
        """
        self._require_connected()
        stamp = round(max(command.timestamp, self._stamp + STAMP_STEP_S), 6)
        self._stamp = stamp
        self._marks_at_send = self._marks()
        self._last_command = (command.positions, stamp)
        self._link.publish_command(command.positions, stamp)
        if not self._await(lambda: stamp in self._inbox.echoes):
            raise DriverError(
                f"robot_bridge did not acknowledge a command within {self.timeout_s} s "
                f"(resent every {self.resend_s} s): is it active (lifecycle) and not "
                "e-stopped?"
            )
        with self._cond:
            sent = self._inbox.echoes.pop(stamp)
            for late in [s for s in self._inbox.echoes if s <= stamp]:  # echoes of repeats, answered already
                del self._inbox.echoes[late]
        return JointCommand(stamp, sent)

    def privileged_state(self) -> Any:
        with self._cond:
            if self._inbox.sim is None:
                raise DriverError("No sim/state received: privileged state exists only for a simulated robot.")
            return self._inbox.sim[0]

    def episode_outcome(self) -> EpisodeOutcome:
        with self._cond:
            if self._inbox.sim is None:
                return EpisodeOutcome(False, 0, "no outcome received from the simulator")
            return self._inbox.sim[1]

    # ------------------------------------------------------------ helpers
    def _require_connected(self) -> None:
        if not self._connected:
            raise NotConnectedError("RemoteRobot is not connected; activate the policy node.")

    def _marks(self) -> tuple[int, int]:
        with self._cond:
            return self._inbox.observation_count, self._inbox.sim_count

    def _wait_new(self, marks: tuple[int, int]) -> Observation:
        def fresh() -> bool:
            newest = self._inbox.observation
            sim_ok = not self._episodic or self._inbox.sim_count > marks[1]
            later = newest is not None and newest.timestamp > self._handed  # not a repeat of the last one
            return self._inbox.observation_count > marks[0] and sim_ok and later

        if not self._await(fresh, resend=self._marks_at_send is not None):
            raise DriverError(
                f"No fresh observation from robot_bridge within {self.timeout_s} s "
                "(stale joint_states or sim/state): is the bridge running and active?"
            )
        with self._cond:
            return self._with_side_channels(self._received())

    def _await(self, condition: Callable[[], bool], resend: bool = True) -> bool:
        """Wait up to ``timeout_s`` for ``condition`` (checked under the lock); every ``resend_s`` publish the last
        command again when ``resend`` (the bridge answers a repeated stamp with its echo and observation)."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            remaining = deadline - time.monotonic()
            with self._cond:
                if self._cond.wait_for(condition, timeout=max(0.0, min(self.resend_s, remaining))):
                    return True
            if remaining <= self.resend_s:
                return False
            if resend and self._last_command is not None:
                self.resent += 1
                self._link.publish_command(*self._last_command)

    def _latest(self) -> Observation:
        with self._cond:
            if not self._cond.wait_for(lambda: self._inbox.observation is not None, timeout=self.timeout_s):
                raise DriverError("No joint_states received from robot_bridge.")
            return self._with_side_channels(self._received())

    def _received(self) -> Observation:
        """The newest observation, once one arrived (the callers wait for it). Call with the lock held."""
        observation = self._inbox.observation
        if observation is None:
            raise DriverError("No joint_states received from robot_bridge.")
        return observation

    def _with_side_channels(self, observation: Observation) -> Observation:
        """Attach each camera's frame of the same stamp; waits ``frame_wait_s``, then takes the latest
        frame and counts a dropped frame (images travel best effort). Object poses, when the robot has
        objects, must carry the joint state's stamp exactly. Call with the lock held."""
        self.last_stamp = self._handed = observation.timestamp
        if self._features.object_names:
            observation = replace(observation, object_state=self._object_state(observation.timestamp))
        cameras = self._features.camera_names
        if not cameras:
            return observation

        def matched() -> bool:
            return all(abs(self._inbox.images.get(c, (-1.0, None))[0] - observation.timestamp) < 1e-6 for c in cameras)

        if not self._cond.wait_for(matched, timeout=self.frame_wait_s):
            self.dropped_frames += 1
        missing = [c for c in cameras if c not in self._inbox.images]
        if missing:
            raise DriverError(f"No frames received from cameras {missing}: check the bridge's camera topics.")
        stale = {c: observation.timestamp - self._inbox.images[c][0] for c in cameras}
        stale = {c: age for c, age in stale.items() if abs(age) > self.stale_image_s}
        if stale:
            raise DriverError(
                f"Stale camera images {stale} [s] behind the joint state (limit {self.stale_image_s} s): "
                "the policy would act on an old view; check the camera and the image topics."
            )
        images = {c: self._inbox.images[c][1] for c in cameras}
        return replace(observation, images=images)

    def _object_state(self, stamp: float) -> np.ndarray:
        """The object poses stamped ``stamp``; waits ``frame_wait_s`` for them (reliable topic, other order)."""

        def matched() -> bool:
            return self._inbox.object_state is not None and abs(self._inbox.object_state[0] - stamp) < 1e-6

        arrived = self._cond.wait_for(matched, timeout=self.frame_wait_s)
        state = self._inbox.object_state
        if not arrived or state is None:
            got = "none" if state is None else f"stamp {state[0]:.3f} s"
            raise DriverError(
                f"No objects/poses for the joint state at {stamp:.3f} s ({got}): the policy needs "
                "the object poses of the same tick; is the bridge's robot.object_state on?"
            )
        return state[1]


class ChunkPublisher(_TickSubscriber):
    """Loop subscriber calling ``on_chunk(stamp [s], chunk)`` whenever a new chunk was inferred."""

    def __init__(self, on_chunk: Callable[[float, ActionChunk], None]) -> None:
        self.on_chunk = on_chunk

    def on_tick(self, tick: TickRecord) -> None:
        if tick.chunk is not None:
            self.on_chunk(tick.observation.timestamp, tick.chunk)
