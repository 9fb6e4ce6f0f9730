"""Write answers in the ViFailback CoT format (Figures 8–9 answer templates, release layout).

Used by the privileged sim oracle and the dataset export, so that their text goes through the very
same parser as a model's answer.

Example:
    >>> text = write_answer(AnswerContent(success=False, failure_type="gripper state",
    ...                     commands=(Grasp(gripper="left", state="open"),)), width=320, height=240)
"""

from __future__ import annotations

from dataclasses import dataclass

from failforward.supervisor.commands import Grasp, HoldStill, Move, Rotate, format_commands
from failforward.supervisor.questions import FailureType, QuestionType
from failforward.supervisor.symbol_code import format_symbol_line
from failforward.symbols.types import Symbol


@dataclass(frozen=True)
class AnswerContent:
    """What an answer says. ``keyframe`` (1-based) is used by avoidance answers, ``correction_frame``
    (1-based) by correction answers; symbols are in pixels of the frame they refer to."""

    success: bool
    failure_type: FailureType | None = None
    commands: tuple[Move | Rotate | Grasp | HoldStill, ...] = ()
    symbols: tuple[Symbol, ...] = ()
    keyframe: int | None = None
    correction_frame: int | None = None


def _think(content: AnswerContent, question: QuestionType, command_text: str, drawings: str) -> list[str]:
    if content.success:
        return [
            "First, I need to determine if the task was successful. The provided data indicates the task was "
            "completed successfully."
        ]
    lines = ["First, I need to determine if the task was successful. The provided data indicates a failure occurred."]
    if question.is_avoidance:
        lines.append(
            f"Next, I must localize when the failure began. The keyframe just before the failure is image "
            f"number {content.keyframe}."
        )
    lines.append(f"Now I need to classify the failure. The failure type is identified as '{content.failure_type}'.")
    if question.is_avoidance:
        lines.append(
            f"Based on this, I will formulate a low-level command to avoid the failure. The corrective "
            f"action is: '{command_text}'."
        )
    else:
        lines.append(
            f"Based on this, I will formulate a low-level command to correct and recover from the failure, "
            f"based on the frame number {content.correction_frame}. The corrective action is: "
            f"'{command_text}'."
        )
    if drawings:
        lines.append(
            "Finally, I will generate the visual prompt commands corresponding to this low-level "
            "correction. The required drawings are:"
        )
        lines.append(drawings)
    return lines


def write_answer(
    content: AnswerContent,
    *,
    width: int,
    height: int,
    question: QuestionType = QuestionType.VISUAL_CORRECTION_COT,
) -> str:
    """The full ``<Think>…</Think>\\n<Answer>…</Answer>`` text; symbols written in 0–1000 coordinates of a
    ``width x height`` frame."""
    command_text = format_commands(content.commands)
    visual = question in (QuestionType.VISUAL_AVOIDANCE_COT, QuestionType.VISUAL_CORRECTION_COT)
    drawings = "\n".join(format_symbol_line(s, width=width, height=height) for s in content.symbols) if visual else ""
    verdict = "Successful" if content.success else "Failed"
    answer = [f'"success detection": "{verdict}"' + ("" if content.success else ",")]
    if not content.success:
        if question.is_avoidance:
            answer.append(f'"keyframe": "{content.keyframe}"')
        answer.append(f'"low level commands": "{command_text}"' + ("," if visual else ""))
        if visual:
            answer.append(f'"visual prompts": "{drawings}"')
    think = "\n".join(_think(content, question, command_text, drawings))
    return "<Think>\n" + think + "\n</Think>\n<Answer>\n" + "\n".join(answer) + "\n</Answer>"
