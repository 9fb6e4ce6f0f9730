"""Answer parser: the release's examples, tolerance to sloppy answers, typed failures."""

from __future__ import annotations

import json

import pytest

from failforward.supervisor.answer_writer import AnswerContent, write_answer
from failforward.supervisor.commands import Grasp, HoldStill, Move, Rotate
from failforward.supervisor.diagnosis import Diagnosis, Unreadable
from failforward.supervisor.parser import parse_answer, parse_choice, parse_detection, parse_failure_type
from failforward.supervisor.questions import FAILURE_TYPES, FailureType, QuestionType
from failforward.symbols.types import Crosshair, DualCrosshair, GripperState, Lock, Rewind, RotatingArrow, StraightArrow

# The assistant turn of the release's examples/example_direct_draw.json (avoidance, 19 frames, 640x480).
RELEASE_ANSWER = (
    "<Think>\nFirst, I need to determine if the task was successful. The provided data indicates a failure "
    "occurred.\nNext, I must localize when the failure began. The keyframe just before the failure is image number "
    "13.\nNow I need to classify the failure. The failure type is identified as 'gripper 6d-pose'.\nBased on this, "
    "I will formulate a low-level command to avoid the failure. The corrective action is: 'Move the right gripper "
    "to the right significantly and backward significantly, and rotate the right gripper clockwise.'.\nFinally, I "
    "will generate the visual prompt commands corresponding to this low-level correction. The required drawings "
    "are:\nDraw Straight Arrow: {'start_point': [602, 179], 'end_point': [689, 325], 'color': ['green', 'red']}\n"
    "Draw Rotating Arrow: {'center': [550, 179], 'direction': 'clockwise'}\nDraw Dual Crosshair: {'start_point': "
    '[806, 196], \'end_point\': [789, 317]}\n</Think>\n<Answer>\n"success detection": "Failed",\n"keyframe": '
    '"13"\n"low level commands": "Move the right gripper to the right significantly and backward '
    'significantly, and rotate the right gripper clockwise.",\n"visual prompts": "Draw Straight Arrow: '
    "{'start_point': [602, 179], 'end_point': [689, 325], 'color': ['green', 'red']}\nDraw Rotating Arrow: "
    "{'center': [550, 179], 'direction': 'clockwise'}\nDraw Dual Crosshair: {'start_point': [806, 196], "
    "'end_point': [789, 317]}\"\n</Answer>"
)

# Paper, supplement Figure 19 (correction answer; note "Draw ON").
FIGURE_19 = (
    "<Think>\n First, I need to determine if the task was successful. The provided data indicates a failure "
    "occurred.\n Now I need to classify the failure. The failure type is identified as 'gripper state'.\n Based on "
    "this, I will formulate a low-level command to correct and recover from the failure, based on the last frame. "
    "The corrective action is: 'Open the left gripper'.\n Finally, I will generate the visual prompt commands "
    "corresponding to this low-level correction. The required drawings are:\nDraw ON: {'position': [620, 331]}\n "
    '</Think>\n <Answer>\n "success detection": "Failed",\n "low level commands": "Open the left gripper.",\n'
    ' "visual prompts": "Draw ON: {\'position\': [620, 331]}"\n </Answer>'
)
SHAPES_19 = [(480, 640)] * 19


def test_release_avoidance_example_parses_completely() -> None:
    d = parse_answer(RELEASE_ANSWER, frame_shapes=SHAPES_19, question=QuestionType.VISUAL_AVOIDANCE_COT)
    assert isinstance(d, Diagnosis)
    assert (d.success, d.keyframe, d.failure_type, d.symbol_frame) == (False, 13, "gripper 6d-pose", 12)
    assert d.commands == (
        Move(gripper="right", direction="right", magnitude="significantly"),
        Move(gripper="right", direction="backward", magnitude="significantly"),
        Rotate(gripper="right", direction="clockwise"),
    )
    arrow, rotation, dual = d.symbols
    # 0–1000 → pixels of the 640x480 keyframe: u = x/1000*640, v = y/1000*480.
    assert arrow == StraightArrow(start=(385.28, 85.92), end=(440.96, 156.0), colors=("green", "red"))
    assert rotation == RotatingArrow(center=(352.0, 85.92), direction="clockwise")
    assert dual.start == pytest.approx((515.84, 94.08)) and dual.end == pytest.approx((504.96, 152.16))
    assert d.warnings == () and d.active_grippers == {"right"}


