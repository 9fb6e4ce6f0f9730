"""Synthetic episode recordings for the recorded-episode tests: the runtime's own recorder, fed ticks, supervisor
answers and recovery events by hand (no simulator), so each test states exactly what an episode holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from failforward.config import RecordConfig
from failforward.record.recorder import EpisodeRecorder, RobotClock
from failforward.recovery.events import RecoveryEvent, RecoveryState
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.questions import QuestionType
from failforward.types import (
    EpisodeInfo,
    EpisodeOutcome,
    JointCommand,
    JointFeature,
    Observation,
    RobotFeatures,
    TickRecord,
)

FEATURES = RobotFeatures(
    joints=tuple(JointFeature(f"j{i}", "rad", -1.0, 1.0, 2.0) for i in range(3)), cameras=(), control_hz=50.0
)
DT = 0.02  # [s] per tick
SUCCESS = EpisodeOutcome(True, 4, "success")


@dataclass(frozen=True)
class Spec:
    """What one synthetic episode holds: ``answers`` ``(tick, success)``, ``events`` ``(tick, kind)``, the outcome
    (``None``: cut off, no metadata) and the recording clock."""

    ticks: int = 20
    outcome: EpisodeOutcome | None = SUCCESS
    clock: RobotClock = "sim"
    answers: tuple[tuple[int, bool], ...] = ()
    events: tuple[tuple[int, str], ...] = ()


def record(directory: Path, spec: Spec, seed: int = 0) -> Path:
    """Write one episode per ``spec`` into ``directory/run`` and return its file."""
    recorder = EpisodeRecorder(RecordConfig(output_dir=directory, chunk_kib=16), "run", clock=spec.clock)
    recorder.on_episode_start(EpisodeInfo(seed, seed, "transfer_cube", "hand the cube over", "sim_aloha", FEATURES))
    answers, events = dict(spec.answers), dict(spec.events)
    for step in range(spec.ticks):
        t = step * DT
        q = np.full(3, 0.01 * step)
        recorder.on_tick(TickRecord(step, Observation(t, q, np.zeros(3)), q + 0.1, JointCommand(t, q + 0.05), None, {}))
        if step in answers:
            recorder.record_report(_report(t, step, answers[step]))
        if step in events:
            recorder.record_event(RecoveryEvent(t, events[step], RecoveryState.NOMINAL, RecoveryState.CORRECTING))  # type: ignore[arg-type]
    if spec.outcome is not None:
        recorder.on_episode_end(spec.outcome)
    else:  # a crash: the file is finished without the episode metadata
        recorder.close()
    return recorder.files[0]


def _report(t: float, step: int, success: bool) -> SimpleNamespace:
    result = Diagnosis(question=QuestionType.VISUAL_CORRECTION_COT, success=success)
    return SimpleNamespace(
        episode=1, episode_id="e", step=step, latency_s=0.0, frame_times=[t], result=result, queried_at=t
    )
