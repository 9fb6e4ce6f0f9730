"""Recorder: a loop subscriber writing each episode to one MCAP file with ROS 2 schemas.

Topics (see ``record.topics``): ``/joint_states`` (JointState, measured), ``/policy/action`` and
``/command/sent`` (JointState, position only), ``/cameras/<name>/image_raw/compressed``
(CompressedImage, JPEG), ``/policy/chunk`` (JointTrajectory, when a chunk was inferred),
``/policy/guidance`` (Float64MultiArray: λ_t per denoise step of the chunk inferred at that tick),
``/task/prompt`` (String), ``/supervisor/diagnosis`` (String holding JSON: the supervisor's typed
answer with its symbols and raw text; no standard ROS message carries a diagnosis) and
``/recovery/event`` (String holding JSON: each transition of the recovery machine), ``/planner/plan`` (String holding
JSON: each System-2 planning cycle).
Only ROS 2 message schemas are used, so rosbags and ``ros2 bag`` read every channel (rosbags
cannot read MCAP JSON-schema channels). The episode outcome and identity are MCAP metadata
``episode``. Files open in Foxglove, ``ros2 bag`` (MCAP storage) and rosbags.

One clock per file: every log time is [ns] on the robot clock of the episode's observations (``clock`` in the
``recording`` and ``episode`` metadata: ``sim``, simulated time; ``monotonic``, the robot computer's
``time.monotonic()``). What is recorded before the first tick (the prompt, the recovery machine's reset) and any
record stamped earlier is logged at the first observation's time. Files are created exclusively: an existing
file is never replaced (``RecordingError``); ``start_run`` picks a fresh run directory.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from mcap_ros2.writer import Writer

from failforward.config import RecordConfig
from failforward.errors import RecordingError
from failforward.record import schemas, topics
from failforward.record.files import create_run_dir, open_exclusive
from failforward.robots.base import EpisodicDriver, RobotDriver
from failforward.types import EpisodeInfo, EpisodeOutcome, TickRecord, TickSubscriber

logger = logging.getLogger(__name__)

RobotClock = Literal["sim", "monotonic"]
"""The clock of a driver's observation stamps (see :mod:`failforward.types`)."""


def robot_clock(driver: RobotDriver) -> RobotClock:
    """``sim`` for a simulator (an episodic driver, simulated time), ``monotonic`` for hardware."""
    return "sim" if isinstance(driver, EpisodicDriver) else "monotonic"


