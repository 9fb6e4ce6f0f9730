"""Prompt builders: one ViFailback question = images + text segments, in the order the template gives.

Example:
    >>> frames = [np.zeros((240, 320, 3), np.uint8)] * 5
    >>> prompt = visual_correction_cot(frames, "Pick up the red cube.")
    >>> prompt.as_text().startswith("<image><image><image><image><image>These images")
    True

Frames are ``uint8 [H, W, 3]`` RGB head-camera images in chronological order. Multiple-choice questions
take exactly four options, shown as ``- A. …`` to ``- D. …``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from failforward.errors import ShapeError
from failforward.supervisor.errors import PromptError
from failforward.supervisor.questions import FAILURE_TYPES, OPTION_LETTERS, QuestionType
from failforward.supervisor.templates import TEMPLATES

_IMAGE_SLOT = re.compile(r"(\{task_image_sequence\}|\{avoidance_keyframe_image\}|\{correction_keyframe_image\})")


@dataclass(frozen=True)
class ImageRef:
    """Where image ``index`` (into ``Prompt.images``) goes in the prompt."""

    index: int


@dataclass(frozen=True)
class Prompt:
    """A ready question.

    Attributes:
        question: which of the 13 question types.
        segments: text and :class:`ImageRef` items in reading order.
        images: ``uint8 [H, W, 3]`` RGB images referenced by the segments (frames, then any keyframe image).
        options: the four answer options of a multiple-choice question, else empty.
        frame_count: how many of ``images`` are the chronological frames (1-based numbers 1..N in answers).
        correction_frame: 0-based index of the frame a correction answer's symbols refer to, else ``None``.
    """

    question: QuestionType
    segments: tuple[str | ImageRef, ...]
    images: tuple[np.ndarray, ...]
    options: tuple[str, ...] = ()
    frame_count: int = 0
    correction_frame: int | None = None

    @property
    def text(self) -> str:
        """The text alone (images left out)."""
        return "".join(s for s in self.segments if isinstance(s, str))

    def as_text(self, image_token: str = "<image>") -> str:
        """The prompt with each image written as ``image_token`` (the release's ShareGPT/LLaMA-Factory form)."""
        return "".join(image_token if isinstance(s, ImageRef) else s for s in self.segments)


def _check_frames(frames: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    if len(frames) == 0:
        raise PromptError("A ViFailback prompt needs at least one head-camera frame; the frame buffer is empty.")
    for i, frame in enumerate(frames):
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            got = getattr(frame, "shape", type(frame))
            raise ShapeError(f"frame {i} must be uint8 [H, W, 3] RGB, got {getattr(frame, 'dtype', '?')} {got}.")
    return tuple(frames)


def _check_options(options: Sequence[str]) -> tuple[str, ...]:
    if len(options) != len(OPTION_LETTERS):
        raise PromptError(f"Multiple-choice questions take exactly 4 options (A–D), got {len(options)}.")
    return tuple(str(o) for o in options)


def _assemble(
    question: QuestionType,
    frames: tuple[np.ndarray, ...],
    fields: dict[str, str],
    *,
    keyframe: np.ndarray | None = None,
    options: tuple[str, ...] = (),
    correction_frame: int | None = None,
) -> Prompt:
    """Fill the template's text fields and replace its image slots by :class:`ImageRef` segments."""
    values = dict(fields)
    values.update({f"option_{letter.lower()}": opt for letter, opt in zip(OPTION_LETTERS, options, strict=False)})
    images = frames + ((keyframe,) if keyframe is not None else ())
    segments: list[str | ImageRef] = []
    for piece in _IMAGE_SLOT.split(TEMPLATES[question]):
        if piece == "{task_image_sequence}":
            segments.extend(ImageRef(i) for i in range(len(frames)))
        elif piece in ("{avoidance_keyframe_image}", "{correction_keyframe_image}"):
            segments.append(ImageRef(len(frames)))
        elif piece:
            segments.append(piece.format_map(values))
    return Prompt(question, tuple(segments), images, options, len(frames), correction_frame)


def _frame_number(frames: tuple[np.ndarray, ...], number: int | None) -> int:
    """1-based frame number, default the last frame; raises if outside 1..N."""
    n = len(frames)
    number = n if number is None else number
    if not 1 <= number <= n:
        raise PromptError(f"correction keyframe must be a frame number in 1..{n}, got {number}.")
    return number


def failure_detection(frames: Sequence[np.ndarray], task: str) -> Prompt:
    """Figure 4: was the task completed? Answer ``Successful`` or ``Failed``."""
    return _assemble(QuestionType.FAILURE_DETECTION, _check_frames(frames), {"task_description": task})


def keyframe_localization(frames: Sequence[np.ndarray], task: str, options: Sequence[str]) -> Prompt:
    """Figure 4: which frame does the failure start at? ``options``: four frame labels."""
    return _assemble(
        QuestionType.KEYFRAME_LOCALIZATION,
        _check_frames(frames),
        {"task_description": task},
        options=_check_options(options),
    )


def subtask_localization(
    frames: Sequence[np.ndarray], task: str, subtasks: Sequence[str], options: Sequence[str]
) -> Prompt:
    """Figure 4: which subtask failed? ``subtasks`` are listed one per line after the question."""
    listed = "\n" + "\n".join(subtasks) if subtasks else ""
    return _assemble(
        QuestionType.SUBTASK_LOCALIZATION,
        _check_frames(frames),
        {"task_description": task, "subtasks": listed},
        options=_check_options(options),
    )


def failure_type_identification(frames: Sequence[np.ndarray], task: str) -> Prompt:
    """Figure 4: which of the four failure types?"""
    return _assemble(QuestionType.FAILURE_TYPE, _check_frames(frames), {"task_description": task})


def _checked_failure_type(failure_type: str) -> str:
    if failure_type not in FAILURE_TYPES:
        raise PromptError(f"Unknown failure type {failure_type!r}; valid: {', '.join(FAILURE_TYPES)}.")
    return failure_type


def low_level_avoidance(
    frames: Sequence[np.ndarray], task: str, keyframe: np.ndarray, failure_type: str, options: Sequence[str]
) -> Prompt:
    """Figure 5: choose the command that avoids the failure; ``keyframe`` is the frame just before it."""
    (key,) = _check_frames([keyframe])
    return _assemble(
        QuestionType.LOW_LEVEL_AVOIDANCE,
        _check_frames(frames),
        {"task_description": task, "failure_type": _checked_failure_type(failure_type)},
        keyframe=key,
        options=_check_options(options),
    )


def low_level_correction(
    frames: Sequence[np.ndarray], task: str, keyframe: np.ndarray, failure_type: str, options: Sequence[str]
) -> Prompt:
    """Figure 5: choose the command that corrects the failure; ``keyframe`` is a frame after it."""
    (key,) = _check_frames([keyframe])
    return _assemble(
        QuestionType.LOW_LEVEL_CORRECTION,
        _check_frames(frames),
        {"task_description": task, "failure_type": _checked_failure_type(failure_type)},
        keyframe=key,
        options=_check_options(options),
    )


def failure_reason(frames: Sequence[np.ndarray], task: str) -> Prompt:
    """Figure 6: a 2–3 sentence root-cause analysis (open-ended)."""
    return _assemble(QuestionType.FAILURE_REASON, _check_frames(frames), {"task_description": task})


def high_level_avoidance(frames: Sequence[np.ndarray], task: str) -> Prompt:
    """Figure 6: high-level commands that avoid the failure (open-ended)."""
    return _assemble(QuestionType.HIGH_LEVEL_AVOIDANCE, _check_frames(frames), {"task_description": task})


def high_level_correction(frames: Sequence[np.ndarray], task: str) -> Prompt:
    """Figure 6: high-level commands that recover from the failure (open-ended)."""
    return _assemble(QuestionType.HIGH_LEVEL_CORRECTION, _check_frames(frames), {"task_description": task})


def low_level_avoidance_cot(frames: Sequence[np.ndarray], task: str) -> Prompt:
    """Figure 7: detection, keyframe, type and an avoidance command, with ``<Think>``/``<Answer>``."""
    return _assemble(QuestionType.LOW_LEVEL_AVOIDANCE_COT, _check_frames(frames), {"task_description": task})


def low_level_correction_cot(frames: Sequence[np.ndarray], task: str, correction_keyframe: int | None = None) -> Prompt:
    """Figure 7: detection, type and a correction command for frame ``correction_keyframe`` (1-based, default last)."""
    checked = _check_frames(frames)
    number = _frame_number(checked, correction_keyframe)
    fields = {"task_description": task, "correction_keyframe": str(number)}
    return _assemble(QuestionType.LOW_LEVEL_CORRECTION_COT, checked, fields, correction_frame=number - 1)


def visual_avoidance_cot(frames: Sequence[np.ndarray], task: str) -> Prompt:
    """Figure 8: as :func:`low_level_avoidance_cot` plus visual prompts drawn on the keyframe."""
    return _assemble(QuestionType.VISUAL_AVOIDANCE_COT, _check_frames(frames), {"task_description": task})


def visual_correction_cot(frames: Sequence[np.ndarray], task: str, correction_keyframe: int | None = None) -> Prompt:
    """Figure 9: correction command plus visual prompts for frame ``correction_keyframe`` (1-based, default last).

    This is the deployment question: the supervisor asks it over the last frames and the symbols it
    returns are drawn on the correction frame.
    """
    checked = _check_frames(frames)
    number = _frame_number(checked, correction_keyframe)
    fields = {"task_description": task, "correction_keyframe": str(number)}
    return _assemble(QuestionType.VISUAL_CORRECTION_COT, checked, fields, correction_frame=number - 1)
