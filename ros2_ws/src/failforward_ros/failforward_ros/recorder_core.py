"""The recorder node's logic without ROS: topics → one MCAP file per episode, ROS 2 schemas.

Messages arrive as plain data (``convert.message_to_dict``) with their ROS type name and are written
with mcap-ros2-support, schemas from rosbags' Kilted type store, so the files read back in
rosbags, ``ros2 bag`` and Foxglove like the in-process recorder's. An ``episode/outcome`` message
closes the current file (its outcome goes into the ``episode`` metadata); the next message opens
the next file.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from mcap_ros2.writer import Writer

from failforward.errors import RecordingError
from failforward.record import schemas
from failforward.record.topics import EPISODE_METADATA

logger = logging.getLogger(__name__)


class TopicRecorder:
    """Thread-safe writer of whatever the node subscribed to; ``files`` lists what it wrote."""

    def __init__(self, directory: Path, chunk_kib: int = 256) -> None:
        self.directory = Path(directory)
        self.chunk_bytes = chunk_kib * 1024
        self.files: list[Path] = []
        self.messages = 0
        self._lock = threading.Lock()
        self._writer: Writer | None = None
        self._stream: Any = None
        self._schemas: dict[str, Any] = {}

    def write(self, topic: str, typename: str, message: dict[str, Any], stamp_ns: int | None = None) -> None:
        """Record ``message`` (plain data of ROS type ``typename``) on ``topic`` at ``stamp_ns`` [ns]."""
        with self._lock:
            writer = self._writer or self._open()
            if typename not in self._schemas:
                self._schemas[typename] = writer.register_msgdef(typename, schemas.msgdef(typename))
            ns = stamp_ns if stamp_ns is not None else time.time_ns()
            writer.write_message(topic, self._schemas[typename], message, log_time=ns, publish_time=ns)
            self.messages += 1

    def end_episode(self, outcome: dict[str, Any]) -> Path | None:
        """Close the current file with ``outcome`` as its ``episode`` metadata; returns its path."""
        with self._lock:
            if self._writer is None:
                return None
            self._writer.add_metadata(
                EPISODE_METADATA, {k: json.dumps(v) if not isinstance(v, str) else v for k, v in outcome.items()}
            )
            return self._close(self._writer)

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._close(self._writer)

    def _open(self) -> Writer:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"episode_{len(self.files):04d}.mcap"
        try:
            self._stream = path.open("wb")
        except OSError as exc:
            raise RecordingError(f"Cannot create {path}: {exc}; check record.output_dir.") from exc
        self._writer = Writer(self._stream, chunk_size=self.chunk_bytes)
        self._schemas = {}
        self.files.append(path)
        return self._writer

    def _close(self, writer: Writer) -> Path:
        """Finish ``writer``, the open file's (call with the lock held)."""
        path = self.files[-1]
        try:
            writer.finish()
        finally:
            self._stream.close()
            self._writer, self._stream = None, None
        logger.info("recorded %s", path)
        return path
