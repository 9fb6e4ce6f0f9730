"""Export ViFailback-style VQA pairs from recorded simulated episodes, labelled by the sim oracle.

Each episode file is replayed in MuJoCo from its recorded seed and sent commands (and checked against the
recorded joint states), so the oracle sees the privileged state at every supervisor query point: every
``every_chunks``-th chunk, over the last ``window_s`` of recorded head frames at ``fps``, exactly as in
deployment. Output is the release's ShareGPT/LLaMA-Factory layout, ready for fine-tuning:

``<out>/vqa.jsonl``: one record per line,
``{"messages": [{"role": "user", "content": "<image>…<image>These images…"},
{"role": "assistant", "content": "<Think>…"}], "images": ["images/<episode>/<tick>.jpg", …], "tag": "<question>"}``.

Example:
    >>> summary = export_vqa(sorted(Path("runs/demo").glob("*.mcap")), Path("datasets/ours"))
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from failforward.config import ScheduleConfig
from failforward.errors import RecordingError
from failforward.record.reader import RecordedEpisode, read_episode
from failforward.sim.aloha_scene import AlohaScene
from failforward.sim.tasks import get_task
from failforward.supervisor.answer_writer import AnswerContent, write_answer
from failforward.supervisor.backends.sim_oracle import OracleSnapshot, SimOracleBackend
from failforward.supervisor.frame_window import FrameWindow
from failforward.supervisor.prompts import (
    Prompt,
    failure_detection,
    failure_type_identification,
    low_level_correction_cot,
    visual_correction_cot,
)
from failforward.supervisor.questions import QuestionType

log = logging.getLogger(__name__)
REPLAY_TOLERANCE = 1e-6  # [rad] recorded vs replayed joint positions
DEFAULT_QUESTIONS = (
    QuestionType.FAILURE_DETECTION,
    QuestionType.FAILURE_TYPE,
    QuestionType.LOW_LEVEL_CORRECTION_COT,
    QuestionType.VISUAL_CORRECTION_COT,
)


@dataclass(frozen=True)
class ExportSummary:
    """How many records, query points and diagnosed failures were written."""

    records: int
    query_points: int
    failures: int
    path: Path


def _pair(prompt: Prompt, content: AnswerContent, width: int, height: int) -> str | None:
    """The assistant answer for ``prompt`` (``None`` when the question does not apply)."""
    question = prompt.question
    if question == QuestionType.FAILURE_DETECTION:
        return "Successful" if content.success else "Failed"
    if question == QuestionType.FAILURE_TYPE:
        return None if content.success else content.failure_type
    return write_answer(content, width=width, height=height, question=question)


def _prompt(question: QuestionType, frames: list[np.ndarray], task: str) -> Prompt:
    builders = {
        QuestionType.FAILURE_DETECTION: failure_detection,
        QuestionType.FAILURE_TYPE: failure_type_identification,
        QuestionType.LOW_LEVEL_CORRECTION_COT: low_level_correction_cot,
        QuestionType.VISUAL_CORRECTION_COT: visual_correction_cot,
    }
    if question not in builders:
        raise ValueError(f"export supports {[q.value for q in builders]}, not {question.value!r}")
    return builders[question](frames, task)


def _query_ticks(episode: RecordedEpisode, every_chunks: int) -> list[int]:
    """Tick indices of every ``every_chunks``-th recorded chunk."""
    times = [t for t, _ in episode.chunks][every_chunks - 1 :: every_chunks]
    ticks = np.searchsorted(episode.timestamps, np.asarray(times) - 1e-9)
    return [int(i) for i in ticks if i < episode.length]


def _replay(episode: RecordedEpisode) -> tuple[str, AlohaScene]:
    task, seed = episode.metadata.get("task"), episode.metadata.get("seed")
    if task is None or seed is None:
        raise RecordingError(
            f"{episode.path} has no task/seed metadata; only sim episodes written by the recorder "
            "can be replayed for oracle labels."
        )
    scene = AlohaScene(get_task(task))
    scene.reset(int(seed))
    return task, scene


class EpisodeExporter:
    """Replays one recorded episode and yields ``(record, success)`` at each supervisor query point."""

    def __init__(
        self,
        episode: RecordedEpisode,
        out_dir: Path,
        camera: str,
        schedule: ScheduleConfig,
        questions: Sequence[QuestionType],
        oracle_kwargs: dict,
    ) -> None:
        if camera not in episode.images:
            raise RecordingError(f"{episode.path} has no {camera!r} frames; record the head camera to export VQA.")
        self.episode, self.out_dir, self.camera, self.questions = episode, out_dir, camera, questions
        self.schedule = schedule
        self.task, self.scene = _replay(episode)
        self.oracle = SimOracleBackend(self.task, self.scene.state, **oracle_kwargs)
        self.image_dir = out_dir / "images" / episode.path.stem
        self.image_dir.mkdir(parents=True, exist_ok=True)

    def _frame_path(self, tick: int) -> str:
        path = self.image_dir / f"{tick:05d}.jpg"
        if not path.exists():
            cv2.imwrite(str(path), cv2.cvtColor(self.episode.images[self.camera][tick], cv2.COLOR_RGB2BGR))
        return str(path.relative_to(self.out_dir))

    def records(self) -> Iterable[tuple[dict, bool]]:
        episode, frames = self.episode, self.episode.images[self.camera]
        queries = set(_query_ticks(episode, self.schedule.every_chunks))
        window = FrameWindow(self.schedule.window_s, self.schedule.fps)
        ticks_by_time: dict[float, int] = {}
        self.max_stage = 0
        for tick in range(episode.length):
            drift = np.max(np.abs(self.scene.joint_positions() - episode.joint_positions[tick]), initial=0.0)
            if drift > REPLAY_TOLERANCE:
                raise RecordingError(
                    f"{episode.path}: replay diverged at tick {tick} ({drift:.2e}); the file was "
                    "not recorded from this simulator version or seed."
                )
            t = float(episode.timestamps[tick])
            window.offer(t, frames[tick])
            ticks_by_time[t] = tick
            if tick in queries:
                yield from self._query(window, ticks_by_time)
            self.scene.step(episode.sent_actions[tick])
            self.max_stage = max(self.max_stage, self.scene.stage())

    def _query(self, window: FrameWindow, ticks_by_time: dict[float, int]) -> Iterable[tuple[dict, bool]]:
        samples = window.window()
        images = [f for _, f in samples]
        paths = [self._frame_path(ticks_by_time[t]) for t, _ in samples]
        content = self.oracle.content(images, OracleSnapshot(self.scene.state(), self.max_stage))
        height, width = images[-1].shape[:2]
        for question in self.questions:
            prompt = _prompt(question, images, self.episode.prompt)
            answer = _pair(prompt, content, width, height)
            if answer is None:
                continue
            messages = [{"role": "user", "content": prompt.as_text()}, {"role": "assistant", "content": answer}]
            source = {"episode": self.episode.path.name, "tick": ticks_by_time[samples[-1][0]]}
            yield {"messages": messages, "images": paths, "tag": question.value, "source": source}, content.success


def export_vqa(
    episode_paths: Iterable[str | Path],
    out_dir: str | Path,
    *,
    camera: str = "top",
    schedule: ScheduleConfig | None = None,
    questions: Sequence[QuestionType] = DEFAULT_QUESTIONS,
    stall_s: float = 4.0,
    near_m: float = 0.03,
) -> ExportSummary:
    """Write ``<out_dir>/vqa.jsonl`` and the JPEG frames it references; returns what was written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    schedule = schedule or ScheduleConfig()
    jsonl = out / "vqa.jsonl"
    records = points = failures = 0
    with jsonl.open("w", encoding="utf-8") as sink:
        for path in episode_paths:
            exporter = EpisodeExporter(
                read_episode(path), out, camera, schedule, questions, {"stall_s": stall_s, "near_m": near_m}
            )
            seen: set[int] = set()
            for record, success in exporter.records():
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                records += 1
                tick = record["source"]["tick"]
                if tick not in seen:
                    seen.add(tick)
                    points += 1
                    failures += int(not success)
            exporter.scene.close()
            log.info("exported %s: %d query points", path, len(seen))
    return ExportSummary(records, points, failures, jsonl)
