"""Failure detectors: the role's contract (every registered kind), the dual-head score, the trigger that asks the
scheduler at once, and the threshold calibration."""

from __future__ import annotations

import json
import logging
import threading

import numpy as np
import pytest
from pydantic import ValidationError

from failforward.config import (
    AfilPolicyConfig,
    GuidanceConfig,
    RunConfig,
    SamplerConfig,
    ScheduleConfig,
    ScriptedBackendConfig,
    SupervisorConfig,
    get_preset,
)
from failforward.config.detector import DualHeadDetectorConfig
from failforward.control.runtime import _build_supervisor, run
from failforward.errors import ConfigError, UnknownNameError
from failforward.supervisor.backends.scripted import ScriptedBackend
from failforward.supervisor.detector import (
    DETECTORS,
    DetectorContext,
    DetectorTrigger,
    FailureDetector,
    calibrate_threshold,
    episode_peak,
    make_detector,
)
from failforward.supervisor.detector.dual_head import DualHeadDetector, chunk_score
from failforward.supervisor.scheduler import SupervisorScheduler
from failforward.testing import FakeRobot, FakeRobotConfig
from failforward.types import ActionChunk, EpisodeInfo, JointCommand, Observation, RobotFeatures, TickRecord

ANSWER = '<Answer>\n"success detection": "Successful"\n</Answer>'
INFO = EpisodeInfo(0, 0, "transfer_cube", "Hand the cube over.", "sim_aloha", RobotFeatures((), (), 50.0))
CONFIGS = {"dual_head": DualHeadDetectorConfig(threshold=0.05)}


def _chunk(*lambdas: float) -> ActionChunk:
    return ActionChunk(np.zeros((4, 14)), guidance=np.array(lambdas, dtype=np.float64))


def _verdicts(detector: FailureDetector, chunks: list[ActionChunk]) -> list[tuple[float | None, bool]]:
    return [tuple(detector.observe(c)) for c in chunks]


# ------------------------------------------------------------------------------------------------- the contract
@pytest.mark.parametrize("kind", DETECTORS.names())
def test_every_detector_keeps_the_contract(kind: str) -> None:
    """Unguided or non-finite chunks never trip; a strong disagreement does; reset makes episodes independent."""
    detector = make_detector(CONFIGS[kind], DetectorContext(gamma=1.0))
    assert 0.0 < detector.threshold < 1.0
    detector.reset()
    quiet = [ActionChunk(np.zeros((4, 14))), _chunk(np.nan, 0.9), _chunk(0.0, 0.0)]
    assert [tripped for _, tripped in _verdicts(detector, quiet)] == [False, False, False]
    episode = [_chunk(0.01, 0.02), _chunk(0.9, 0.95), _chunk(0.9, 0.95)]
    first = _verdicts(detector, episode)
    assert any(tripped for _, tripped in first)
    detector.reset()
    assert _verdicts(detector, episode) == first


def test_every_detector_has_a_contract_config() -> None:
    assert set(DETECTORS.names()) == set(CONFIGS)


def test_an_unknown_detector_kind_names_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="dual_head"):
        DETECTORS.get("dual_heads")


# ------------------------------------------------------------------------------------------------ the dual head
@pytest.mark.parametrize(("statistic", "expected"), [("mean", 0.3), ("max", 0.5), ("last", 0.1)])
def test_chunk_score_reduces_lambda_over_gamma(statistic: str, expected: float) -> None:
    assert chunk_score(np.array([0.6, 1.0, 0.2]), gamma=2.0, statistic=statistic) == pytest.approx(expected)


def test_chunk_score_is_none_without_a_finite_trace() -> None:
    assert chunk_score(np.zeros(0), 1.0, "mean") is None
    assert chunk_score(np.array([0.1, np.inf]), 1.0, "max") is None


def test_the_threshold_is_strict_and_divided_by_gamma() -> None:
    detector = DualHeadDetector(DualHeadDetectorConfig(threshold=0.05, cooldown_chunks=0), gamma=2.0)
    assert _verdicts(detector, [_chunk(0.1), _chunk(0.1001)]) == [(0.05, False), (pytest.approx(0.05005), True)]


