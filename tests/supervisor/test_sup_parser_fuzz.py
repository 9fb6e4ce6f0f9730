"""Property tests and a bounded fuzz run: no input makes the parser raise or hang, and every symbol it
returns lies inside the frame it refers to."""

from __future__ import annotations

import math
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from failforward.supervisor.diagnosis import Diagnosis, Unreadable
from failforward.supervisor.parser import parse_answer, parse_choice, parse_detection, parse_failure_type
from failforward.supervisor.questions import QuestionType
from failforward.supervisor.symbol_code import SymbolCodeError, parse_symbol_line

SHAPES = [(240, 320)] * 6
HEADER = '<Answer>\n"success detection": "Failed",\n"keyframe": "2"\n"visual prompts": "'
ANSWER = (
    "<Think>The failure type is identified as 'gripper state'.</Think>\n"
    + HEADER
    + "Draw Straight Arrow: {'start_point': [602, 179], 'end_point': [689, 325], 'color': ['green', 'red']}\n"
    "Draw Rotating Arrow: {'center': [550, 179], 'direction': 'clockwise'}\nDraw ON: {'position': [620, 331]}\n"
    "Draw Dual Crosshair: {'start_point': [806, 196], 'end_point': [789, 317]}\"\n</Answer>"
)
TOKENS = [
    "<Think>",
    "</Think>",
    "<Answer>",
    "</Answer>",
    '"',
    "'",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\n",
    "\\n",
    "Draw ",
    "Draw Lock: ",
    "Draw Straight Arrow: ",
    '"success detection": "Failed"',
    '"keyframe": "99999"',
    '"visual prompts": "',
    "'position': ",
    "[1e309, 2]",
    "-5",
    "1000",
    "1000.0001",
    "nan",
    "(1, 2)",
    "{1: 2}",
    "__import__('os').system('true')",
    "lambda: 0",
    "'gripper 6d-pose'",
    "\x00",
    "é",
    "9" * 50,
]


# A parse costs milliseconds; catastrophic backtracking on these inputs costs minutes or never ends. The bound is
# on this thread's CPU time, not wall time, so a loaded CI machine (other processes, preemption) cannot fail it.
HANG_S = 2.0


def _check(result: object, shapes: list[tuple[int, int]]) -> None:
    assert isinstance(result, Diagnosis | Unreadable)
    if isinstance(result, Diagnosis) and result.symbols:
        height, width = shapes[result.symbol_frame]
        assert all(s.inside(width, height) for s in result.symbols)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=2000))
def test_any_text_gives_a_typed_result(text: str) -> None:
    _check(parse_answer(text, frame_shapes=SHAPES), SHAPES)
    assert isinstance(parse_choice(text), str | Unreadable)
    assert isinstance(parse_detection(text), bool | Unreadable)
    assert isinstance(parse_failure_type(text), str | Unreadable)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join), st.sampled_from(list(QuestionType)))
def test_token_soup_gives_a_typed_result(text: str, question: QuestionType) -> None:
    _check(parse_answer(text, frame_shapes=SHAPES, question=question), SHAPES)


_coord = st.one_of(st.integers(-3000, 3000), st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=300, deadline=None)
@given(_coord, _coord, st.integers(1, 2000), st.integers(1, 2000))
def test_points_are_inside_the_image_or_rejected(x: float, y: float, width: int, height: int) -> None:
    line = f"Draw Crosshair: {{'position': [{x!r}, {y!r}]}}"
    valid = all(math.isfinite(c) and 0 <= c <= 1000 for c in (x, y))
    try:
        symbol = parse_symbol_line(line, width=width, height=height)
    except SymbolCodeError:
        assert not valid
    else:
        assert valid and symbol.inside(width, height)
        assert symbol.position == pytest.approx((x / 1000 * width, y / 1000 * height))


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # literal_eval of garbage like "9Draw" warns, then fails
def test_bounded_mutation_fuzz_never_raises_or_hangs() -> None:
    """2000 random splices of a valid answer with adversarial tokens; no parse takes long (a hang would)."""
    rng = random.Random(1234)
    worst = 0.0
    for _ in range(2000):
        text = ANSWER
        for _ in range(rng.randint(1, 6)):
            i, j = sorted(rng.randrange(len(text) + 1) for _ in range(2))
            op = rng.random()
            if op < 0.4:
                text = text[:i] + rng.choice(TOKENS) + text[i:]
            elif op < 0.7:
                text = text[:i] + text[j:]
            else:
                text = text[:i] + text[i:j] * rng.randint(2, 4) + text[j:]
        start = time.thread_time()
        _check(parse_answer(text, frame_shapes=SHAPES, question=QuestionType.VISUAL_AVOIDANCE_COT), SHAPES)
        worst = max(worst, time.thread_time() - start)
    assert worst < HANG_S


@pytest.mark.parametrize(
    "text",
    [
        HEADER + "Draw Lock: {'position': " + "[" * 100_000 + "]" * 100_000 + '}"',
        HEADER + "Draw Lock: {'position': [" + "9" * 100_000 + ', 1]}"',
        HEADER + "Draw Lock: {'position': [1, 2]}\n" * 20_000,
        "<Think>" * 50_000,
        '"success detection": "Failed"' + " " * 100_000 + "failure type is " * 10_000,
        HEADER + "Draw " + "a" * 100_000 + ": {}",
        "<Answer>" + '"low level commands": "' + "move left and " * 20_000,
    ],
)
def test_pathological_answers_are_fast(text: str) -> None:
    start = time.thread_time()
    _check(parse_answer(text, frame_shapes=SHAPES, question=QuestionType.VISUAL_AVOIDANCE_COT), SHAPES)
    assert time.thread_time() - start < HANG_S
