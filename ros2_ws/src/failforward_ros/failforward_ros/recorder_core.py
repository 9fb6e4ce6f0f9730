"""The recorder node's logic without ROS: topics → one MCAP file per episode, ROS 2 schemas.

Messages arrive as plain data (``convert.message_to_dict``) with their ROS type name and are written
with mcap-ros2-support, schemas from rosbags' Kilted type store, so the files read back in
rosbags, ``ros2 bag`` and Foxglove like the in-process recorder's.

Episodes: ``begin_episode`` (robot_bridge's ``episode/start``) names the episode the next messages belong to; its
file opens with the first of them. An episode's file stays open ``grace_s`` after its outcome (``end_episode``), or
after the next episode began, for its late messages, which travel on other topics: a message goes to the file of the
episode it names (``episode_id``) or, by its header stamp [graph clock], to the newest episode that started at or
before it. Nothing is recorded outside an episode: no file starts with a leftover of the previous one.

One clock per file: log times are the recorder node's clock at receipt (as ``ros2 bag record`` does), ``sim``
(ROS time from ``/clock``, the bridge's graph clock) or ``system``, stated as ``clock`` in the ``recording``
metadata (written when the file opens) and in the ``episode`` metadata. With ``sim`` no log time precedes the
episode's start (a message taken before its ``/clock`` tick).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mcap_ros2.writer import Writer

from failforward.config import RunConfig
from failforward.record import schemas
from failforward.record.files import create_run_dir, open_exclusive
from failforward.record.topics import EPISODE_METADATA, RECORDING_METADATA

logger = logging.getLogger(__name__)

NodeClock = Literal["sim", "system"]
"""The recorder node's clock: ROS time driven by ``/clock`` (``use_sim_time``), or the system clock."""

RUN_PREFIX = "ros-record"  # the recorder node's run directories: ros-record-<date>-<time>
NO_OUTCOME = "aborted: no outcome was published for this episode"


def camera_names(config: RunConfig) -> tuple[str, ...]:
    """Names of the cameras ``config``'s robot streams (its entries are names or ``CameraConfig``; ManiSkill: none)."""
    cameras = getattr(config.robot, "cameras", ())
    return tuple(c if isinstance(c, str) else c.name for c in cameras)


@dataclass
class EpisodeFile:
    """One episode's file: robot_bridge's identity, the graph-clock stamp [ns] of its first observation, the open
    writer (``None`` until its first message) and, once known, its outcome and the time [s, monotonic] to close."""

    episode_id: str
    start_ns: int
    prompt: str = ""  # the task prompt robot_bridge announced (RECORDING_METADATA "prompt")
    path: Path | None = None
    writer: Writer | None = None
    stream: Any = None
    schemas: dict[str, Any] = field(default_factory=dict)
    outcome: dict[str, Any] | None = None
    close_at: float | None = None
    abort_reason: str = NO_OUTCOME  # the outcome's reason when none comes


