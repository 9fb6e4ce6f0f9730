"""What a supervisor query returns: a :class:`Diagnosis`, or a typed reason why there is none.

Every backend returns one of :data:`SupervisorResult`; none raises into the control loop. Only a
``Diagnosis`` may ever become a correction.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from failforward.supervisor.commands import LowLevelCommand
from failforward.supervisor.questions import FailureType, Gripper, QuestionType
from failforward.symbols.types import Symbol


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Diagnosis(_Result):
    """A parsed ViFailback answer.

    Attributes:
        question: the question type that was answered.
        success: ``True`` for "Successful", ``False`` for "Failed".
        keyframe: 1-based frame number of the keyframe (avoidance answers), else ``None``.
        failure_type: read from the ``<Think>`` text ("The failure type is identified as '…'").
        command_text: the "low level commands" text as written.
        commands: ``command_text`` parsed into typed commands, in order.
        symbols: visual symbols in pixels of frame ``symbol_frame`` (0-based index into the queried frames).
        symbol_frame: which frame the symbols refer to, ``None`` when there are no symbols.
        think: the reasoning text.
        warnings: what was skipped while parsing (unknown symbols, bad coordinates…).
        raw: the answer text (truncated to 8 kB).
    """

    kind: Literal["diagnosis"] = "diagnosis"
    question: QuestionType
    success: bool
    keyframe: int | None = None
    failure_type: FailureType | None = None
    command_text: str = ""
    commands: tuple[LowLevelCommand, ...] = ()
    symbols: tuple[Symbol, ...] = ()
    symbol_frame: int | None = None
    think: str = ""
    warnings: tuple[str, ...] = ()
    raw: str = ""

    @property
    def active_grippers(self) -> frozenset[Gripper]:
        """The grippers the commands address (the other arm is idle for VSF)."""
        return frozenset(c.gripper for c in self.commands if c.gripper is not None)


class Unreadable(_Result):
    """The backend answered, but the answer could not be read; ``reason`` says why."""

    kind: Literal["unreadable"] = "unreadable"
    reason: str
    raw: str = ""


NoDiagnosisReason = Literal["timeout", "connection", "http_error", "empty_frames", "backend_error", "unavailable"]


class NoDiagnosis(_Result):
    """No answer was obtained: dead or slow server (``connection``, ``timeout``), HTTP or protocol error
    (``http_error``), no usable frames (``empty_frames``: empty buffer or not uint8 [H, W, 3]), a failing
    backend (``backend_error``) or a missing dependency (``unavailable``)."""

    kind: Literal["no_diagnosis"] = "no_diagnosis"
    reason: NoDiagnosisReason
    message: str = ""


SupervisorResult = Diagnosis | Unreadable | NoDiagnosis
"""What ``SupervisorBackend.diagnose`` returns."""

MAX_RAW_CHARS = 8192


def clip_raw(text: str) -> str:
    """Keep at most :data:`MAX_RAW_CHARS` of an answer for logs and results."""
    return text if len(text) <= MAX_RAW_CHARS else text[:MAX_RAW_CHARS] + "…[truncated]"


__all__ = ["Diagnosis", "NoDiagnosis", "NoDiagnosisReason", "SupervisorResult", "Unreadable", "clip_raw"]
