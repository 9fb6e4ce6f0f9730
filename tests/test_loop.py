"""The control loop on the fake robot: bad actions never reach the driver, errors end episodes cleanly,
success ends an episode early, real-time pacing holds the rate."""

from __future__ import annotations

import time

import numpy as np
import pytest

from failforward.config import BrokerConfig, LoopConfig, RecordConfig, SafetyConfig
from failforward.control.assembly import assemble_loop
from failforward.control.loop import ControlLoop
from failforward.errors import DriverError
from failforward.policy.base import PolicyBackend
from failforward.record.reader import read_episode
from failforward.record.recorder import EpisodeRecorder
from failforward.testing import FakeRobot, FakeRobotConfig
from failforward.types import ActionChunk, JointCommand, Observation, TickRecord, TickSubscriber


class SpyRobot(FakeRobot):
    """The fake robot, remembering every command that reached it; can fail at a given tick."""

    def __init__(self, config: FakeRobotConfig, fail_at: int | None = None) -> None:
        super().__init__(config)
        self.received: list[np.ndarray] = []
        self.fail_at = fail_at

    def send_action(self, command: JointCommand) -> JointCommand:
        if self.fail_at is not None and len(self.received) == self.fail_at:
            raise DriverError("emulated bus failure: motor 3 stopped answering")
        self.received.append(command.positions.copy())
        return super().send_action(command)


class WildPolicy(PolicyBackend):
    """Emits NaN, Inf and far-out-of-limit targets mixed with plausible ones."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        actions = obs.joint_positions + self.rng.normal(0, 3.0, size=(10, obs.joint_positions.size))
        actions[1, 2] = np.nan
        actions[3, :] = np.inf
        actions[5, 0] = 1e6
        return ActionChunk(actions)


class TickCollector(TickSubscriber):
    def __init__(self) -> None:
        self.ticks: list[TickRecord] = []
        self.outcomes: list = []

    def on_tick(self, tick: TickRecord) -> None:
        self.ticks.append(tick)

    def on_episode_end(self, outcome) -> None:
        self.outcomes.append(outcome)


def make_loop(driver: FakeRobot, policy: PolicyBackend, subscribers, steps: int = 40) -> ControlLoop:
    return assemble_loop(
        driver,
        policy,
        loop=LoopConfig(max_steps=steps),
        safety=SafetyConfig(),
        broker=BrokerConfig(execute_steps=10),
        prompt="test",
        subscribers=subscribers,
    )


def test_nan_and_out_of_limit_actions_never_reach_the_driver() -> None:
    driver = SpyRobot(FakeRobotConfig())
    collector = TickCollector()
    with driver:
        result = make_loop(driver, WildPolicy(), [collector]).run_episode(0, seed=0)
    features = driver.features
    received = np.array(driver.received)
    assert result.steps == 40 and len(received) == 40
    assert np.all(np.isfinite(received))
    assert np.all(received >= features.lower) and np.all(received <= features.upper)
    assert np.all(np.abs(np.diff(received, axis=0)) <= features.max_velocity / 50.0 + 1e-9)
    assert result.safety_holds >= 4  # the NaN and Inf rows, in each of the four chunks
    assert any(not np.all(np.isfinite(t.policy_action)) for t in collector.ticks)


def test_driver_error_ends_the_episode_with_a_readable_recording(tmp_path) -> None:
    driver = SpyRobot(FakeRobotConfig(cameras=("top",), image_height=48, image_width=64), fail_at=15)
    recorder = EpisodeRecorder(RecordConfig(output_dir=tmp_path), "crash")
    with driver:
        loop = make_loop(driver, WildPolicy(), [recorder])
        result = loop.run_episode(0, seed=1, task="reach")
        driver.fail_at = None  # the bus recovers: the same loop runs the next episode to the end
        after = loop.run_episode(1, seed=2, task="reach")
    assert result.error is not None and "motor 3" in result.error
    assert not result.outcome.success and "aborted" in result.outcome.reason
    episode = read_episode(recorder.files[0])
    assert episode.length == 15
    assert episode.outcome is not None and not episode.outcome.success and "motor 3" in episode.outcome.reason
    assert episode.images["top"].shape == (15, 48, 64, 3)
    assert after.steps == 40 and after.error is None
    assert read_episode(recorder.files[1]).length == 40


class ToGoal(PolicyBackend):
    """Asks for the fake robot's goal pose every tick (privileged state, as the scripted expert uses)."""

    def __init__(self, robot: FakeRobot) -> None:
        self.robot = robot

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        return ActionChunk(np.tile(self.robot.privileged_state().goal, (10, 1)))


def test_success_ends_the_episode_early_and_only_when_judged() -> None:
    with FakeRobot(FakeRobotConfig()) as driver:
        reached = make_loop(driver, ToGoal(driver), [], steps=200).run_episode(0, seed=4)
        goal = driver.privileged_state().goal
        at_end = driver.get_observation().joint_positions
        wandered = make_loop(driver, WildPolicy(), [], steps=60).run_episode(1, seed=4)
    assert reached.outcome.success and reached.error is None
    assert 19 < reached.steps < 200  # 1.14 rad to go at the safety layer's 0.06 rad/tick: > 19 ticks
    np.testing.assert_allclose(at_end, goal, atol=0.02)
    assert not wandered.outcome.success and wandered.steps == 60
    assert wandered.outcome.reason == "the joints never reached the goal pose"


def test_realtime_pacing_holds_the_rate() -> None:
    driver = FakeRobot(FakeRobotConfig())

    class Hold(PolicyBackend):
        def infer(self, obs, *, prompt="", noise=None):
            return ActionChunk(np.tile(obs.joint_positions, (25, 1)))

    with driver:
        loop = assemble_loop(
            driver,
            Hold(),
            loop=LoopConfig(max_steps=25, realtime=True),
            safety=SafetyConfig(),
            broker=BrokerConfig(),
            prompt="hold",
        )
        start = time.perf_counter()
        loop.run_episode(0, seed=0)
        elapsed = time.perf_counter() - start
    assert elapsed == pytest.approx(25 * 0.02, abs=0.15)
