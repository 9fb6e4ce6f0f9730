"""Scheduling: every K chunks, last 5 s at 1 fps, on a worker; the tick never waits; stale answers dropped."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from failforward.config import ScheduleConfig, ScriptedBackendConfig
from failforward.supervisor.backends.base import SupervisorBackend
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.backends.scripted import ScriptedBackend
from failforward.supervisor.diagnosis import Diagnosis, NoDiagnosis, SupervisorResult, Unreadable
from failforward.supervisor.frame_window import FrameWindow
from failforward.supervisor.scheduler import SupervisorScheduler
from failforward.types import (
    ActionChunk,
    EpisodeInfo,
    EpisodeOutcome,
    JointCommand,
    Observation,
    RobotFeatures,
    TickRecord,
)

DT = 0.02  # [s] 50 Hz control
CHUNK_EVERY = 25  # ticks per chunk
ANSWER = (
    "<Think>The failure type is identified as 'gripper state'.</Think>\n<Answer>\n\"success detection\": "
    '"Failed",\n"low level commands": "Close the right gripper.",\n"visual prompts": "Draw OFF: '
    "{'position': [500, 500]}\"\n</Answer>"
)
INFO = EpisodeInfo(0, 0, "transfer_cube", "Hand the cube over.", "sim_aloha", RobotFeatures((), (), 50.0))
CHUNK = ActionChunk(np.zeros((CHUNK_EVERY, 14)))


def _tick(step: int, image: np.ndarray | None = None) -> TickRecord:
    t = step * DT
    images = {"top": image if image is not None else np.full((24, 32, 3), step % 256, np.uint8)}
    obs = Observation(t, np.zeros(14), np.zeros(14), images)
    chunk = CHUNK if step % CHUNK_EVERY == 0 else None
    return TickRecord(step, obs, np.zeros(14), JointCommand(t, np.zeros(14)), chunk, {})


def _wait_idle(scheduler: SupervisorScheduler, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while scheduler.busy and time.monotonic() < end:
        time.sleep(0.005)
    time.sleep(0.01)


class _Gated(ScriptedBackend):
    """A deliberately slow backend: answers only when the test opens the gate (at most after 10 s)."""

    def __init__(self) -> None:
        super().__init__((ANSWER,))
        self.gate = threading.Event()

    def _complete(self, prompt):
        self.gate.wait(timeout=10.0)
        return super()._complete(prompt)


@pytest.fixture
def scripted():
    made: list[SupervisorScheduler] = []

    def build(answers=(ANSWER,), delay_s: float = 0.0, **schedule) -> tuple[SupervisorScheduler, ScriptedBackend]:
        backend = ScriptedBackend(answers, delay_s=delay_s)
        scheduler = SupervisorScheduler(backend, ScheduleConfig(**schedule))
        scheduler.on_episode_start(INFO)
        made.append(scheduler)
        return scheduler, backend

    yield build
    for scheduler in made:
        scheduler.close()


def test_frame_window_keeps_last_5_s_at_1_fps_ending_now() -> None:
    window = FrameWindow(window_s=5.0, fps=1.0)
    for step in range(501):  # 10 s at 50 Hz
        window.offer(step * DT, np.full((2, 2, 3), step % 256, np.uint8))
    times = [t for t, _ in window.window()]
    assert times == pytest.approx([6.0, 7.0, 8.0, 9.0, 10.0])
    window.offer(10.5, np.zeros((2, 2, 3), np.uint8))
    assert [t for t, _ in window.window()] == pytest.approx([7.0, 8.0, 9.0, 10.0, 10.5])


def test_queries_every_6_chunks_with_the_last_5_frames(scripted) -> None:
    scheduler, backend = scripted()
    for step in range(6 * CHUNK_EVERY * 2 + 1):  # chunks at steps 0, 25, ...; 13 chunks
        scheduler.on_tick(_tick(step))
        if step % CHUNK_EVERY == 0:
            _wait_idle(scheduler)
    assert scheduler.health().queries == 2
    first, second = backend.prompts
    # 6th chunk at step 125 (t = 2.5 s): samples at 0, 1, 2 s, then the current frame.
    assert first.frame_count == 4
    # 12th chunk at step 275 (t = 5.5 s): the last 4 samples (2–5 s) and the current frame; pixel = step % 256.
    assert [int(img[0, 0, 0]) for img in second.images] == [100, 150, 200, 250, 275 % 256]
    assert second.correction_frame == 4 and "based on the frame number 5." in second.text
    report = scheduler.poll()
    assert report is not None and isinstance(report.result, Diagnosis) and report.step == 275
    assert report.frame_times == pytest.approx((2.0, 3.0, 4.0, 5.0, 5.5))
    assert scheduler.poll() is None


def _timed_ticks(scheduler: SupervisorScheduler, ticks: list[TickRecord]) -> list[float]:
    durations = []
    for tick in ticks:
        start = time.perf_counter()
        scheduler.on_tick(tick)
        durations.append(time.perf_counter() - start)
    return durations


def test_tick_never_waits_for_a_slow_backend() -> None:
    image = np.zeros((240, 320, 3), np.uint8)
    ticks = [_tick(step, image) for step in range(6 * CHUNK_EVERY + 200)]
    baseline_scheduler = SupervisorScheduler(ScriptedBackend((ANSWER,)), ScheduleConfig(every_chunks=10_000))
    gated = _Gated()
    scheduler = SupervisorScheduler(gated, ScheduleConfig(every_chunks=6))
    for s in (baseline_scheduler, scheduler):
        s.on_episode_start(INFO)
    try:
        baseline = _timed_ticks(baseline_scheduler, ticks)
        durations = _timed_ticks(scheduler, ticks)
        # The query launched at tick 125 is still blocked: 200 more ticks ran without waiting for it.
        assert scheduler.busy and scheduler.poll() is None and scheduler.health().queries == 1
        during = durations[6 * CHUNK_EVERY - CHUNK_EVERY + 1 :]
        assert statistics.median(during) < 3 * statistics.median(baseline) + 1e-3
        assert sorted(during)[int(0.95 * len(during))] < 5 * sorted(baseline)[int(0.95 * len(baseline))] + 2e-3
        gated.gate.set()
        _wait_idle(scheduler)
        assert isinstance(scheduler.poll().result, Diagnosis)
    finally:
        gated.gate.set()
        baseline_scheduler.close()
        scheduler.close()


def test_wait_blocks_until_the_answer_is_ready_or_the_timeout() -> None:
    gated = _Gated()
    scheduler = SupervisorScheduler(gated, ScheduleConfig(every_chunks=1))
    scheduler.on_episode_start(INFO)
    try:
        assert scheduler.wait(0.01)  # nothing in flight
        scheduler.on_tick(_tick(0))
        start = time.perf_counter()
        assert not scheduler.wait(0.1) and time.perf_counter() - start >= 0.09
        threading.Timer(0.05, gated.gate.set).start()
        assert scheduler.wait(5.0)
        assert isinstance(scheduler.poll().result, Diagnosis)  # ready on the same call, no sleep needed
    finally:
        gated.gate.set()
        scheduler.close()


def test_stale_answers_are_dropped(scripted) -> None:
    scheduler, _ = scripted(delay_s=0.2, max_age_s=2.0)
    step = 0
    while scheduler.health().queries == 0:
        scheduler.on_tick(_tick(step))
        step += 1
    for later in range(step, step + 150):  # 3 s of observation time passes while the backend thinks
        scheduler.on_tick(_tick(later))
    _wait_idle(scheduler)
    assert scheduler.poll() is None and scheduler.health().dropped_stale == 1


def test_answers_from_a_previous_episode_are_dropped() -> None:
    gated = _Gated()
    scheduler = SupervisorScheduler(gated, ScheduleConfig(every_chunks=6))
    scheduler.on_episode_start(INFO)
    try:
        for step in range(6 * CHUNK_EVERY - CHUNK_EVERY + 1):
            scheduler.on_tick(_tick(step))
        assert scheduler.busy
        scheduler.on_episode_end(EpisodeOutcome(False, 0, "timeout"))
        scheduler.on_episode_start(replace(INFO, episode_index=1, episode_id="the-next-episode"))
        gated.gate.set()
        _wait_idle(scheduler)
        assert scheduler.poll() is None and scheduler.health().dropped_stale == 1
    finally:
        gated.gate.set()
        scheduler.close()


def test_busy_worker_skips_triggers_instead_of_queueing() -> None:
    gated = _Gated()
    scheduler = SupervisorScheduler(gated, ScheduleConfig(every_chunks=1))
    scheduler.on_episode_start(INFO)
    try:
        for step in range(3 * CHUNK_EVERY + 1):
            scheduler.on_tick(_tick(step))
        assert scheduler.health().queries == 1 and scheduler.health().skipped_busy == 3
    finally:
        gated.gate.set()
        scheduler.close()


class _Raising(SupervisorBackend):
    """Breaks the contract: raises out of ``diagnose``."""

    def diagnose(self, frames: Sequence[np.ndarray], task: str, *, context: object | None = None) -> SupervisorResult:
        raise RuntimeError("GPU fell off the bus")

    def _diagnose(self, frames, task, context):  # pragma: no cover - never reached
        raise AssertionError


@pytest.mark.parametrize("backend", [_Raising(), ScriptedBackend((RuntimeError("CUDA OOM"),))])
def test_backend_errors_become_no_diagnosis_with_a_warning_and_a_count(backend, caplog) -> None:
    scheduler = SupervisorScheduler(backend, ScheduleConfig(every_chunks=1))
    scheduler.on_episode_start(INFO)
    try:
        scheduler.on_tick(_tick(0))
        _wait_idle(scheduler)
        report = scheduler.poll()
    finally:
        scheduler.close()
    assert isinstance(report.result, NoDiagnosis) and report.result.reason == "backend_error"
    assert scheduler.health().errors == 1 and scheduler.health().no_diagnosis == 1
    assert any(r.levelname in ("WARNING", "ERROR") for r in caplog.records)


def test_unreadable_answers_are_counted(scripted) -> None:
    scheduler, _ = scripted(answers=("no idea",), every_chunks=1)
    scheduler.on_tick(_tick(0))
    _wait_idle(scheduler)
    assert isinstance(scheduler.poll().result, Unreadable) and scheduler.health().unreadable == 1


def test_no_head_camera_frames_is_a_typed_no_diagnosis(scripted) -> None:
    scheduler, backend = scripted(every_chunks=1, camera="front")
    scheduler.on_tick(_tick(0))
    _wait_idle(scheduler)
    report = scheduler.poll()
    assert isinstance(report.result, NoDiagnosis) and report.result.reason == "empty_frames"
    assert backend.prompts == [] and scheduler.health().errors == 0


def test_scripted_backend_is_built_from_config() -> None:
    backend = make_backend(ScriptedBackendConfig(answers=(ANSWER,)))
    result = backend.diagnose([np.zeros((10, 10, 3), np.uint8)], "task")
    assert isinstance(result, Diagnosis) and result.symbols[0].position == (5.0, 5.0)


def test_a_request_queries_at_once_outside_the_schedule_and_is_skipped_while_busy() -> None:
    gated = _Gated()
    scheduler = SupervisorScheduler(gated, ScheduleConfig(every_chunks=6))
    scheduler.on_episode_start(INFO)
    try:
        for step in range(1, 60):  # chunks at 25 and 50: two of six, no scheduled query
            scheduler.on_tick(_tick(step))
        assert scheduler.health().queries == 0
        assert scheduler.request(59, "no object in view") is True
        assert scheduler.request(60, "no object in view") is False  # in flight: its answer comes first
        gated.gate.set()
        _wait_idle(scheduler)
        report = scheduler.poll()
        assert report is not None and report.step == 59 and len(report.frame_times) == 2  # t = 0.02 and 1.02 s
        assert scheduler.health().queries == 1 and scheduler.health().skipped_busy == 1
    finally:
        gated.gate.set()
        scheduler.close()
