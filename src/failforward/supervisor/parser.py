"""Tolerant reader of ViFailback answers → :class:`Diagnosis` or :class:`Unreadable`.

The answer block is not JSON (the release writes ``"keyframe": "13"`` without a trailing comma), so
fields are read with bounded regular expressions, as the authors' release does. The failure type is
read from the ``<Think>`` text. Symbol lines that cannot be read are skipped with a warning; an answer
without a readable success/failure verdict is :class:`Unreadable`. Nothing here raises on any input
string, and nothing is evaluated (dicts go through a bounded ``ast.literal_eval``).

Example:
    >>> result = parse_answer(text, frame_shapes=[(240, 320)] * 5)
    >>> result.symbols[0]           # pixels of frame 5 (the correction frame defaults to the last frame)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from pydantic import ValidationError

from failforward.supervisor.commands import parse_commands
from failforward.supervisor.diagnosis import Diagnosis, Unreadable, clip_raw
from failforward.supervisor.prompts import Prompt
from failforward.supervisor.questions import FAILURE_TYPES, OPTION_LETTERS, FailureType, QuestionType
from failforward.supervisor.symbol_code import CoordinateMode, SymbolCodeError, parse_symbol_line
from failforward.symbols.types import Symbol

log = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 32_000
MAX_SYMBOLS = 32

_THINK = re.compile(r"<\s*think\s*>(.*?)(?:<\s*/\s*think\s*>|<\s*answer\s*>|\Z)", re.I | re.S)
_ANSWER = re.compile(r"<\s*answer\s*>(.*?)(?:<\s*/\s*answer\s*>|\Z)", re.I | re.S)
_VERDICT = re.compile(r"[\"']?success[ _]detection[\"']?\s*:\s*[\"']?\s*(successful|success|failed|failure)", re.I)
_KEYFRAME = re.compile(r"[\"']?keyframe[\"']?\s*:\s*[\"']?\s*(?:image\s*|frame\s*)?(\d{1,6})", re.I)
_COMMANDS = re.compile(r"[\"']?low[ _]level[ _]commands?[\"']?\s*:\s*\"([^\"]{0,4000})\"?", re.I)
_PROMPTS_START = re.compile(r"[\"']?visual[ _]prompts?[\"']?\s*:\s*\"?", re.I)
_NEXT_FIELD = re.compile(r"\n\s*\"(?:success detection|keyframe|low level commands?)\"\s*:", re.I)
_QUOTE = "'\"‘’“”"
_TYPE_SENTENCE = re.compile(
    rf"failure\s+type\s+is\s+(?:identified\s+as\s+)?[{_QUOTE}]?([a-z0-9 \-]{{3,40}}?)[{_QUOTE}.,]", re.I
)
_TYPE_WORDS = re.compile(r"gripper\s+6\s*-?\s*d[\s-]*pose|gripper\s+state|task\s+planning|human\s+intervention", re.I)


def _failure_type(text: str) -> FailureType | None:
    """The failure type from the Think sentence, else the first type named anywhere in ``text``."""
    sentence = _TYPE_SENTENCE.search(text)
    candidates = [sentence.group(1)] if sentence else []
    candidates += [m.group(0) for m in _TYPE_WORDS.finditer(text)]
    for candidate in candidates:
        key = re.sub(r"[\s-]+", " ", candidate.strip().lower()).replace("6 d", "6d").replace("6d pose", "6d-pose")
        if key in FAILURE_TYPES:
            return FailureType(key)
    return None


def _visual_prompts(block: str) -> str | None:
    start = _PROMPTS_START.search(block)
    if start is None:
        return None
    rest = block[start.end() :]
    stop = _NEXT_FIELD.search(rest)
    rest = rest[: stop.start()] if stop else rest
    rest = rest.strip().rstrip(",").rstrip()
    if rest.endswith('"'):
        rest = rest[:-1]
    return rest.replace("\\n", "\n")


def _symbols(
    code: str, width: int, height: int, coordinates: CoordinateMode, warnings: list[str]
) -> tuple[Symbol, ...]:
    symbols: list[Symbol] = []
    for line in code.splitlines():
        if not line.strip():
            continue
        if len(symbols) >= MAX_SYMBOLS:
            warnings.append(f"more than {MAX_SYMBOLS} symbols; the rest were skipped")
            break
        try:
            symbols.append(parse_symbol_line(line, width=width, height=height, coordinates=coordinates))
        except SymbolCodeError as exc:
            warnings.append(f"skipped symbol line {line.strip()[:80]!r}: {exc}")
    return tuple(symbols)


def _symbol_frame(
    question: QuestionType, keyframe: int | None, n_frames: int, correction_frame: int | None, warnings: list[str]
) -> int | None:
    """0-based frame the symbols are drawn on: the keyframe (avoidance) or the correction frame (default last)."""
    if question.is_avoidance:
        if keyframe is not None and 1 <= keyframe <= n_frames:
            return keyframe - 1
        warnings.append(f"keyframe {keyframe} is not a frame number in 1..{n_frames}; symbols dropped")
        return None
    frame = n_frames - 1 if correction_frame is None else correction_frame
    return frame if 0 <= frame < n_frames else None


def parse_answer(
    text: object,
    *,
    frame_shapes: Sequence[tuple[int, int]],
    question: QuestionType = QuestionType.VISUAL_CORRECTION_COT,
    correction_frame: int | None = None,
    coordinates: CoordinateMode = "normalized",
) -> Diagnosis | Unreadable:
    """Parse a CoT answer (``<Think>…</Think><Answer>…</Answer>``).

    Args:
        text: the model's answer; anything that is not a string is :class:`Unreadable`.
        frame_shapes: ``(H, W)`` in pixels of each queried frame, in order.
        question: the CoT question that was asked (decides which frame symbols refer to).
        correction_frame: 0-based frame of a correction answer's symbols (default: the last frame).
        coordinates: ``"normalized"`` (0–1000, model output) or ``"pixels"`` (raw annotations).
    """
    if not isinstance(text, str) or not text.strip():
        return Unreadable(reason="empty or non-text answer", raw=clip_raw(str(text)[:200]))
    warnings: list[str] = []
    if len(text) > MAX_ANSWER_CHARS:
        warnings.append(f"answer longer than {MAX_ANSWER_CHARS} characters was truncated")
        text = text[:MAX_ANSWER_CHARS]
    think_match, answer_match = _THINK.search(text), _ANSWER.search(text)
    think = think_match.group(1).strip() if think_match else ""
    block = answer_match.group(1) if answer_match else text
    if answer_match is None:
        warnings.append("no <Answer> block; fields were read from the whole text")
    verdict = _VERDICT.search(block)
    if verdict is None:
        return Unreadable(reason="no 'success detection' verdict (Successful/Failed) in the answer", raw=clip_raw(text))
    success = verdict.group(1).lower().startswith("success")
    keyframe_match = _KEYFRAME.search(block)
    keyframe = int(keyframe_match.group(1)) if keyframe_match else None
    failure_type = None if success else _failure_type(think or text)
    if not success and failure_type is None:
        warnings.append("no failure type found in the <Think> text")
    commands_match = _COMMANDS.search(block)
    command_text = commands_match.group(1).strip() if commands_match else ""
    symbols: tuple[Symbol, ...] = ()
    symbol_frame = None
    code = _visual_prompts(block)
    if code and code.strip():
        symbol_frame = _symbol_frame(question, keyframe, len(frame_shapes), correction_frame, warnings)
        if symbol_frame is not None:
            height, width = frame_shapes[symbol_frame]
            symbols = _symbols(code, width, height, coordinates, warnings)
    for warning in warnings:
        log.warning("ViFailback answer: %s", warning)
    try:
        return Diagnosis(
            question=question,
            success=success,
            keyframe=keyframe,
            failure_type=failure_type,
            command_text=command_text,
            commands=parse_commands(command_text),
            symbols=symbols,
            symbol_frame=symbol_frame if symbols else None,
            think=clip_raw(think),
            warnings=tuple(warnings),
            raw=clip_raw(text),
        )
    except ValidationError as exc:  # defensive: every field is checked above, but an answer never raises
        log.warning("ViFailback answer could not be typed: %s", exc.errors()[:1])
        return Unreadable(reason="answer fields failed validation", raw=clip_raw(text))


def parse_answer_for(
    prompt: Prompt, text: object, coordinates: CoordinateMode = "normalized"
) -> Diagnosis | Unreadable:
    """Parse the answer to ``prompt`` (frame sizes, question and correction frame taken from it)."""
    shapes = [tuple(img.shape[:2]) for img in prompt.images[: prompt.frame_count]]
    return parse_answer(
        text,
        frame_shapes=shapes,
        question=prompt.question,
        correction_frame=prompt.correction_frame,
        coordinates=coordinates,
    )


_LETTER = re.compile(r"(?:^|[\s(\[\"'*:])([ABCD])(?:[.)\]:,\"'*]|\s|$)")


def parse_choice(text: object) -> str | Unreadable:
    """The letter (``"A"``–``"D"``) of a multiple-choice answer such as "B." or "The answer is C"."""
    if not isinstance(text, str):
        return Unreadable(reason="non-text answer")
    found = _LETTER.search(text[:2000].strip())
    if found is None or found.group(1) not in OPTION_LETTERS:
        return Unreadable(reason="no option letter A–D in the answer", raw=clip_raw(text))
    return found.group(1)


def parse_detection(text: object) -> bool | Unreadable:
    """``True`` for "Successful", ``False`` for "Failed" (failure detection question)."""
    if not isinstance(text, str):
        return Unreadable(reason="non-text answer")
    words = re.findall(r"\b(successful|success|failed|failure)\b", text[:2000], re.I)
    verdicts = {w.lower().startswith("success") for w in words}
    if len(verdicts) != 1:
        return Unreadable(reason="answer is neither clearly 'Successful' nor 'Failed'", raw=clip_raw(text))
    return verdicts.pop()


def parse_failure_type(text: object) -> FailureType | Unreadable:
    """One of the four failure types named in the answer."""
    if not isinstance(text, str):
        return Unreadable(reason="non-text answer")
    found = _failure_type(text[:4000])
    return found if found is not None else Unreadable(reason="no known failure type in the answer", raw=clip_raw(text))