def test_figure_19_correction_symbols_refer_to_the_last_frame() -> None:
    d = parse_answer(FIGURE_19, frame_shapes=[(240, 320)] * 4 + [(480, 640)])
    assert isinstance(d, Diagnosis) and d.symbol_frame == 4 and d.keyframe is None
    assert d.failure_type == "gripper state" and d.commands == (Grasp(gripper="left", state="open"),)
    assert d.symbols == (GripperState(position=(396.8, 158.88), state="ON"),)


def test_unknown_and_broken_symbol_lines_are_skipped_with_warnings() -> None:
    answer = FIGURE_19.replace(
        "Draw ON: {'position': [620, 331]}\"",
        "Draw ON: {'position': [620, 331]}\nDraw Spiral: {'center': [1, 2]}\nDraw Lock: {'position': [1200, 5]}\n"
        "Draw Crosshair: {'position': [1, 2, 3]}\nDraw Rewind: {'position': ['a', 2]}\nDraw Lock: __import__('os')\n"
        "Draw Crosshair: {'position': [nan, 2]}\nDraw Lock: {'position': [10, 20]}\"",
    )
    d = parse_answer(answer, frame_shapes=[(100, 200)])
    assert isinstance(d, Diagnosis)
    assert d.symbols == (GripperState(position=(124.0, 33.1), state="ON"), Lock(position=(2.0, 2.0)))
    assert len(d.warnings) == 6


def test_negative_and_out_of_range_coordinates_are_rejected() -> None:
    for bad in ("[-1, 5]", "[5, 1000.5]", "[1e400, 5]", "[True, 5]"):
        answer = FIGURE_19.replace('[620, 331]}"', f'{bad}}}"')
        d = parse_answer(answer, frame_shapes=[(100, 200)])
        assert isinstance(d, Diagnosis) and d.symbols == (), bad


def test_pixel_coordinates_mode_checks_the_image_size() -> None:
    inside = parse_answer(FIGURE_19, frame_shapes=[(480, 640)], coordinates="pixels")
    outside = parse_answer(FIGURE_19, frame_shapes=[(240, 320)], coordinates="pixels")
    assert inside.symbols == (GripperState(position=(620.0, 331.0), state="ON"),)
    assert outside.symbols == () and "outside the 320x240 image" in outside.warnings[0]


def test_avoidance_keyframe_outside_the_frames_drops_symbols_not_the_diagnosis() -> None:
    d = parse_answer(RELEASE_ANSWER, frame_shapes=[(480, 640)] * 5, question=QuestionType.VISUAL_AVOIDANCE_COT)
    assert isinstance(d, Diagnosis) and d.symbols == () and not d.success and d.commands


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "I think the robot did fine.",
        "<Think>The failure type is identified as 'gripper state'.</Think><Answer></Answer>",
        '<Answer>"low level commands": "Open the left gripper."</Answer>',
        None,
        12,
        b'<Answer>"success detection": "Failed"</Answer>',
    ],
)
def test_answers_without_a_verdict_are_unreadable(text: object) -> None:
    result = parse_answer(text, frame_shapes=[(48, 64)])
    assert isinstance(result, Unreadable) and result.reason


def test_tolerates_missing_tags_single_quotes_and_literal_newline_escapes() -> None:
    sloppy = (
        "success detection: 'Failed'\n'keyframe': 2\n"
        "\"visual prompts\": \"Draw Crosshair: {'position': [500, 500]}\\nDraw Rewind: {'position': [0, 1000]}\""
    )
    d = parse_answer(sloppy, frame_shapes=[(10, 20)] * 3)
    assert isinstance(d, Diagnosis) and not d.success and d.keyframe == 2
    assert d.symbols == (Crosshair(position=(10.0, 5.0)), Rewind(position=(0.0, 10.0)))
    assert any("no <Answer>" in w for w in d.warnings)


def test_truncated_answer_still_yields_what_was_written() -> None:
    cut = RELEASE_ANSWER[: RELEASE_ANSWER.index("Draw Dual Crosshair: {'start_point': [806, 196], 'end_point'", 1200)]
    d = parse_answer(cut + "Draw Dual Cross", frame_shapes=SHAPES_19, question=QuestionType.VISUAL_AVOIDANCE_COT)
    assert isinstance(d, Diagnosis) and [s.kind for s in d.symbols] == ["straight_arrow", "rotating_arrow"]


