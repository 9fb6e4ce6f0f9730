"""The supervisor backend interface: ``diagnose(frames, task) -> Diagnosis | Unreadable | NoDiagnosis``.

``diagnose`` never raises into the control loop: the base class checks the frames, calls the
implementation's ``_diagnose`` and turns any exception into a typed :class:`NoDiagnosis` (logged).
Backends that talk to a vision-language model derive from :class:`ChatBackend` and only implement
``_complete(prompt) -> str``; the prompt building and answer parsing are shared.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Sequence

import numpy as np

from failforward.errors import ConfigError
from failforward.supervisor.diagnosis import NoDiagnosis, SupervisorResult, Unreadable
from failforward.supervisor.errors import BackendCallError
from failforward.supervisor.parser import parse_answer_for
from failforward.supervisor.prompts import (
    Prompt,
    low_level_avoidance_cot,
    low_level_correction_cot,
    visual_avoidance_cot,
    visual_correction_cot,
)
from failforward.supervisor.questions import QuestionType

log = logging.getLogger(__name__)

_BUILDERS = {
    QuestionType.VISUAL_CORRECTION_COT: visual_correction_cot,
    QuestionType.VISUAL_AVOIDANCE_COT: visual_avoidance_cot,
    QuestionType.LOW_LEVEL_CORRECTION_COT: low_level_correction_cot,
    QuestionType.LOW_LEVEL_AVOIDANCE_COT: low_level_avoidance_cot,
}


def _frames_problem(frames: Sequence[np.ndarray]) -> str | None:
    if len(frames) == 0:
        return "no head-camera frames to diagnose (the frame buffer is empty)"
    for i, f in enumerate(frames):
        if not isinstance(f, np.ndarray) or f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3:
            return f"frame {i} is not a uint8 [H, W, 3] RGB image"
    return None


class SupervisorBackend(abc.ABC):
    """Diagnoses a window of head-camera frames.

    Threading: the scheduler calls :meth:`capture_context` on the control thread (must be cheap) and
    :meth:`diagnose` on its worker thread with that context.
    """

    question: QuestionType = QuestionType.VISUAL_CORRECTION_COT

    def capture_context(self) -> object | None:
        """Snapshot whatever ``diagnose`` needs besides frames (the sim oracle: the simulator state)."""
        return None

    def diagnose(self, frames: Sequence[np.ndarray], task: str, *, context: object | None = None) -> SupervisorResult:
        """Diagnose ``frames`` (``uint8 [H, W, 3]`` RGB, chronological) of ``task``; never raises.

        Returns:
            a :class:`Diagnosis`, an :class:`Unreadable` answer, or a :class:`NoDiagnosis` with its reason.
        """
        problem = _frames_problem(frames)
        if problem is not None:
            log.warning("supervisor: %s", problem)
            return NoDiagnosis(reason="empty_frames", message=problem)
        try:
            return self._diagnose(list(frames), task, context)
        except BackendCallError as exc:
            log.warning("supervisor backend %s: %s", type(self).__name__, exc)
            return NoDiagnosis(reason=exc.reason, message=str(exc))
        except Exception as exc:  # the loop must never see a backend's exception
            log.exception("supervisor backend %s failed", type(self).__name__)
            return NoDiagnosis(reason="backend_error", message=f"{type(exc).__name__}: {exc}")

    @abc.abstractmethod
    def _diagnose(self, frames: list[np.ndarray], task: str, context: object | None) -> SupervisorResult:
        """Implementation; may raise (the base class converts exceptions to :class:`NoDiagnosis`)."""

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Forget per-episode state (called at the start of every episode)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections, models or threads."""


class ChatBackend(SupervisorBackend):
    """A backend that asks a vision-language model one ViFailback CoT question per query."""

    def __init__(self, question: QuestionType = QuestionType.VISUAL_CORRECTION_COT) -> None:
        if question not in _BUILDERS:
            valid = ", ".join(q.value for q in _BUILDERS)
            raise ConfigError(f"question {question.value!r} is not a CoT question the parser reads; valid: {valid}")
        self.question = question

    def build_prompt(self, frames: Sequence[np.ndarray], task: str) -> Prompt:
        """The prompt sent for ``frames`` (correction questions refer to the last frame)."""
        return _BUILDERS[self.question](frames, task)

    def _diagnose(self, frames: list[np.ndarray], task: str, context: object | None) -> SupervisorResult:
        prompt = self.build_prompt(frames, task)
        text = self._complete(prompt)
        result = parse_answer_for(prompt, text)
        if isinstance(result, Unreadable):
            log.warning("supervisor: unreadable answer (%s)", result.reason)
        return result

    @abc.abstractmethod
    def _complete(self, prompt: Prompt) -> str:
        """Send ``prompt`` and return the model's answer text; raise :class:`BackendCallError` subclasses."""