def test_debounce_needs_consecutive_chunks_and_an_unguided_chunk_breaks_the_run() -> None:
    config = DualHeadDetectorConfig(threshold=0.05, debounce_chunks=2, cooldown_chunks=0)
    detector = DualHeadDetector(config, gamma=1.0)
    high, low, none = _chunk(0.2), _chunk(0.01), ActionChunk(np.zeros((4, 14)))
    tripped = [t for _, t in _verdicts(detector, [high, low, high, none, high, high, high, high])]
    assert tripped == [False, False, False, False, False, True, False, True]


def test_cooldown_skips_that_many_chunks_after_a_trip() -> None:
    detector = DualHeadDetector(DualHeadDetectorConfig(threshold=0.05, cooldown_chunks=2), gamma=1.0)
    tripped = [t for _, t in _verdicts(detector, [_chunk(0.2)] * 5)]
    assert tripped == [True, False, False, True, False]


def test_gamma_must_be_positive() -> None:
    with pytest.raises(ValueError, match="gamma"):
        DualHeadDetector(DualHeadDetectorConfig(threshold=0.05), gamma=0.0)


@pytest.mark.parametrize("threshold", [0.0, 1.0])
def test_the_config_refuses_a_threshold_outside_the_scores_range(threshold: float) -> None:
    with pytest.raises(ValidationError):
        DualHeadDetectorConfig(threshold=threshold)


# -------------------------------------------------------------------------------------------------- the trigger
def _tick(step: int, chunk: ActionChunk | None) -> TickRecord:
    t = step * 0.02
    obs = Observation(t, np.zeros(14), np.zeros(14), {"top": np.full((8, 8, 3), step % 256, np.uint8)})
    return TickRecord(step, obs, np.zeros(14), JointCommand(t, np.zeros(14)), chunk, {})


@pytest.fixture
def trigger():
    made: list[DetectorTrigger] = []

    def build(backend=None, **detector) -> DetectorTrigger:
        scheduler = SupervisorScheduler(backend or ScriptedBackend((ANSWER,)), ScheduleConfig(every_chunks=6))
        config = DualHeadDetectorConfig(**{"threshold": 0.05, **detector})
        made.append(DetectorTrigger(scheduler, make_detector(config, DetectorContext(gamma=1.0))))
        made[-1].on_episode_start(INFO)
        return made[-1]

    yield build
    for t in made:
        t.close()


def _feed(trigger: DetectorTrigger, chunks: list[ActionChunk | None], every: int = 10) -> list[int]:
    """One chunk every ``every`` ticks; returns the steps of the answers collected."""
    steps = []
    for index, chunk in enumerate(chunks):
        for offset in range(every):
            trigger.on_tick(_tick(index * every + offset, chunk if offset == 0 else None))
            trigger.wait(5.0)
            report = trigger.poll()
            if report is not None:
                steps.append(report.step)
    return steps


def test_a_trip_asks_the_supervisor_at_once_and_the_schedule_stays(trigger) -> None:
    t = trigger()
    low, high = _chunk(0.01), _chunk(0.3)
    steps = _feed(t, [low, low, high, low, low, low, low])
    assert steps == [20, 50]  # the trip at the third chunk, then the schedule's sixth chunk
    assert t.stats().trips == 1 and t.stats().requests == 1 and t.stats().chunks == 7
    assert [s for s, _, tripped in t.trace if tripped] == [20] and t.asked == [20]
    assert t.health().queries == 2


def test_a_trip_while_a_query_is_in_flight_is_skipped_not_queued(trigger) -> None:
    class Gated(ScriptedBackend):
        gate = threading.Event()

        def _complete(self, prompt):
            self.gate.wait(timeout=10.0)
            return super()._complete(prompt)

    backend = Gated((ANSWER,))
    t = trigger(backend, cooldown_chunks=0)
    try:
        t.on_tick(_tick(0, _chunk(0.3)))
        t.on_tick(_tick(10, _chunk(0.3)))
    finally:
        backend.gate.set()
    assert t.stats().trips == 2 and t.stats().requests == 1 and t.asked == [0]
    assert t.health().skipped_busy == 1 and t.health().queries == 1


def test_unguided_chunks_leave_the_schedule_alone_with_one_warning(trigger, caplog) -> None:
    t = trigger()
    with caplog.at_level(logging.WARNING):
        steps = _feed(t, [ActionChunk(np.zeros((4, 14)))] * 7)
    assert steps == [50]
    assert t.stats().unguided_chunks == 7 and t.stats().trips == 0
    assert caplog.text.count("carries no guidance trace") == 1