class EpisodeRecorder(TickSubscriber):
    """Writes ``<output_dir>/<run_name>/episode_<index>_seed<seed>.mcap`` per episode.

    Args:
        config: output directory, JPEG quality, MCAP chunk size.
        run_name: the run directory under ``config.output_dir`` (used as it is; ``start_run`` makes a fresh one).
        clock: the clock of the observations' stamps, stated in every file's metadata.
    """

    def __init__(self, config: RecordConfig, run_name: str, *, clock: RobotClock = "sim") -> None:
        self.config = config
        self.directory = Path(config.output_dir) / run_name
        self.clock = clock
        self.files: list[Path] = []
        self._writer: Writer | None = None
        self._file: Any = None
        self._info: EpisodeInfo | None = None
        self._schemas: dict[str, Any] = {}
        self._t0: float | None = None  # [s] the first observation's stamp: the file's earliest log time
        self._pending: list[tuple[str, str, dict[str, Any], float]] = []  # written before the first tick

    def start_run(self, run_name: str) -> Path:
        """Record the next episodes into a fresh directory ``<output_dir>/<run_name>`` (``-1``, ``-2``, ... appended
        when it exists, so no earlier run is ever written into); returns it."""
        self.directory = create_run_dir(Path(self.config.output_dir), run_name)
        return self.directory

    # ---------------------------------------------------------- subscriber
    def on_episode_start(self, info: EpisodeInfo) -> None:
        self.close()  # a file whose episode never ended (its end was not reported) is finished first
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(f"Cannot create {self.directory}: {exc}. Check record.output_dir.") from exc
        path = self.directory / f"episode_{info.episode_index:04d}_seed{info.seed}.mcap"
        self._file = open_exclusive(path)
        self._writer = Writer(self._file, chunk_size=self.config.chunk_kib * 1024)
        self._writer.add_metadata(topics.RECORDING_METADATA, {"clock": self.clock, "episode_id": info.episode_id})
        self._info, self._t0, self._pending = info, None, []
        self._schemas = {
            name: self._writer.register_msgdef(name, schemas.msgdef(name))
            for name in (
                schemas.JOINT_STATE,
                schemas.COMPRESSED_IMAGE,
                schemas.STRING,
                schemas.JOINT_TRAJECTORY,
                schemas.FLOAT64_ARRAY,
            )
        }
        self._write(topics.TASK_PROMPT, schemas.STRING, {"data": info.prompt}, 0.0)
        self.files.append(path)

    def on_tick(self, tick: TickRecord) -> None:
        if self._writer is None or self._info is None:
            return
        t = tick.observation.timestamp
        if self._t0 is None:  # the file's clock starts here: what waited for it is written now
            self._t0 = t
            self._flush_pending()
        names = list(self._info.features.joint_names)
        obs = tick.observation
        self._write(
            topics.JOINT_STATES,
            schemas.JOINT_STATE,
            _joint_state(t, names, obs.joint_positions, obs.joint_velocities),
            t,
        )
        self._write(topics.POLICY_ACTION, schemas.JOINT_STATE, _joint_state(t, names, tick.policy_action), t)
        self._write(topics.COMMAND_SENT, schemas.JOINT_STATE, _joint_state(t, names, tick.sent.positions), t)
        if obs.object_state.size:
            self._write(topics.OBJECT_STATE, schemas.FLOAT64_ARRAY, _float_array(obs.object_state, "object_state"), t)
        for camera, image in obs.images.items():
            self._write(topics.camera_topic(camera), schemas.COMPRESSED_IMAGE, self._jpeg(t, camera, image), t)
        if tick.chunk is not None:
            dt = 1.0 / self._info.features.control_hz
            self._write(topics.POLICY_CHUNK, schemas.JOINT_TRAJECTORY, _trajectory(t, names, tick.chunk.actions, dt), t)
            if tick.chunk.guidance.size:
                self._write(topics.GUIDANCE, schemas.FLOAT64_ARRAY, _float_array(tick.chunk.guidance, "lambda_t"), t)

    def record_report(self, report: Any) -> None:
        """Record one supervisor answer (a ``SupervisorReport``) at the time of the tick that asked for it."""
        if self._writer is None:
            return
        payload = {
            "episode": report.episode,
            "episode_id": report.episode_id,
            "step": report.step,
            "latency_s": report.latency_s,
            "frame_times": list(report.frame_times),
            "result": report.result.model_dump(mode="json"),
        }
        self._write(topics.DIAGNOSIS, schemas.STRING, {"data": json.dumps(payload)}, report.queried_at)

    def record_event(self, event: Any) -> None:
        """Record one recovery-machine transition (a ``RecoveryEvent``) as JSON on ``/recovery/event``."""
        if self._writer is None:
            return
        payload = event.to_dict()
        stamp = float(payload.get("time", 0.0))
        self._write(topics.RECOVERY_EVENT, schemas.STRING, {"data": json.dumps(payload)}, stamp)

    def record_plan(self, cycle: Any) -> None:
        """Record one planning cycle (a ``PlanCycle``: reason, node, plan and searched tree) as JSON on
        ``/planner/plan`` at the time of the observation it planned from."""
        if self._writer is None:
            return
        self._write(topics.PLANNER_PLAN, schemas.STRING, {"data": json.dumps(cycle.to_dict())}, float(cycle.time))

    def on_episode_end(self, outcome: EpisodeOutcome) -> None:
        if self._writer is None or self._info is None:
            return
        info = self._info
        self._writer.add_metadata(
            topics.EPISODE_METADATA,
            {
                "success": str(outcome.success).lower(),
                "stage": str(outcome.stage),
                "reason": outcome.reason,
                "task": info.task,
                "prompt": info.prompt,
                "seed": str(info.seed),
                "episode_index": str(info.episode_index),
                "episode_id": info.episode_id,
                "robot": info.robot,
                "joint_names": json.dumps(list(info.features.joint_names)),
                "object_names": json.dumps(list(info.features.object_names)),
                "control_hz": str(info.features.control_hz),
                "clock": self.clock,
            },
        )
        self.close()

    def close(self) -> None:
        """Finish the MCAP file (footer, index) and close it. Safe to call twice."""
        if self._writer is not None:
            try:
                self._flush_pending()  # an episode without a tick: its prompt still goes in
                self._writer.finish()
            finally:
                self._file.close()
                self._writer, self._file, self._info = None, None, None

    # -------------------------------------------------------------- helpers
    def _write(self, topic: str, typename: str, message: dict[str, Any], t: float) -> None:
        """Write at ``t`` [s] on the robot clock, or at the first observation's time if ``t`` is earlier (a record
        before the first tick waits for it)."""
        if self._writer is None:
            return
        if self._t0 is None:
            self._pending.append((topic, typename, message, t))
            return
        ns = round(max(t, self._t0) * 1e9)
        self._writer.write_message(topic, self._schemas[typename], message, log_time=ns, publish_time=ns)

    def _flush_pending(self) -> None:
        pending, self._pending = self._pending, []
        if self._t0 is None:  # no tick at all: the records keep their own times
            self._t0 = min((t for *_, t in pending), default=0.0)
        for topic, typename, message, t in pending:
            self._write(topic, typename, message, t)

    def _jpeg(self, t: float, camera: str, image: np.ndarray) -> dict[str, Any]:
        ok, encoded = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality])
        if not ok:
            raise RecordingError(f"JPEG encoding failed for camera {camera!r} image of shape {image.shape}.")
        return {"header": {"stamp": schemas.stamp(t), "frame_id": camera}, "format": "jpeg", "data": encoded.tobytes()}


def _joint_state(t: float, names: list[str], position: np.ndarray, velocity: np.ndarray | None = None) -> dict:
    return {
        "header": {"stamp": schemas.stamp(t), "frame_id": ""},
        "name": names,
        "position": [float(x) for x in position],
        "velocity": [] if velocity is None else [float(x) for x in velocity],
        "effort": [],
    }


def _trajectory(t: float, names: list[str], actions: np.ndarray, dt: float) -> dict:
    points = [
        {
            "positions": [float(x) for x in row],
            "velocities": [],
            "accelerations": [],
            "effort": [],
            "time_from_start": schemas.stamp((i + 1) * dt),
        }
        for i, row in enumerate(actions)
    ]
    return {"header": {"stamp": schemas.stamp(t), "frame_id": ""}, "joint_names": names, "points": points}


def _float_array(values: np.ndarray, label: str) -> dict:
    dim = {"label": label, "size": int(values.size), "stride": int(values.size)}
    return {"layout": {"dim": [dim], "data_offset": 0}, "data": [float(x) for x in values]}
