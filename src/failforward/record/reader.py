"""Reads episode MCAP files back into arrays (for training, reports and the dataset exporters).

Example:
    >>> from failforward.record.reader import read_episode
    >>> episode = read_episode("runs/demo/episode_0000_seed0.mcap")
    >>> episode.joint_positions.shape   # [T, A]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from mcap.reader import NonSeekingReader, make_reader
from mcap_ros2.decoder import DecoderFactory

from failforward.errors import RecordingError
from failforward.record import topics
from failforward.record.graph_ticks import GRAPH_TOPICS, GraphRows, GraphTicks
from failforward.types import EpisodeOutcome


@dataclass(frozen=True)
class RecordedEpisode:
    """One episode as arrays. ``T`` ticks, ``A`` joints; times [s] from the recorded stamps.

    Attributes:
        timestamps: ``[T]`` tick times [s].
        joint_positions: ``[T, A]`` measured; ``joint_velocities`` ``[T, A]``.
        policy_actions: ``[T, A]`` the broker's actions before safety.
        sent_actions: ``[T, A]`` what the driver sent.
        object_state: ``[T, O]`` task-object poses (xyz [m] + quat wxyz each), ``[T, 0]`` if not recorded.
        images: camera → ``uint8 [T, H, W, 3]`` RGB (decoded JPEG), if ``load_images``.
        chunks: ``[(tick time [s], actions [H, A])]`` every inferred chunk.
        guidance: ``[(tick time [s], λ_t [N])]`` per guided chunk.
        diagnoses: ``[(time [s], supervisor answer as a dict)]`` in recording order.
        recovery_events: ``[(time [s], recovery-machine transition as a dict)]`` in recording order.
        plans: ``[(time [s], System-2 planning cycle as a dict)]`` in recording order (runs with a planner).
        outcome: recorded success, stage and reason (``None`` if the file was cut off).
        metadata: the raw ``episode`` metadata strings.
    """

    path: Path
    joint_names: tuple[str, ...]
    prompt: str
    timestamps: np.ndarray
    joint_positions: np.ndarray
    joint_velocities: np.ndarray
    policy_actions: np.ndarray
    sent_actions: np.ndarray
    object_state: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    images: dict[str, np.ndarray] = field(default_factory=dict)
    chunks: list[tuple[float, np.ndarray]] = field(default_factory=list)
    guidance: list[tuple[float, np.ndarray]] = field(default_factory=list)
    diagnoses: list[tuple[float, dict]] = field(default_factory=list)
    recovery_events: list[tuple[float, dict]] = field(default_factory=list)
    plans: list[tuple[float, dict]] = field(default_factory=list)
    outcome: EpisodeOutcome | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return int(self.timestamps.shape[0])


NO_TICKS = (
    "no ticks recorded (cut off before its first tick, or a recording of the graph in which no command was sent: "
    "a ROS recorder-node file's ticks are its joint states answered by a /command_sent of the same stamp)"
)  # why an episode file without ticks is skipped by the readers of training data


def read_outcome(path: str | Path) -> EpisodeOutcome | None:
    """Only the recorded outcome (fast: reads the summary, not the messages)."""
    with Path(path).open("rb") as stream:
        for record in make_reader(stream).iter_metadata():
            if record.name == topics.EPISODE_METADATA:
                return _outcome(record.metadata)
    return None


def read_episode(path: str | Path, *, load_images: bool = True) -> RecordedEpisode:
    """Decode an episode file: the in-process recorder's (one row per tick), or a ROS recorder-node file, whose graph
    topics are aligned into ticks by stamp (``record.graph_ticks``; its camera frames are left out). A file cut off by
    a crash (no footer) is read up to its last record."""
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"No episode file at {path}; pass a path to an .mcap written by the recorder.")
    rows: dict[str, list] = {key: [] for key in ("t", "q", "dq", "action", "sent", "objects")}
    images: dict[str, list[np.ndarray]] = {}
    chunks, guidance, diagnoses, events, plans, metadata, prompt, names = [], [], [], [], [], {}, "", ()
    graph = GraphRows()  # a ROS recorder-node file: the graph's topics, aligned into ticks by stamp
    with path.open("rb") as stream:
        for channel, message, decoded in _messages(stream):
            topic = channel.topic
            if topic in GRAPH_TOPICS:
                graph.add(topic, decoded)
            if topic == topics.JOINT_STATES:
                rows["t"].append(message.log_time * 1e-9)
                rows["q"].append(decoded.position)
                rows["dq"].append(decoded.velocity)
                names = tuple(decoded.name)
            elif topic == topics.POLICY_ACTION:
                rows["action"].append(decoded.position)
            elif topic == topics.COMMAND_SENT:
                rows["sent"].append(decoded.position)
            elif topic == topics.OBJECT_STATE:
                rows["objects"].append(decoded.data)
            elif topic == topics.TASK_PROMPT:
                prompt = decoded.data
            elif topic == topics.RECOVERY_EVENT:
                events.append((message.log_time * 1e-9, json.loads(decoded.data)))
            elif topic == topics.PLANNER_PLAN:
                plans.append((message.log_time * 1e-9, json.loads(decoded.data)))
            elif topic == topics.DIAGNOSIS:
                diagnoses.append((message.log_time * 1e-9, json.loads(decoded.data)))
            elif topic == topics.POLICY_CHUNK:
                chunks.append((message.log_time * 1e-9, np.array([p.positions for p in decoded.points])))
            elif topic == topics.GUIDANCE:
                guidance.append((message.log_time * 1e-9, np.asarray(decoded.data, dtype=np.float64)))
            elif load_images and (camera := topics.camera_from_topic(topic)) is not None:
                images.setdefault(camera, []).append(_decode_jpeg(decoded.data))
        metadata, recording = _metadata(stream, topics.EPISODE_METADATA), _metadata(stream, topics.RECORDING_METADATA)
    events_and_outcome: dict[str, Any] = {
        "chunks": chunks,
        "guidance": guidance,
        "diagnoses": diagnoses,
        "recovery_events": events,
        "plans": plans,
        "outcome": _outcome(metadata) if metadata else None,
        "metadata": metadata,
    }
    aligned = graph.ticks() if not rows["action"] else None
    if aligned is not None:
        return _graph_episode(path, aligned, prompt or recording.get("prompt", ""), events_and_outcome)
    per_tick = ("t", "q", "action", "sent", "objects") if rows["objects"] else ("t", "q", "action", "sent")
    length = min(len(rows[k]) for k in per_tick)  # a cut-off tick is dropped whole
    return RecordedEpisode(
        path=path,
        joint_names=names,
        prompt=prompt,
        timestamps=np.asarray(rows["t"][:length], dtype=np.float64),
        joint_positions=_stack(rows["q"][:length]),
        joint_velocities=_stack(rows["dq"][:length]),
        policy_actions=_stack(rows["action"][:length]),
        sent_actions=_stack(rows["sent"][:length]),
        object_state=_object_state(rows["objects"], length),
        images={cam: np.stack(frames[:length]) for cam, frames in images.items() if frames},
        **events_and_outcome,
    )


def _messages(stream):
    """Decoded messages; falls back to a streaming read when the file has no footer (crash)."""
    factory = DecoderFactory()
    try:
        reader = make_reader(stream, decoder_factories=[factory])
        yield from _decoded(reader.iter_messages(), factory)
    except Exception:  # no summary/footer: stream from the start, stop at the first bad record
        stream.seek(0)
        reader = NonSeekingReader(stream, validate_crcs=False)
        try:  # in file order: log-time ordering would need the whole (missing) stream first
            yield from _decoded(reader.iter_messages(log_time_order=False), factory)
        except Exception:
            return


def _decoded(messages, factory):
    decoders = {}
    for schema, channel, message in messages:
        if schema.id not in decoders:
            decoders[schema.id] = factory.decoder_for(channel.message_encoding, schema)
        yield channel, message, decoders[schema.id](message.data)


def _metadata(stream, name: str) -> dict[str, str]:
    """The file's metadata record ``name`` (``{}`` when absent or the file has no readable summary)."""
    stream.seek(0)
    try:
        for record in make_reader(stream).iter_metadata():
            if record.name == name:
                return dict(record.metadata)
    except Exception:
        return {}
    return {}


