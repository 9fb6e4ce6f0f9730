"""The control loop's perception step on the fake robot: the policy sees the estimated poses; a bad frame or a lost
object holds the robot, no chunk is computed from that observation, the supervisor is asked at once when no object
is found, and a hold past ``max_hold_s`` ends the episode with the reason."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.config import BrokerConfig, LoopConfig, SafetyConfig
from failforward.control.assembly import assemble_loop
from failforward.control.loop import ControlLoop
from failforward.control.perceive import PerceptionStep
from failforward.perception import (
    FrameBlackError,
    FrameMissingError,
    FrameSizeError,
    FrameStaleError,
    ObjectNotFoundError,
    ObjectPerception,
    PerceptionError,
)
from failforward.policy.base import PolicyBackend
from failforward.supervisor.scheduler import SupervisorReport
from failforward.testing import FakeRobot, FakeRobotConfig
from failforward.types import ActionChunk, EpisodeInfo, EpisodeOutcome, Observation, TickRecord, TickSubscriber

BLIND = range(12, 17)  # ticks whose perception fails: chunks come at 0, 5, 10 (rows 10–14), none inside
ERRORS = [FrameMissingError, FrameStaleError, FrameBlackError, FrameSizeError, ObjectNotFoundError]


class ScriptedPerception(ObjectPerception):
    """One object whose pose encodes the tick; raises ``error`` on the ticks in ``blind`` (counted per episode)."""

    def __init__(self, error: type[PerceptionError] = ObjectNotFoundError, blind: range = BLIND) -> None:
        self.error, self.blind, self.calls = error, blind, 0

    @property
    def object_names(self) -> tuple[str, ...]:
        return ("box",)

    def reset(self, seed: int | None = None) -> None:
        self.calls = 0

    def estimate(self, observation: Observation) -> np.ndarray:
        tick, self.calls = self.calls, self.calls + 1
        if tick in self.blind:
            raise self.error(f"scripted failure at tick {tick}")
        return np.array([0.001 * tick, 0.5, 0.02, 1.0, 0.0, 0.0, 0.0])


class SeeingPolicy(PolicyBackend):
    """Remembers every observation it inferred from; its chunk creeps every joint 0.01 rad per row."""

    def __init__(self) -> None:
        self.seen: list[Observation] = []

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        self.seen.append(obs)
        return ActionChunk(obs.joint_positions + 0.01 * np.arange(1, 11)[:, None])


class AskedSupervisor:
    """A report source that answers nothing and records what the loop asked it on demand."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, str]] = []

    def on_episode_start(self, info: EpisodeInfo) -> None: ...
    def on_tick(self, tick: TickRecord) -> None: ...
    def on_episode_end(self, outcome: EpisodeOutcome) -> None: ...

    def poll(self) -> SupervisorReport | None:
        return None

    def wait(self, timeout_s: float) -> bool:
        return True

    def request(self, step: int, reason: str) -> bool:
        self.requests.append((step, reason))
        return True


class Ticks(TickSubscriber):
    def __init__(self) -> None:
        self.ticks: list[TickRecord] = []

    def on_tick(self, tick: TickRecord) -> None:
        self.ticks.append(tick)


def make_loop(perception: ObjectPerception, policy: PolicyBackend, subscribers, **kwargs) -> ControlLoop:
    return assemble_loop(
        FakeRobot(FakeRobotConfig(time_constant_s=0.0)),
        policy,
        loop=LoopConfig(max_steps=kwargs.pop("steps", 30), stop_on_success=False),
        safety=SafetyConfig(),
        broker=BrokerConfig(execute_steps=5),
        subscribers=subscribers,
        perception=PerceptionStep(perception, kwargs.pop("max_hold_s", 5.0)),
        **kwargs,
    )


def run(loop: ControlLoop):
    with loop.driver:
        return loop.run_episode(0, seed=3)


def test_the_policy_and_the_subscribers_see_the_estimated_poses() -> None:
    policy, ticks = SeeingPolicy(), Ticks()
    result = run(make_loop(ScriptedPerception(blind=range(0)), policy, [ticks]))
    assert result.error is None and result.perception["held_ticks"] == 0
    assert [round(o.object_state[0], 3) for o in policy.seen] == [0.0, 0.005, 0.01, 0.015, 0.02, 0.025]
    np.testing.assert_allclose([t.observation.object_state[0] for t in ticks.ticks], 0.001 * np.arange(30))


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_a_failed_perception_holds_and_no_chunk_comes_from_that_observation(error) -> None:
    policy, ticks = SeeingPolicy(), Ticks()
    result = run(make_loop(ScriptedPerception(error), policy, [ticks]))
    sent = np.array([t.sent.positions for t in ticks.ticks])
    for tick in BLIND:  # held where the robot was last sent, without a new chunk
        np.testing.assert_allclose(sent[tick], sent[BLIND.start - 1])
        assert ticks.ticks[tick].chunk is None and ticks.ticks[tick].observation.object_state.size == 0
    assert not any(BLIND.start * 0.02 <= o.timestamp < BLIND.stop * 0.02 - 1e-9 for o in policy.seen)
    assert ticks.ticks[BLIND.stop].chunk is not None  # rows 12–14 of the chunk planned before were dropped
    assert not np.allclose(sent[BLIND.stop], sent[BLIND.start - 1])  # moving again
    reason = "not_found_ticks" if error is ObjectNotFoundError else "frame_error_ticks"
    assert result.perception["held_ticks"] == result.perception[reason] == len(BLIND)
    assert result.perception["holds"] == 1 and result.error is None


@pytest.mark.parametrize(("error", "asked"), [(ObjectNotFoundError, True), (FrameBlackError, False)])
def test_the_supervisor_is_asked_once_at_the_first_tick_without_the_object(error, asked) -> None:
    supervisor = AskedSupervisor()
    run(make_loop(ScriptedPerception(error), SeeingPolicy(), [], reports=supervisor))
    assert supervisor.requests == ([(BLIND.start, f"scripted failure at tick {BLIND.start}")] if asked else [])


def test_holding_longer_than_max_hold_s_aborts_with_the_reason() -> None:
    ticks = Ticks()
    result = run(make_loop(ScriptedPerception(blind=range(5, 1000)), SeeingPolicy(), [ticks], max_hold_s=0.1))
    assert result.steps == 5 + 6  # held at t = 0.10, ..., 0.20 s; the 7th blind tick (0.22 s) is past 0.1 s
    assert result.outcome.reason.startswith("aborted: ObjectNotFoundError: held 0.12 s without object poses")
    assert "perception.max_hold_s = 0.1 s" in result.outcome.reason


def test_blind_from_the_first_tick_holds_the_measured_joints() -> None:
    ticks = Ticks()
    run(make_loop(ScriptedPerception(blind=range(0, 3)), SeeingPolicy(), [ticks]))
    first = ticks.ticks[0]
    np.testing.assert_allclose(first.sent.positions, first.observation.joint_positions)
    assert ticks.ticks[3].chunk is not None
