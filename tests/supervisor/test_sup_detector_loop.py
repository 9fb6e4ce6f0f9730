"""The detector in the control loop (fake robot, synchronous supervisor): a chunk whose heads disagree gets the
supervisor asked on its own tick, chunks before the schedule would have asked."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from failforward.config import BrokerConfig, LoopConfig, SafetyConfig, ScheduleConfig
from failforward.config.detector import DualHeadDetectorConfig
from failforward.control.assembly import assemble_loop
from failforward.policy.base import PolicyBackend
from failforward.supervisor.backends.base import SupervisorBackend
from failforward.supervisor.detector import DetectorContext, DetectorTrigger, make_detector
from failforward.supervisor.diagnosis import NoDiagnosis, SupervisorResult
from failforward.supervisor.scheduler import SupervisorScheduler
from failforward.testing import FakeRobot, FakeRobotConfig
from failforward.types import ActionChunk, Observation

EXECUTE = 10  # ticks per chunk: chunks at ticks 0, 10, 20, ...; the schedule (6 chunks) asks at tick 50


class Disagreeing(PolicyBackend):
    """Holds still; its heads disagree (λ_t = 0.4) on its third chunk only, agree (0.01) otherwise."""

    def __init__(self) -> None:
        self.calls = 0

    def reset(self) -> None:
        self.calls = 0

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        self.calls += 1
        lam = 0.4 if self.calls == 3 else 0.01
        return ActionChunk(np.tile(obs.joint_positions, (EXECUTE, 1)), guidance=np.full(10, lam))


class Quiet(SupervisorBackend):
    def diagnose(self, frames: Sequence[np.ndarray], task: str, *, context: object | None = None) -> SupervisorResult:
        return NoDiagnosis(reason="empty_frames", message="test backend")

    def _diagnose(self, frames, task, context):  # pragma: no cover - diagnose is overridden
        raise NotImplementedError


@pytest.fixture
def driver() -> Iterator[FakeRobot]:
    with FakeRobot(FakeRobotConfig(cameras=("top",), image_height=8, image_width=8)) as robot:
        yield robot


@pytest.mark.parametrize(("detect", "steps"), [(False, [50]), (True, [20, 50])])
def test_the_detector_asks_on_the_tick_of_the_disagreeing_chunk(driver: FakeRobot, detect: bool, steps: list) -> None:
    reports: SupervisorScheduler | DetectorTrigger = SupervisorScheduler(Quiet(), ScheduleConfig(every_chunks=6))
    if detect:
        detector = make_detector(DualHeadDetectorConfig(threshold=0.1), DetectorContext(gamma=1.0))
        reports = DetectorTrigger(reports, detector)
    delivered: list[int] = []
    loop = assemble_loop(
        driver,
        Disagreeing(),
        loop=LoopConfig(max_steps=60, supervisor_mode="synchronous"),
        safety=SafetyConfig(),
        broker=BrokerConfig(execute_steps=EXECUTE),
        prompt="hold",
        reports=reports,
        on_report=lambda r: delivered.append(r.step),
    )
    try:
        loop.run_episode(0, seed=0)
    finally:
        reports.close()
    assert delivered == steps
