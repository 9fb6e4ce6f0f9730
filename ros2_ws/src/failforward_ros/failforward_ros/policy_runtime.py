"""Builds the policy node's control loop from a ``RunConfig`` (no ROS here; the node passes the link).

With ``recovery.enabled`` the loop runs the :class:`~failforward.recovery.RecoveryController` as in-process:
supervisor answers come from ``reports`` (the node delivers ``supervisor/diagnosis``), depth, pose and robot
mask of the head camera from ``frames`` (the node delivers the bridge's depth topics); every transition goes
to ``on_recovery_event`` and to the in-process recorder.

With ``viz.foxglove.enabled`` a :class:`~failforward.viz.foxglove_live.FoxgloveLiveView` serves the loop on
``ws://viz.foxglove.host:port`` from configure to cleanup (ticks, chunks; answers and recovery events when recovery
runs). Its annotated frame is this node's head frame nearest (within 1.5 ticks) to the one the supervisor node saw.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from failforward.config import RunConfig
from failforward.control.assembly import build_loop, policy_context
from failforward.control.loop import EpisodeResult
from failforward.control.plan_step import PlanCycle
from failforward.control.ports import RunObserver
from failforward.errors import ConfigError, DriverError, RecordingError
from failforward.policy.registry import make_policy
from failforward.record.recorder import EpisodeRecorder, RobotClock
from failforward.recovery import RecoveryController, RecoveryEvent
from failforward.robots.registry import describe_robot
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import ActionChunk
from failforward_ros.policy_core import ChunkPublisher, DepthLink, RemoteRobot, RobotLink
from failforward_ros.policy_recovery import CameraFrames, ReportInbox, build_recovery
from failforward_ros.preview import ChunkPreview

if TYPE_CHECKING:
    from failforward.viz.foxglove_live import FoxgloveLiveView

logger = logging.getLogger(__name__)

RUN_PREFIX = "ros"  # the policy node's run directories: ros-<date>-<time>


class LinkError(DriverError):
    """The robot bridge could not be reached (service missing, refused, or timed out)."""


class PolicyRuntime:
    """The loop of the policy node: policy → broker → safety → :class:`RemoteRobot` → bridge."""

    def __init__(
        self,
        config: RunConfig,
        link: RobotLink,
        on_chunk: Callable[[float, ActionChunk], None],
        on_episode: Callable[[EpisodeResult], None],
        on_recovery_event: Callable[[RecoveryEvent], None] | None = None,
        on_plan: Callable[[PlanCycle], None] | None = None,
    ) -> None:
        if config.loop.supervisor_mode == "synchronous":
            raise ConfigError(
                "loop.supervisor_mode=synchronous waits for the supervisor's query in flight, which runs in "
                "supervisor_node here: answers arrive by topic. Set loop.supervisor_mode=asynchronous (or run "
                "in-process, failforward demo, for reproducible benchmarks)."
            )
        self.config, self.link = config, link
        self.live = _live_view(config)  # first; a configure that fails below closes it again (frees the port)
        try:
            self._assemble(on_chunk, on_episode, on_recovery_event, on_plan)
        except BaseException:
            self.close()
            raise

    def _assemble(
        self,
        on_chunk: Callable[[float, ActionChunk], None],
        on_episode: Callable[[EpisodeResult], None],
        on_recovery_event: Callable[[RecoveryEvent], None] | None,
        on_plan: Callable[[PlanCycle], None] | None = None,
    ) -> None:
        """The remote robot, recorder, recovery and loop (with the planner's cycles to ``on_plan`` and the recorder)."""
        config, link = self.config, self.link
        description = describe_robot(config.robot)  # features and prompt; the driver lives in the bridge
        self.features, episodic, prompt = description.features, description.episodic, description.prompt
        self.robot = RemoteRobot(self.features, prompt, link, episodic=episodic)
        # the graph clock: simulated time in simulation, the robot computer's monotonic clock on hardware
        clock: RobotClock = "sim" if episodic else "monotonic"
        recorder = EpisodeRecorder(config.record, RUN_PREFIX, clock=clock) if config.record.enabled else None
        self.recorder = recorder
        self.frames, self.reports = CameraFrames(), ReportInbox(config.supervisor.schedule.max_age_s)
        self.recovery = self._build_recovery(recorder, on_recovery_event)
        context = policy_context(config, self.robot)
        if not episodic:  # hardware behind the bridge: no simulator state for the policy
            context = replace(context, privileged_state=None)
        self.loop = build_loop(
            config,
            self.robot,
            policy=make_policy(config.policy, context),
            reports=self.reports if self.recovery else None,
            corrector=self.recovery,
            subscribers=[
                ChunkPublisher(on_chunk),
                *([recorder] if recorder else []),
                *([self.live] if self.live else []),
            ],
            on_report=_reports_to(recorder, self.live) if self.recovery else None,
            on_plan=_plans_to(on_plan, recorder.record_plan if recorder else None),
        )
        self.preview = ChunkPreview(self.features)
        self.on_episode = on_episode
        self._stopped = threading.Event()

    def _build_recovery(
        self, recorder: EpisodeRecorder | None, on_event: Callable[[RecoveryEvent], None] | None
    ) -> RecoveryController | None:
        """The recovery controller when ``recovery.enabled`` (``RunConfig`` allows it only where it is built)."""
        if not self.config.recovery.enabled:
            return None
        live = self.live.record_event if self.live else None
        sinks = [sink for sink in (on_event, recorder.record_event if recorder else None, live) if sink is not None]

        def publish(event: RecoveryEvent) -> None:
            for sink in sinks:
                sink(event)

        capture = None
        if isinstance(self.link, DepthLink):
            link, timeout_s = self.link, self.robot.timeout_s

            def capture() -> None:
                link.request_depth(timeout_s)

        return build_recovery(self.config, self.features, self.frames, lambda: self.robot.last_stamp, capture, publish)

    def run_episodes(self) -> None:
        """Run ``config.episodes`` episodes (stops early on ``stop``); reports each through ``on_episode``.

        Each call records into a fresh run directory ``<record.output_dir>/ros-<date>-<time>[-n]``: a second
        ``~/start`` never writes over the first one's files."""
        self._stopped.clear()
        if self.recorder is not None:
            try:
                self.recorder.start_run(time.strftime(f"{RUN_PREFIX}-%Y%m%d-%H%M%S"))
            except RecordingError as exc:  # no episode runs unrecorded
                logger.error("episodes not started: %s", exc)
                return
        self.robot.connect()
        task = self.config.robot.task
        for index in range(self.config.episodes):
            if self._stopped.is_set():
                break
            result = self.loop.run_episode(index, self.config.seed + index, task=task)
            logger.info("episode %d: %s", index, result.outcome)
            self.on_episode(result)

    def stop(self, reason: str = "") -> None:
        """End the running episode after its tick (outcome ``aborted: <reason>``, default ``stopped on request``)
        and start no further one."""
        self._stopped.set()
        self.loop.request_stop(reason)

    def close(self) -> None:
        """Stop the Foxglove live view, if any (frees its port). Safe to call twice."""
        if self.live is not None:
            self.live.close()


def _live_view(config: RunConfig) -> FoxgloveLiveView | None:
    """The Foxglove live view of ``viz.foxglove`` (imported only when enabled: ``foxglove-sdk`` is the viz extra)."""
    if not config.viz.foxglove.enabled:
        return None
    from failforward.viz import LAYOUT_PATH
    from failforward.viz.foxglove_live import FoxgloveLiveView

    tolerance_s = 1.5 / config.loop.rate_hz  # frames reach this node and the supervisor node by topic
    live = FoxgloveLiveView.for_run(config, frame_tolerance_s=tolerance_s)
    logger.info("Foxglove live view on %s (layout: %s)", live.url, LAYOUT_PATH)
    return live


def _plans_to(*sinks: Callable[[PlanCycle], None] | None) -> Callable[[PlanCycle], None]:
    """One callback giving each planning cycle to every sink (node publishers, recorder)."""
    targets = [sink for sink in sinks if sink is not None]

    def deliver(cycle: PlanCycle) -> None:
        for sink in targets:
            sink(cycle)

    return deliver


def _reports_to(*observers: RunObserver | None) -> Callable[[SupervisorReport], None]:
    """Hand each supervisor answer the loop collects to every observer given (recorder, live view)."""
    sinks = [o.record_report for o in observers if o is not None]

    def deliver(report: SupervisorReport) -> None:
        for sink in sinks:
            sink(report)

    return deliver
