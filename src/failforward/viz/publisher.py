"""The live view's publisher: turns queued work into messages on Foxglove channels (publisher thread only).

Topics (Foxglove schemas where one fits, JSON otherwise; names as in the episode files where they exist):

===================================  =========================  ==============================================
topic                                schema                     content
===================================  =========================  ==============================================
``/joint_states``                    foxglove.JointStates       measured positions and velocities, every tick
``/command/sent``                    foxglove.JointStates       what the driver sent, every tick
``/cameras/<name>/image_raw/         foxglove.CompressedImage   JPEG, at most ``image_hz`` per camera
compressed``
``/supervisor/annotated/compressed`` foxglove.CompressedImage   the frame the answer's symbols refer to, drawn
``/supervisor/symbols``              JSON                       each answer: verdict, commands, symbols [px]
``/supervisor/scene``                foxglove.SceneUpdate       the latest answer as a 3-D text label
``/policy/chunk_preview``            foxglove.SceneUpdate       tool paths of each new chunk (ALOHA), world frame
``/policy/guidance``                 JSON                       λ_t per denoise step of each new chunk
``/recovery/event``                  JSON                       each recovery-machine transition
``/episode``                         JSON                       episode start and outcome
``/log``                             foxglove.Log               readable lines: episodes, answers, recovery
===================================  =========================  ==============================================

Nothing is encoded for a channel no viewer subscribes to.
"""

from __future__ import annotations

import logging
from typing import Any

import foxglove
import numpy as np
from foxglove.channels import CompressedImageChannel, JointStatesChannel, LogChannel, SceneUpdateChannel
from foxglove.messages import LogLevel

from failforward.config import FoxgloveConfig
from failforward.record import topics
from failforward.recovery.events import RecoveryEvent
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.scheduler import SupervisorReport
from failforward.symbols.render import render_symbols
from failforward.types import EpisodeInfo, EpisodeOutcome, RobotFeatures, TickRecord
from failforward.viz import messages, payloads
from failforward.viz.chunk_preview import ChunkPreview
from failforward.viz.work import Item

logger = logging.getLogger(__name__)

ANNOTATED = "/supervisor/annotated/compressed"
SYMBOLS = "/supervisor/symbols"
SCENE = "/supervisor/scene"
CHUNK_PREVIEW = "/policy/chunk_preview"
EPISODE = "/episode"
LOG = "/log"