def test_a_new_episode_resets_the_trace_and_the_cooldown(trigger) -> None:
    t = trigger(cooldown_chunks=100)
    _feed(t, [_chunk(0.3)])
    t.on_episode_start(INFO)
    assert t.trace == []
    _feed(t, [_chunk(0.3)])
    assert t.stats().trips == 2


# ---------------------------------------------------------------------------------------------- configuration
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"policy.kind": "expert"}, "policy.kind is 'expert'"),
        ({"policy.sampler.guidance.mode": "none"}, "mode='none'"),
        ({"policy.sampler.guidance.mode": "static"}, "mode='static'"),
    ],
)
def test_a_run_whose_policy_gives_no_trace_is_refused_before_the_robot_connects(overrides, message) -> None:
    config = get_preset("sim_transfer_cube_afil").with_overrides({"supervisor.detector": {"threshold": 0.05}})
    if "policy.kind" in overrides:
        config = config.model_copy(update={"policy": get_preset("sim_transfer_cube").policy})
    else:
        config = config.with_overrides(overrides)
    with pytest.raises(ConfigError, match=message):
        run(config)


# -------------------------------------------------------------------------------------------------- calibration
def test_episode_peak_is_the_best_debounced_level() -> None:
    assert episode_peak([0.1, 0.5, 0.2, 0.4, 0.3], 1) == 0.5
    assert episode_peak([0.1, 0.5, 0.2, 0.4, 0.3], 2) == 0.3
    assert episode_peak([0.5, None, 0.5], 2) is None
    assert episode_peak([0.5], 2) is None


def test_the_calibrated_threshold_is_exceeded_by_the_chosen_fraction_of_episodes() -> None:
    rng = np.random.default_rng(0)
    episodes = [list(rng.uniform(0.0, 0.1, size=30)) for _ in range(200)]
    calibration = calibrate_threshold(episodes, quantile=0.9, debounce_chunks=2, statistic="mean")
    detectors = [DualHeadDetector(DualHeadDetectorConfig(**calibration.detector_config()), 1.0) for _ in episodes]
    tripping = [any(d.observe(_chunk(s)).tripped for s in e) for d, e in zip(detectors, episodes, strict=True)]
    assert 0.08 <= np.mean(tripping) <= 0.12
    assert calibration.episodes == 200 and calibration.chunks == 6000


def test_a_calibration_file_turns_the_detector_on(tmp_path) -> None:
    calibration = calibrate_threshold([[0.01, 0.03], [0.02, 0.05]], quantile=0.5, debounce_chunks=1, statistic="max")
    calibration.write(tmp_path / "threshold.json")
    key, _, value = json.loads((tmp_path / "threshold.json").read_text())["override"].partition("=")
    config = get_preset("sim_transfer_cube_afil").with_overrides({key: json.loads(value)})
    assert config.supervisor.detector is not None
    assert config.supervisor.detector.threshold == pytest.approx(0.04)
    assert config.supervisor.detector.statistic == "max"


def test_calibration_refuses_what_it_cannot_calibrate_on() -> None:
    with pytest.raises(ValueError, match="scored chunks in a row"):
        calibrate_threshold([[None, 0.1]], quantile=0.9, debounce_chunks=2, statistic="mean")
    with pytest.raises(ValueError, match="no signal"):
        calibrate_threshold([[0.0, 0.0]], quantile=0.9, debounce_chunks=1, statistic="mean")


def test_the_runtime_builds_the_trigger_with_the_policys_gamma() -> None:
    policy = AfilPolicyConfig(model_dir="models/m", sampler=SamplerConfig(guidance=GuidanceConfig(gamma=2.0)))
    supervisor = SupervisorConfig(backend=ScriptedBackendConfig(answers=(ANSWER,)))
    config = RunConfig(robot=FakeRobotConfig(cameras=("top",)), policy=policy, supervisor=supervisor)
    with FakeRobot(config.robot) as driver:
        plain = _build_supervisor(config, driver)
        detector = DualHeadDetectorConfig(threshold=0.05, cooldown_chunks=0)
        config = config.model_copy(update={"supervisor": supervisor.model_copy(update={"detector": detector})})
        built = _build_supervisor(config, driver)
    assert isinstance(plain, SupervisorScheduler) and isinstance(built, DetectorTrigger)
    try:
        assert built.detector.observe(_chunk(0.09)) == (0.045, False)  # λ_t / γ with γ = 2
        assert built.detector.observe(_chunk(0.11)).tripped
    finally:
        plain.close()
        built.close()
