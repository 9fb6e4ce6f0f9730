"""Operator labels of recorded episodes: a sidecar file next to the recording, which is never modified.

An episode file ``runs/<run>/episode_0003_seed3.mcap`` gets its label in
``runs/<run>/episode_0003_seed3.mcap.label.json`` (written atomically: a temporary file in the same directory, then
a rename), holding the outcome, an optional note, the operator, the time and the recording's ``episode_id`` and
size, so a label can be checked against the file it describes. Labelling again replaces the label (never the
recording). ``failforward label`` is the command line.

Example:
    >>> write_label(Path("runs/r/episode_0003_seed3.mcap"), success=False, note="cube slipped", operator="ana")
    >>> read_label(Path("runs/r/episode_0003_seed3.mcap")).success
    False
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from failforward.errors import FailforwardError
from failforward.record import topics

SUFFIX = ".label.json"


class LabelError(FailforwardError):
    """A label cannot be written or read (no such episode, not an episode file, a malformed label)."""


@dataclass(frozen=True)
class Label:
    """An operator's verdict on one recorded episode.

    Attributes:
        success: the operator's outcome (``True``: the task was done).
        operator: who labelled it (free text, e.g. a login name).
        note: why, optional.
        labelled_at: UTC time of labelling (ISO 8601).
        episode_id: the recording's ``episode_id`` (its ``recording`` metadata; ``""`` if it has none).
        recording_bytes: size of the recording when it was labelled [bytes].
    """

    success: bool
    operator: str
    note: str = ""
    labelled_at: str = ""
    episode_id: str = ""
    recording_bytes: int = 0

    @property
    def outcome(self) -> str:
        return "success" if self.success else "failure"


def label_path(episode: Path) -> Path:
    """The sidecar file of ``episode`` (``<file>.mcap.label.json``)."""
    return episode.with_name(episode.name + SUFFIX)


def episode_identity(episode: Path) -> str:
    """The ``episode_id`` a recording states in its metadata (``""`` when none); raises ``LabelError`` when
    ``episode`` is not a readable MCAP episode file."""
    check_episode_file(episode)
    from mcap.reader import make_reader

    try:
        with episode.open("rb") as stream:
            for record in make_reader(stream).iter_metadata():
                if record.name in (topics.RECORDING_METADATA, topics.EPISODE_METADATA):
                    return str(record.metadata.get("episode_id", ""))
    except Exception as exc:  # the mcap library's errors for a file cut off or not MCAP
        raise LabelError(
            f"{episode} is not a readable MCAP episode ({type(exc).__name__}: {exc}); if a crash cut it off, run "
            f"`failforward record repair {episode}` and label the .repaired.mcap it writes."
        ) from exc
    return ""


def check_episode_file(episode: Path) -> None:
    """Raise ``LabelError`` (saying what to pass instead) unless ``episode`` is an existing ``.mcap`` file."""
    if episode.suffix != ".mcap":
        raise LabelError(
            f"{episode} is not an episode file: pass a recorded .mcap (e.g. runs/<run>/episode_0000_seed0.mcap)."
        )
    if not episode.is_file():
        raise LabelError(
            f"No episode file at {episode}: list a run's episodes with `failforward label list runs/<run>` and pass "
            "one of them."
        )


def write_label(episode: Path, *, success: bool, operator: str, note: str = "") -> Label:
    """Label ``episode`` (replacing an earlier label); the recording itself is only read. Returns the label."""
    if not operator.strip():
        raise LabelError("An operator name is needed: pass --operator <name> (or set $USER).")
    label = Label(
        success=success,
        operator=operator.strip(),
        note=note,
        labelled_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        episode_id=episode_identity(episode),
        recording_bytes=episode.stat().st_size,
    )
    _write_atomic(label_path(episode), json.dumps(asdict(label), indent=1, ensure_ascii=False))
    return label


def read_label(episode: Path) -> Label | None:
    """The label of ``episode``, or ``None`` when it has none; ``LabelError`` for a malformed label file."""
    path = label_path(episode)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return Label(**data)
    except (json.JSONDecodeError, TypeError) as exc:
        raise LabelError(
            f"{path} is not a label file ({exc}); label the episode again with `failforward label set {episode} "
            "success|failure --operator <name>`, which replaces it."
        ) from exc


def list_labels(sources: list[Path]) -> list[tuple[Path, Label | None]]:
    """Every episode file under ``sources`` (files or directories, searched recursively) with its label or ``None``."""
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files.extend(sorted(source.rglob("*.mcap")))
        else:
            check_episode_file(source)
            files.append(source)
    if not files:
        raise LabelError(
            f"No .mcap episodes under {', '.join(map(str, sources))}; record some with `failforward demo`."
        )
    return [(f, read_label(f)) for f in files]


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
