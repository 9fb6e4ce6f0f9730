"""The ViFailback question types and the closed vocabularies their answers use.

Names follow the paper (supplement Figures 4–9). The six "Lite" types are multiple choice, the
others are open-ended; the two ``VISUAL_*`` types are the chain-of-thought variants that also ask for
visual prompts (the format ViFailback-8B answers in deployment).
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from failforward.config.base import ValueEnum


class FailureType(ValueEnum):
    """The four failure types; values are spelled exactly as in the templates and answers."""

    GRIPPER_STATE = "gripper state"
    GRIPPER_6D_POSE = "gripper 6d-pose"
    TASK_PLANNING = "task planning"
    HUMAN_INTERVENTION = "human intervention"


FAILURE_TYPES: tuple[FailureType, ...] = tuple(FailureType)

Gripper = Literal["left", "right"]


class QuestionType(str, Enum):
    """One of the paper's 11 VQA question types plus the two visual-guidance CoT variants."""

    FAILURE_DETECTION = "failure_detection"
    KEYFRAME_LOCALIZATION = "keyframe_localization"
    SUBTASK_LOCALIZATION = "subtask_localization"
    FAILURE_TYPE = "failure_type"
    LOW_LEVEL_AVOIDANCE = "low_level_avoidance"
    LOW_LEVEL_CORRECTION = "low_level_correction"
    FAILURE_REASON = "failure_reason"
    HIGH_LEVEL_AVOIDANCE = "high_level_avoidance"
    HIGH_LEVEL_CORRECTION = "high_level_correction"
    LOW_LEVEL_AVOIDANCE_COT = "low_level_avoidance_cot"
    LOW_LEVEL_CORRECTION_COT = "low_level_correction_cot"
    VISUAL_AVOIDANCE_COT = "visual_avoidance_cot"
    VISUAL_CORRECTION_COT = "visual_correction_cot"

    @property
    def is_multiple_choice(self) -> bool:
        """True for the four-option A–D questions (keyframe, subtask, low-level avoidance/correction)."""
        return self in _LETTERED

    @property
    def is_cot(self) -> bool:
        """True for the answers with ``<Think>``/``<Answer>`` blocks that :func:`parse_answer` reads."""
        return self in _COT

    @property
    def is_avoidance(self) -> bool:
        """Avoidance answers refer to the keyframe just before the failure; correction ones to a later frame."""
        return self in _AVOIDANCE


_LETTERED = frozenset(
    {
        QuestionType.KEYFRAME_LOCALIZATION,
        QuestionType.SUBTASK_LOCALIZATION,
        QuestionType.LOW_LEVEL_AVOIDANCE,
        QuestionType.LOW_LEVEL_CORRECTION,
    }
)
_COT = frozenset(
    {
        QuestionType.LOW_LEVEL_AVOIDANCE_COT,
        QuestionType.LOW_LEVEL_CORRECTION_COT,
        QuestionType.VISUAL_AVOIDANCE_COT,
        QuestionType.VISUAL_CORRECTION_COT,
    }
)
_AVOIDANCE = frozenset(
    {
        QuestionType.LOW_LEVEL_AVOIDANCE,
        QuestionType.HIGH_LEVEL_AVOIDANCE,
        QuestionType.LOW_LEVEL_AVOIDANCE_COT,
        QuestionType.VISUAL_AVOIDANCE_COT,
    }
)
OPTION_LETTERS = ("A", "B", "C", "D")