class LivePublisher:
    """Owns the channels of one Foxglove context; :meth:`handle` is called by one thread only."""

    def __init__(
        self,
        context: foxglove.Context,
        config: FoxgloveConfig,
        head_camera: str = "",
        features: RobotFeatures | None = None,
    ) -> None:
        """``features``: the robot's, when known before the loop runs: its chunk preview (forward kinematics) is
        then built here, on the caller's thread, instead of at the first episode start on the publisher thread."""
        self.config, self._context, self.head_camera = config, context, head_camera
        self.joint_states = JointStatesChannel(topics.JOINT_STATES, context=context)
        self.command = JointStatesChannel(topics.COMMAND_SENT, context=context)
        self.annotated = CompressedImageChannel(ANNOTATED, context=context)
        self.symbols = foxglove.Channel(SYMBOLS, context=context)
        self.scene = SceneUpdateChannel(SCENE, context=context)
        self.preview = SceneUpdateChannel(CHUNK_PREVIEW, context=context)
        self.guidance = foxglove.Channel(topics.GUIDANCE, schema=messages.GUIDANCE_SCHEMA, context=context)
        self.events = foxglove.Channel(topics.RECOVERY_EVENT, context=context)
        self.episode = foxglove.Channel(EPISODE, context=context)
        self.log = LogChannel(LOG, context=context)
        self.cameras: dict[str, CompressedImageChannel] = {}
        self.published = 0
        self._info: EpisodeInfo | None = None
        self._preview: ChunkPreview | None = None
        self._preview_for: tuple[str, ...] | None = None
        self._last_image_ns: dict[str, int] = {}
        if features is not None:
            self._ensure_preview(features)

    def watching_ticks(self) -> bool:
        """Whether a viewer subscribes to anything fed by ticks (checked on the control thread: no allocation
        beyond a tuple of the camera channels)."""
        fixed = (self.joint_states, self.command, self.preview, self.guidance)
        return any(c.has_sinks() for c in fixed) or any(c.has_sinks() for c in tuple(self.cameras.values()))

    def watched_topics(self) -> set[str]:
        """Topics at least one viewer subscribes to now."""
        channels = (*self._fixed(), *tuple(self.cameras.values()))
        return {c.topic() for c in channels if c.has_sinks()}

    def handle(self, item: Item) -> None:
        if item.kind == "start":
            self._start(item.ns, item.value)
        elif item.kind == "tick":
            self._tick(item.ns, item.value)
        elif item.kind == "report":
            self._report(item.ns, item.value, item.frame)
        elif item.kind == "event":
            self._event(item.ns, item.value)
        else:
            self._end(item.ns, item.value)

    def close(self) -> None:
        for channel in (*self._fixed(), *self.cameras.values()):
            channel.close()

    # ------------------------------------------------------------ episodes
    def _start(self, ns: int, info: EpisodeInfo) -> None:
        self._info = info
        self._last_image_ns.clear()
        for camera in info.features.camera_names:
            if camera not in self.cameras:
                self.cameras[camera] = CompressedImageChannel(topics.camera_topic(camera), context=self._context)
        self._ensure_preview(info.features)
        self._send(self.preview, messages.clear_scene(ns), ns)
        self._send(self.scene, messages.clear_scene(ns), ns)
        self._send(self.episode, payloads.episode_start(info), ns)
        text = f"episode {info.episode_index} (seed {info.seed}) started: {info.prompt or info.task}"
        self._send(self.log, messages.log(ns, text, name="episode"), ns)

    def _end(self, ns: int, outcome: EpisodeOutcome) -> None:
        self._send(self.episode, payloads.episode_end(self._info, outcome), ns)
        verdict = "success" if outcome.success else "failure"
        level = LogLevel.Info if outcome.success else LogLevel.Warning
        text = f"episode ended: {verdict} at stage {outcome.stage} ({outcome.reason})"
        self._send(self.log, messages.log(ns, text, name="episode", level=level), ns)

    def _ensure_preview(self, features: RobotFeatures) -> None:
        names = features.joint_names
        if names == self._preview_for:
            return
        self._preview_for = names
        try:
            preview = ChunkPreview(features)
        except ImportError as exc:  # a robot PC without the sim extra: no kinematics model for the paths
            logger.info("Foxglove live view: no chunk preview (%s)", exc)
            preview = None
        self._preview = preview if preview is not None and preview.available else None

    # --------------------------------------------------------------- ticks
    def _tick(self, ns: int, tick: TickRecord) -> None:
        if self._info is None:
            return
        names, obs = self._info.features.joint_names, tick.observation
        if self.joint_states.has_sinks():
            measured = messages.joint_states(ns, names, obs.joint_positions, obs.joint_velocities)
            self._send(self.joint_states, measured, ns)
        if self.command.has_sinks():
            self._send(self.command, messages.joint_states(ns, names, tick.sent.positions, None), ns)
        for camera, image in obs.images.items():
            self._camera(ns, camera, image)
        if tick.chunk is not None:
            self._chunk(ns, tick)

    def _camera(self, ns: int, camera: str, image: np.ndarray) -> None:
        channel = self.cameras.get(camera)
        if channel is None or not channel.has_sinks():
            return
        last = self._last_image_ns.get(camera)
        if last is not None and ns - last < 1e9 / self.config.image_hz:
            return
        self._last_image_ns[camera] = ns
        self._send(channel, messages.jpeg(ns, camera, image, self.config.jpeg_quality), ns)

    def _chunk(self, ns: int, tick: TickRecord) -> None:
        chunk = tick.chunk
        assert chunk is not None
        if chunk.guidance.size and self.guidance.has_sinks():
            payload = messages.guidance_payload(tick.step, tick.observation.timestamp, chunk.guidance, chunk.source)
            self._send(self.guidance, payload, ns)
        if self._preview is not None and self.preview.has_sinks():
            self._send(self.preview, messages.tool_paths(ns, self._preview.paths(chunk)), ns)

    # --------------------------------------------------- answers and events
    def _report(self, ns: int, report: SupervisorReport, frame: np.ndarray | None) -> None:
        result, summary = report.result, payloads.report_summary(report)
        failed = isinstance(result, Diagnosis) and not result.success
        self._send(self.symbols, payloads.report_payload(report), ns)
        level = LogLevel.Warning if failed else LogLevel.Info
        self._send(self.log, messages.log(ns, summary, name="supervisor", level=level), ns)
        self._send(self.scene, messages.diagnosis_label(ns, summary), ns)
        if frame is not None and isinstance(result, Diagnosis) and result.symbols and self.annotated.has_sinks():
            annotated = render_symbols(frame, result.symbols)
            self._send(self.annotated, messages.jpeg(ns, self.head_camera, annotated, self.config.jpeg_quality), ns)

    def _event(self, ns: int, event: RecoveryEvent) -> None:
        episode_id = self._info.episode_id if self._info else ""
        self._send(self.events, payloads.event_payload(event, episode_id), ns)
        level = LogLevel.Warning if event.kind in ("diagnosed", "refused", "exhausted", "timeout") else LogLevel.Info
        self._send(self.log, messages.log(ns, payloads.event_summary(event), name="recovery", level=level), ns)

    # ------------------------------------------------------------- helpers
    def _fixed(self) -> tuple[Any, ...]:
        return (
            self.joint_states,
            self.command,
            self.annotated,
            self.symbols,
            self.scene,
            self.preview,
            self.guidance,
            self.events,
            self.episode,
            self.log,
        )

    def _send(self, channel: Any, message: Any, ns: int) -> None:
        """Log ``message`` at ``ns`` [ns] when a viewer subscribes to ``channel``."""
        if channel.has_sinks():
            channel.log(message, log_time=ns)
            self.published += 1