def test_successful_answer() -> None:
    d = parse_answer('<Answer>\n"success detection": "Successful"\n</Answer>', frame_shapes=[(10, 10)])
    assert isinstance(d, Diagnosis) and d.success and d.failure_type is None and d.commands == ()


ALL_SYMBOLS = (
    StraightArrow(start=(10.0, 20.0), end=(60.0, 20.0), colors=("green", "blue")),
    RotatingArrow(center=(100.0, 50.0), direction="counter-clockwise"),
    DualCrosshair(start=(30.0, 100.0), end=(200.0, 150.0)),
    Crosshair(position=(160.0, 120.0)),
    GripperState(position=(80.0, 200.0), state="OFF"),
    Lock(position=(300.0, 10.0)),
    Rewind(position=(320.0, 240.0)),
)


@pytest.mark.parametrize("question", [QuestionType.VISUAL_CORRECTION_COT, QuestionType.VISUAL_AVOIDANCE_COT])
def test_written_answers_parse_back_to_the_same_content(question: QuestionType) -> None:
    content = AnswerContent(
        success=False,
        failure_type="task planning",
        commands=(HoldStill(gripper="left"), Move(gripper="right", direction="upward", magnitude="slightly")),
        symbols=ALL_SYMBOLS,
        keyframe=3,
        correction_frame=4,
    )
    text = write_answer(content, width=320, height=240, question=question)
    d = parse_answer(text, frame_shapes=[(240, 320)] * 4, question=question, correction_frame=3)
    assert isinstance(d, Diagnosis) and d.warnings == ()
    assert (d.success, d.failure_type, d.commands) == (False, "task planning", content.commands)
    assert d.symbol_frame == (2 if question.is_avoidance else 3)
    assert len(d.symbols) == 7
    for got, want in zip(d.symbols, ALL_SYMBOLS, strict=True):
        assert got.kind == want.kind
        for p, q in zip(got.points(), want.points(), strict=True):
            assert p == pytest.approx(q, abs=0.5)  # 0–1000 rounding: ≤ W/2000 px


@pytest.mark.parametrize(
    ("text", "letter"),
    [("B", "B"), ("B.", "B"), ("The answer is C. Open the gripper.", "C"), ("(D)", "D"), ("**A**", "A")],
)
def test_parse_choice(text: str, letter: str) -> None:
    assert parse_choice(text) == letter


def test_parse_choice_detection_and_type_failures_are_typed() -> None:
    assert isinstance(parse_choice("none of them"), Unreadable)
    assert parse_detection("Failed") is False and parse_detection("Successful.") is True
    assert isinstance(parse_detection("Successful or Failed"), Unreadable)
    assert parse_failure_type("'gripper 6D-pose'") == "gripper 6d-pose"
    assert isinstance(parse_failure_type("gripper slipped"), Unreadable)


def test_failure_types_are_an_enum_that_reads_and_writes_as_the_words() -> None:
    assert FAILURE_TYPES == ("gripper state", "gripper 6d-pose", "task planning", "human intervention")
    d = parse_answer(FIGURE_19, frame_shapes=SHAPES_19)
    assert isinstance(d, Diagnosis) and d.failure_type is FailureType.GRIPPER_STATE
    assert '"failure_type":"gripper state"' in d.model_dump_json()
    assert d.model_dump(mode="json")["failure_type"] == "gripper state"
    assert json.dumps(d.model_dump()["failure_type"]) == '"gripper state"'
    assert parse_failure_type("'gripper 6D-pose'") is FailureType.GRIPPER_6D_POSE
    commands = (Grasp(gripper="left", state="open"),)
    for failure_type in FailureType:
        assert f"{failure_type}" == str(failure_type) == failure_type.value
        as_enum = write_answer(AnswerContent(False, failure_type, commands), width=640, height=480)
        as_text = write_answer(AnswerContent(False, failure_type.value, commands), width=640, height=480)  # type: ignore[arg-type]
        assert as_enum == as_text and f"identified as '{failure_type.value}'" in as_enum
