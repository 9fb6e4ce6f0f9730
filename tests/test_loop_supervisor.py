"""The loop's supervisor modes on the fake robot: synchronous answers arrive on the tick that asked,
asynchronous ones never hold a tick up."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from pydantic import ValidationError

from failforward.config import BrokerConfig, LoopConfig, SafetyConfig, ScheduleConfig
from failforward.control.assembly import assemble_loop
from failforward.control.loop import ControlLoop
from failforward.policy.base import PolicyBackend
from failforward.supervisor.backends.base import SupervisorBackend
from failforward.supervisor.diagnosis import NoDiagnosis, SupervisorResult
from failforward.supervisor.scheduler import SupervisorReport, SupervisorScheduler
from failforward.testing import FakeRobot, FakeRobotConfig
from failforward.types import ActionChunk, Observation, TickRecord, TickSubscriber

EXECUTE = 10  # ticks per chunk
EVERY = 2  # chunks per query: queries at ticks 10, 30, 50, ...


class Hold(PolicyBackend):
    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        return ActionChunk(np.tile(obs.joint_positions, (EXECUTE, 1)))


class Slow(SupervisorBackend):
    """Answers after ``delay_s`` [s], or once ``gate`` opens when it is given (at most 10 s)."""

    def __init__(self, delay_s: float = 0.0, gate: threading.Event | None = None) -> None:
        self.delay_s, self.gate = delay_s, gate

    def diagnose(self, frames: Sequence[np.ndarray], task: str, *, context: object | None = None) -> SupervisorResult:
        if self.gate is not None:
            self.gate.wait(timeout=10.0)
        time.sleep(self.delay_s)
        return NoDiagnosis(reason="timeout", message="test backend")

    def _diagnose(self, frames, task, context):  # pragma: no cover - diagnose is overridden
        raise NotImplementedError


class LastTick(TickSubscriber):
    def __init__(self) -> None:
        self.step = -1

    def on_tick(self, tick: TickRecord) -> None:
        self.step = tick.step


@pytest.fixture
def driver() -> Iterator[FakeRobot]:
    with FakeRobot(FakeRobotConfig(cameras=("top",), image_height=8, image_width=8)) as robot:
        yield robot


def _run(driver: FakeRobot, backend: SupervisorBackend, steps: int, **mode) -> tuple[list, float, ControlLoop]:
    """Run one episode; returns ``(report step, tick it was collected on)`` pairs, the wall time [s], the loop."""
    scheduler = SupervisorScheduler(backend, ScheduleConfig(every_chunks=EVERY))
    last, delivered = LastTick(), []

    def on_report(report: SupervisorReport) -> None:
        delivered.append((report.step, last.step))

    loop = assemble_loop(
        driver,
        Hold(),
        loop=LoopConfig(max_steps=steps, **mode),
        safety=SafetyConfig(),
        broker=BrokerConfig(execute_steps=EXECUTE),
        prompt="hold",
        subscribers=[last],
        reports=scheduler,
        on_report=on_report,
    )
    start = time.perf_counter()
    try:
        loop.run_episode(0, seed=0)
    finally:
        elapsed = time.perf_counter() - start
        scheduler.close()
    return delivered, elapsed, loop


def test_synchronous_mode_collects_each_answer_on_the_tick_that_asked(driver: FakeRobot) -> None:
    delivered, _, _ = _run(driver, Slow(delay_s=0.05), steps=60, supervisor_mode="synchronous")
    assert delivered == [(10, 10), (30, 30), (50, 50)]


def test_asynchronous_mode_never_waits_for_the_backend(driver: FakeRobot) -> None:
    gate = threading.Event()
    try:
        delivered, elapsed, loop = _run(driver, Slow(gate=gate), steps=60)
    finally:
        gate.set()
    assert loop.config.supervisor_mode == "asynchronous"
    assert delivered == [] and elapsed < 5.0  # the gate stays shut for up to 10 s
    assert isinstance(loop.reports, SupervisorScheduler)
    assert loop.reports.health().skipped_busy == 2  # the triggers at ticks 30 and 50


def test_synchronous_mode_goes_on_without_an_answer_after_its_timeout(driver: FakeRobot, caplog) -> None:
    gate = threading.Event()
    try:
        delivered, elapsed, _ = _run(
            driver, Slow(gate=gate), steps=30, supervisor_mode="synchronous", supervisor_timeout_s=0.2
        )
    finally:
        gate.set()
    assert delivered == [] and elapsed < 5.0
    assert "no answer within 0.2 s" in caplog.text


@pytest.mark.parametrize("mode", [{"supervisor_mode": "sync"}, {"supervisor_timeout_s": 0.0}])
def test_bad_supervisor_options_are_rejected_by_the_config(driver: FakeRobot, mode: dict) -> None:
    with pytest.raises(ValidationError, match=r"asynchronous|greater than 0"):
        LoopConfig(**mode)