class TopicRecorder:
    """Thread-safe writer of whatever the node subscribed to; ``files`` lists what it wrote.

    Args:
        directory: where the files go (created if missing; a file already there is never replaced).
        chunk_kib: MCAP chunk size [KiB]: what a killed process can lose at most (see ``RecordConfig``).
        clock: the clock of the log times the caller passes.
        grace_s: [s] how long an ended (or superseded) episode's file stays open for its late messages.
    """

    def __init__(
        self, directory: Path, chunk_kib: int = 256, clock: NodeClock = "system", grace_s: float = 0.5
    ) -> None:
        self.directory = Path(directory)
        self.chunk_bytes = chunk_kib * 1024
        self.clock, self.grace_s = clock, grace_s
        self.files: list[Path] = []
        self.messages = 0
        self.dropped = 0  # messages outside every episode
        self._episodes: dict[str, EpisodeFile] = {}  # open (or not yet opened) episodes, oldest first
        self._current: str | None = None  # the newest episode begun
        self._lock = threading.Lock()

    @classmethod
    def for_run(cls, output_dir: Path, chunk_kib: int, clock: NodeClock, grace_s: float = 0.5) -> TopicRecorder:
        """A recorder writing into a fresh ``<output_dir>/ros-record-<date>-<time>[-n]`` (never an existing one,
        also when two start in the same second)."""
        directory = create_run_dir(Path(output_dir), time.strftime(f"{RUN_PREFIX}-%Y%m%d-%H%M%S"))
        return cls(directory, chunk_kib, clock, grace_s)

    @property
    def pending(self) -> bool:
        """True while an episode is known that is not closed yet."""
        with self._lock:
            return bool(self._episodes)

    def begin_episode(self, episode_id: str, start_ns: int, now_s: float, prompt: str = "") -> None:
        """The next messages belong to ``episode_id``, which started at ``start_ns`` [ns, graph clock] with the task
        ``prompt``; the previous episode's file closes ``grace_s`` after ``now_s`` [s, monotonic] (as aborted if its
        outcome never came)."""
        with self._lock:
            if episode_id in self._episodes:
                return  # announced again (latched, or a reset that continued it)
            previous = self._episodes.get(self._current or "")
            if previous is not None and previous.close_at is None:
                previous.close_at = now_s + self.grace_s
            self._episodes[episode_id] = EpisodeFile(episode_id, start_ns, prompt)
            self._current = episode_id

    def write(
        self,
        topic: str,
        typename: str,
        message: dict[str, Any],
        log_ns: int,
        stamp_ns: int | None = None,
        episode_id: str = "",
    ) -> bool:
        """Record ``message`` (plain data of ROS type ``typename``) on ``topic``, received at ``log_ns`` [ns, this
        recorder's clock], into the file of ``episode_id`` or, by its header stamp ``stamp_ns`` [ns, graph clock],
        of the newest episode started at or before it. Returns False when no open episode takes it."""
        with self._lock:
            episode = self._episode_for(stamp_ns, episode_id)
            if episode is None:
                self.dropped += 1
                return False
            writer = episode.writer or self._open(episode)
            if typename not in episode.schemas:
                episode.schemas[typename] = writer.register_msgdef(typename, schemas.msgdef(typename))
            ns = max(log_ns, episode.start_ns) if self.clock == "sim" else log_ns
            writer.write_message(topic, episode.schemas[typename], message, log_time=ns, publish_time=ns)
            self.messages += 1
            return True

    def end_episode(self, outcome: dict[str, Any], now_s: float | None = None) -> Path | None:
        """The outcome of the episode ``outcome["episode_id"]`` names (the current one if it names none): its file
        closes with it as ``episode`` metadata ``grace_s`` after ``now_s`` [s, monotonic], or at once (returning
        the path) when ``now_s`` is None."""
        with self._lock:
            episode = self._episodes.get(str(outcome.get("episode_id") or self._current or ""))
            if episode is None:
                return None
            episode.outcome = {**outcome, "episode_id": episode.episode_id}
            if now_s is not None:
                episode.close_at = now_s + self.grace_s
                return None
            return self._close(episode)

    def end_open(self, now_s: float, reason: str = "aborted: interrupted") -> None:
        """Stop: every episode still open closes ``grace_s`` after ``now_s`` [s, monotonic], with its outcome if it
        comes by then, else as aborted with ``reason``."""
        with self._lock:
            for episode in self._episodes.values():
                episode.abort_reason = reason
                if episode.close_at is None:
                    episode.close_at = now_s + self.grace_s

    def finish_due(self, now_s: float) -> list[Path]:
        """Close the files whose grace period is over at ``now_s`` [s, monotonic]; returns them."""
        with self._lock:
            due = [e for e in self._episodes.values() if e.close_at is not None and e.close_at <= now_s]
            return [path for path in map(self._close, due) if path is not None]

    def close(self, reason: str = "aborted: interrupted") -> list[Path]:
        """Close every open file now: with its outcome where it came, else as aborted with ``reason``."""
        with self._lock:
            closed = [self._close(episode, reason) for episode in list(self._episodes.values())]
            return [path for path in closed if path is not None]

    # ------------------------------------------------------------ helpers (lock held)
    def _episode_for(self, stamp_ns: int | None, episode_id: str) -> EpisodeFile | None:
        """The open episode a message belongs to: the one it names, else by stamp, else the current one."""
        if episode_id:
            return self._episodes.get(episode_id)
        if stamp_ns is None:  # no stamp: the current episode (none once it was closed)
            return self._episodes.get(self._current or "")
        started = [e for e in self._episodes.values() if e.start_ns <= stamp_ns]
        return max(started, key=lambda e: e.start_ns, default=None)

    def _open(self, episode: EpisodeFile) -> Writer:
        self.directory.mkdir(parents=True, exist_ok=True)
        episode.path = self.directory / f"episode_{len(self.files):04d}.mcap"
        episode.stream = open_exclusive(episode.path)
        episode.writer = Writer(episode.stream, chunk_size=self.chunk_bytes)
        start = f"{episode.start_ns * 1e-9:.9f}"
        episode.writer.add_metadata(
            RECORDING_METADATA,
            {"clock": self.clock, "episode_id": episode.episode_id, "episode_start_s": start, "prompt": episode.prompt},
        )
        self.files.append(episode.path)
        return episode.writer

    def _close(self, episode: EpisodeFile, reason: str = "") -> Path | None:
        """Finish ``episode``'s file (if it was opened) with its outcome, else as aborted with ``reason`` (default:
        the episode's ``abort_reason``)."""
        self._episodes.pop(episode.episode_id, None)
        if episode.writer is None:
            return None
        outcome = episode.outcome or {"success": "false", "stage": "0", "reason": reason or episode.abort_reason}
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in outcome.items()}
        try:
            episode.writer.add_metadata(
                EPISODE_METADATA, {**fields, "episode_id": episode.episode_id, "clock": self.clock}
            )
            episode.writer.finish()
        finally:
            episode.stream.close()
            episode.writer, episode.stream = None, None
        logger.info("recorded %s", episode.path)
        return episode.path
