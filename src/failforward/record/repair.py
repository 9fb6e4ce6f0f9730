"""Repair an episode file cut off by a crash (SIGKILL, power loss): every complete chunk into a valid MCAP file.

A killed recorder leaves a file without summary and footer, which rosbags ("File end magic is invalid") and the
mcap library's indexed reader refuse. Its data section is still a sequence of records, and messages reach the disk
in whole chunks (``record.chunk_kib``). :func:`repair` reads the file with the mcap library's
:class:`~mcap.stream_reader.StreamReader` (CRCs checked) up to the first incomplete or corrupt record and writes
everything before it (schemas, channels, the messages of every complete chunk, metadata, attachments) into a new
file with the mcap writer, which adds indexes, summary and footer. The original is only read, never modified.

The ``episode`` metadata of the repaired file says ``repaired: true``; a file killed before its outcome was
written gets the outcome ``aborted: killed`` (identity and clock from the ``recording`` metadata, when present).

Example:
    >>> result = repair(Path("runs/ros-record-20261201-211402/episode_0003.mcap"))
    >>> result.path, result.messages, result.chunks   # .../episode_0003.repaired.mcap
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcap.records import Attachment, Channel, Chunk, DataEnd, Footer, Header, McapRecord, Message, Metadata, Schema
from mcap.stream_reader import StreamReader, breakup_chunk
from mcap.writer import Writer

from failforward.errors import RecordingError
from failforward.record.files import open_exclusive
from failforward.record.topics import EPISODE_METADATA, RECORDING_METADATA

KILLED = "aborted: killed"


@dataclass(frozen=True)
class RepairResult:
    """What a repair wrote.

    Attributes:
        path: the repaired file.
        messages: messages written; chunks: complete chunks they came from.
        complete: the original was whole (it had its footer): nothing was lost.
        stopped: why reading stopped before the footer (the incomplete record), ``""`` when complete.
    """

    path: Path
    messages: int
    chunks: int
    complete: bool
    stopped: str = ""


@dataclass
class _Recovered:
    header: Header | None = None
    records: list[McapRecord] = field(default_factory=list)  # schemas, channels, messages, attachments, metadata
    chunks: int = 0
    complete: bool = False
    stopped: str = ""


def repaired_path(source: Path) -> Path:
    """The default output: ``<name>.repaired.mcap`` next to ``source``."""
    return source.with_name(f"{source.stem}.repaired.mcap")


def repair(source: Path, out: Path | None = None) -> RepairResult:
    """Rewrite the complete chunks of ``source`` into ``out`` (default :func:`repaired_path`); never overwrites."""
    source = Path(source)
    out = Path(out) if out is not None else repaired_path(source)
    if not source.is_file():
        raise RecordingError(f"No file at {source}; pass the path of an .mcap episode file.")
    if out.resolve() == source.resolve():
        raise RecordingError(f"--out {out} is the file being repaired; the original is never modified: pick another.")
    recovered = _read(source)
    if recovered.header is None:
        raise RecordingError(f"{source} does not start with an MCAP header ({recovered.stopped}); nothing to recover.")
    with open_exclusive(out) as stream:
        messages = _write(stream, recovered, source.name)
    return RepairResult(out, messages, recovered.chunks, recovered.complete, recovered.stopped)


def _read(source: Path) -> _Recovered:
    """Every record of ``source`` up to its footer or its first incomplete or corrupt record."""
    recovered = _Recovered()
    with source.open("rb") as stream:
        reader = StreamReader(stream, emit_chunks=True, validate_crcs=True)
        try:
            for record in reader.records:
                if isinstance(record, Header):
                    recovered.header = record
                elif isinstance(record, Chunk):
                    recovered.records.extend(breakup_chunk(record, validate_crc=True))  # whole or not at all
                    recovered.chunks += 1
                elif isinstance(record, (Schema, Channel, Message, Metadata, Attachment)):
                    recovered.records.append(record)
                elif isinstance(record, DataEnd):
                    break  # the summary repeats what came before; the data section was written whole
                elif isinstance(record, Footer):
                    break
            recovered.complete = True
        except Exception as exc:  # the cut-off tail: truncated, or garbage after the last complete record
            recovered.stopped = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return recovered


def _write(stream: Any, recovered: _Recovered, source_name: str) -> int:
    """Write ``recovered`` as a complete MCAP file; returns the number of messages written."""
    header = recovered.header
    assert header is not None
    writer = Writer(stream)
    writer.start(profile=header.profile, library=header.library)
    schema_ids: dict[int, int] = {0: 0}  # source id → written id (0: no schema)
    channel_ids: dict[int, int] = {}
    metadata: dict[str, dict[str, str]] = {}
    messages = 0
    for record in recovered.records:
        if isinstance(record, Schema) and record.id not in schema_ids:
            schema_ids[record.id] = writer.register_schema(record.name, record.encoding, record.data)
        elif isinstance(record, Channel) and record.id not in channel_ids and record.schema_id in schema_ids:
            channel_ids[record.id] = writer.register_channel(
                record.topic, record.message_encoding, schema_ids[record.schema_id], dict(record.metadata)
            )
        elif isinstance(record, Message) and record.channel_id in channel_ids:
            writer.add_message(
                channel_ids[record.channel_id], record.log_time, record.data, record.publish_time, record.sequence
            )
            messages += 1
        elif isinstance(record, Metadata):
            metadata[record.name] = dict(record.metadata)
        elif isinstance(record, Attachment):
            writer.add_attachment(record.create_time, record.log_time, record.name, record.media_type, record.data)
    metadata[EPISODE_METADATA] = _episode_metadata(metadata, recovered, source_name, messages)
    for name, data in metadata.items():
        writer.add_metadata(name, data)
    writer.finish()
    return messages


def _episode_metadata(
    metadata: dict[str, dict[str, str]], recovered: _Recovered, source_name: str, messages: int
) -> dict[str, str]:
    """The original ``episode`` metadata (or an ``aborted: killed`` outcome) marked as repaired."""
    episode = metadata.get(EPISODE_METADATA)
    if episode is None:
        recording = metadata.get(RECORDING_METADATA, {})
        episode = {"success": "false", "stage": "0", "reason": KILLED}
        episode.update({k: recording[k] for k in ("episode_id", "clock") if k in recording})
    return {
        **episode,
        "repaired": "true",
        "repaired_from": source_name,
        "repaired_messages": str(messages),
        "repaired_chunks": str(recovered.chunks),
    }
