"""The robot bridge's logic without ROS: a driver behind the safety layer, a deadman and an e-stop.

Every command that reaches the driver passes :class:`~failforward.control.safety.SafetyLayer`.
A latched :class:`~failforward.control.estop.EStop` rejects commands until ``clear_estop``; the
:class:`~failforward.control.watchdog.DeadmanWatchdog` (fed by incoming commands) makes the safety
layer hold the last safe command when no command arrived for ``safety.watchdog_timeout_s``
(hardware only: a simulator does not move between commands).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import numpy as np

from failforward.config import RunConfig
from failforward.control.assembly import task_prompt
from failforward.control.estop import EStop
from failforward.control.safety import SafetyLayer, SafetyResult
from failforward.control.watchdog import DeadmanWatchdog
from failforward.errors import DriverError, SafetyError
from failforward.robots.base import EpisodicDriver
from failforward.robots.capabilities import SceneAccess
from failforward.robots.registry import make_driver
from failforward.types import EpisodeOutcome, JointCommand, Observation, RobotFeatures
from failforward_ros.bridge_cameras import DepthExtras, SceneCameras, on_demand_depth_cameras
from failforward_ros.episode import EpisodeStart

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandResult:
    """What happened to one incoming command: ``sent`` (None if rejected) and the safety verdict."""

    sent: JointCommand | None
    safety: SafetyResult | None
    rejected_reason: str = ""
    repeated: bool = False  # the sender repeated the last command (its echo was late): ``sent`` is that echo


STAMP_TOLERANCE_S = 1e-7  # [s] stamps closer than this are the same: they cross messages as integer nanoseconds


class BridgeCore:
    """Owns the driver of one robot; the node only converts messages and calls this."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.driver = make_driver(config.robot)
        # A simulator's MuJoCo scene: camera intrinsics, and depth, pose and robot mask on request.
        scene_driver = self.driver if isinstance(self.driver, SceneAccess) else None
        self.scene_driver: SceneAccess | None = scene_driver
        self.cameras = None if scene_driver is None else SceneCameras(lambda: scene_driver.scene)
        self.on_demand_depth = on_demand_depth_cameras(config) if self.cameras is not None else ()
        self.estop = EStop()
        self.watchdog = None if self.lockstep else DeadmanWatchdog(config.safety.watchdog_timeout_s)
        self.safety = SafetyLayer(
            self.driver.features, config.safety, config.loop.rate_hz, watchdog=self.watchdog, estop=self.estop
        )
        self.next_seed = config.seed
        self.episode: EpisodeStart | None = None
        self.last_sent: JointCommand | None = None  # the newest command acted on this episode (graph clock)
        self.clock_offset = 0.0  # [s] graph clock − robot clock (see graph_time)
        self._newest = float("-inf")  # [s] graph clock of the newest observation handed out
        self.commands_rejected = 0

    @property
    def features(self) -> RobotFeatures:
        return self.driver.features

    @property
    def lockstep(self) -> bool:
        """Simulators advance one tick per command and publish right after it."""
        return isinstance(self.driver, EpisodicDriver)

    @property
    def prompt(self) -> str:
        return self.driver.task_prompt if isinstance(self.driver, EpisodicDriver) else ""

    def start(self) -> Observation:
        """Connect and show the first seed's scene; the first ``reset`` starts that same seed again, so that the
        policy's episode ``k`` runs seed ``config.seed + k``, the seed it reports and records."""
        self.driver.connect()
        return self.reset(consume_seed=False)

    def reset(self, *, consume_seed: bool = True) -> Observation:
        """New episode (simulators: the next seed), named in ``self.episode``; re-seeds the safety layer from the
        measured state. On hardware the robot stays where it is: the episode is only a new name.

        The graph clock continues where the last episode left it: a simulator's clock restarts at reset, so its
        new time 0 is published one tick after the newest stamp so far, observation or command (on hardware the
        offset stays 0).

        An episode in which nothing was acted on yet, of the same seed (the scene ``start`` shows on activation),
        is continued, not replaced: it keeps its identity, so that recordings hold one file per episode run.
        """
        seed = self.next_seed
        if isinstance(self.driver, EpisodicDriver):
            observation = self.driver.reset(seed)
            newest = max(self._newest, self.last_sent.timestamp if self.last_sent else float("-inf"))
            if newest > float("-inf"):
                tick = 1.0 / self.driver.features.control_hz
                self.clock_offset = round(max(self.clock_offset, newest + tick - observation.timestamp), 6)
        else:
            observation = self.driver.get_observation()
        self.next_seed += int(consume_seed)
        self.safety.reset(observation.joint_positions)
        observation = self._on_graph_clock(observation)
        if self.episode is None or self.last_sent is not None or self.episode.seed != seed:
            self.episode = EpisodeStart.new(seed, observation.timestamp, task_prompt(self.driver))
        self.last_sent = None
        return observation

    def graph_time(self, robot_time: float) -> float:
        """[s] on the graph clock, the stamp of every message the bridge publishes: the robot clock plus an offset
        that makes it continue across a simulator's resets, so stamps never go backwards in the graph."""
        return robot_time + self.clock_offset

    def _on_graph_clock(self, observation: Observation) -> Observation:
        observation = replace(observation, timestamp=self.graph_time(observation.timestamp))
        self._newest = max(self._newest, observation.timestamp)
        return observation

    def command(self, target: np.ndarray, stamp: float) -> CommandResult:
        """Clamp ``target [A]`` and send it, unless the e-stop is latched. Stamps are the graph clock of the
        observation the command answers; each is acted on once: the last command repeated (same stamp) is answered
        with what was sent, an older stamp, or one from before this episode started, is rejected."""
        if self.watchdog is not None:
            self.watchdog.feed()
        last = self.last_sent
        if last is not None and abs(stamp - last.timestamp) < STAMP_TOLERANCE_S:
            return CommandResult(last, None, repeated=True)
        floor = last.timestamp if last is not None else self.episode.stamp if self.episode else float("-inf")
        if stamp < floor - STAMP_TOLERANCE_S:
            self.commands_rejected += 1
            return CommandResult(
                None,
                None,
                f"a command stamped {stamp:.6f} s came after {floor:.6f} s (the last command or the episode's "
                "start): stale or replayed, not sent",
            )
        try:
            result = self.safety.clamp(target)
        except SafetyError as exc:  # latched e-stop
            self.commands_rejected += 1
            return CommandResult(None, None, f"{exc} (call the clear_estop service)")
        sent = self.driver.send_action(JointCommand(stamp, result.command))
        self.last_sent = JointCommand(stamp, sent.positions)
        return CommandResult(sent, result)

    def deadman_hold(self) -> JointCommand | None:
        """Hardware: re-send the held command once the command stream stalled; ``None`` otherwise."""
        if self.watchdog is None or not self.watchdog.expired or self.safety.last_command is None:
            return None
        try:
            held = self.safety.clamp(self.safety.last_command)  # expired watchdog → a hold
        except SafetyError:
            return None  # e-stopped: nothing is sent at all
        return self.driver.send_action(JointCommand(time.monotonic(), held.command))  # hardware: robot clock

    def trigger_estop(self, reason: str) -> None:
        self.estop.trigger(reason)

    def clear_estop(self) -> None:
        """Release the e-stop and restart the rate limit from where the arm is now."""
        self.estop.reset()
        self.safety.reset(self.observe().joint_positions)

    def observe(self) -> Observation:
        """The robot's observation now, stamped on the graph clock."""
        return self._on_graph_clock(self.driver.get_observation())

    def sim_state(self):
        """Privileged state and outcome for simulators, ``None`` on hardware."""
        if isinstance(self.driver, EpisodicDriver):
            return self.driver.privileged_state(), self.driver.episode_outcome()
        return None

    def outcome(self) -> EpisodeOutcome | None:
        return self.driver.episode_outcome() if isinstance(self.driver, EpisodicDriver) else None

    def intrinsics(self, camera: str, height: int, width: int) -> np.ndarray | None:
        if self.scene_driver is None:
            return None
        return self.scene_driver.scene.camera_intrinsics(camera, height, width)

    def capture_depth(self) -> dict[str, tuple[float, np.ndarray]]:
        """Depth of each on-demand depth camera now: ``{camera: (stamp [s], float32 [H, W] [m])}``.

        Raises ``DriverError`` saying how to fix it when the bridge has none (recovery disabled here, or not a
        simulator: stream depth through ``robot.depth_cameras`` instead).
        """
        if not self.on_demand_depth or self.scene_driver is None or self.cameras is None:
            raise DriverError(
                "robot_bridge captures no depth on request: it does so for PMC's head camera of a "
                "simulated robot when recovery.enabled (mode pmc) is set in its parameters, or "
                "streams robot.depth_cameras every tick"
            )
        height, width = self.scene_driver.image_size
        frames = {camera: self.cameras.depth(camera, height, width) for camera in self.on_demand_depth}
        return {camera: (self.graph_time(stamp), depth) for camera, (stamp, depth) in frames.items()}

    def depth_extras(self, camera: str, height: int, width: int) -> DepthExtras:
        """Pose and robot mask to publish with ``camera``'s depth (simulators; empty on hardware for now)."""
        return DepthExtras() if self.cameras is None else self.cameras.extras(camera, height, width)

    def stop(self) -> None:
        if self.cameras is not None:
            self.cameras.close()
        self.driver.disconnect()