def _graph_episode(path: Path, ticks: GraphTicks, prompt: str, rest: dict[str, Any]) -> RecordedEpisode:
    """A recorder-node file's episode from its stamp-aligned ticks (``record.graph_ticks``) and its other records
    (``rest``: chunks, guidance, diagnoses, recovery events, plans, outcome, metadata). Camera frames arrive on their
    own topics and are not aligned to ticks here: training that needs images uses the policy node's own recording."""
    return RecordedEpisode(
        path=path,
        joint_names=ticks.joint_names,
        prompt=prompt,
        timestamps=ticks.timestamps,
        joint_positions=ticks.joint_positions,
        joint_velocities=ticks.joint_velocities,
        policy_actions=ticks.policy_actions,
        sent_actions=ticks.sent_actions,
        object_state=ticks.object_state,
        **rest,
    )


def _outcome(metadata: dict[str, str]) -> EpisodeOutcome:
    return EpisodeOutcome(metadata.get("success") == "true", int(metadata.get("stage", 0)), metadata.get("reason", ""))


def _decode_jpeg(data: bytes | list[int]) -> np.ndarray:
    buffer = np.frombuffer(bytes(data), dtype=np.uint8)
    bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if bgr is None:
        raise RecordingError("A recorded camera frame is not a valid JPEG; the file may be corrupt.")
    return bgr[:, :, ::-1].copy()


def _object_state(rows: list, length: int) -> np.ndarray:
    """``[T, O]``; ``[T, 0]`` when the episode has no object state."""
    return _stack(rows[:length]) if rows else np.zeros((length, 0))


def _stack(rows: list) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64) if rows else np.zeros((0, 0))
