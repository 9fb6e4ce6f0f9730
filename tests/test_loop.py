"""The control loop on the real simulated ALOHA: bad actions never reach the driver, errors end episodes cleanly."""

from __future__ import annotations

import time

import numpy as np
import pytest

from failforward.config import BrokerConfig, LoopConfig, RecordConfig, SafetyConfig, SimAlohaConfig
from failforward.control.broker import ChunkBroker
from failforward.control.loop import ControlLoop
from failforward.control.safety import SafetyLayer
from failforward.errors import DriverError
from failforward.policy.base import PolicyBackend
from failforward.record.reader import read_episode
from failforward.record.recorder import EpisodeRecorder
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.types import ActionChunk, JointCommand, Observation, TickRecord, TickSubscriber


class SpySimDriver(SimAlohaDriver):
    """The real simulated ALOHA, remembering every command that reached it; can fail at a given tick."""

    def __init__(self, config: SimAlohaConfig, fail_at: int | None = None) -> None:
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


def make_loop(driver: SimAlohaDriver, policy: PolicyBackend, subscribers, steps: int = 40) -> ControlLoop:
    safety = SafetyLayer(driver.features, SafetyConfig(), rate_hz=50.0)
    broker = ChunkBroker(BrokerConfig(execute_steps=10))
    return ControlLoop(driver, policy, broker, safety, LoopConfig(max_steps=steps), "test", subscribers)


def test_nan_and_out_of_limit_actions_never_reach_the_driver() -> None:
    driver = SpySimDriver(SimAlohaConfig(cameras=()))
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
    driver = SpySimDriver(SimAlohaConfig(cameras=("top",), image_height=48, image_width=64), fail_at=15)
    recorder = EpisodeRecorder(RecordConfig(output_dir=tmp_path), "crash")
    with driver:
        loop = make_loop(driver, WildPolicy(), [recorder])
        result = loop.run_episode(0, seed=1, task="transfer_cube")
        driver.fail_at = None  # the bus recovers: the same loop runs the next episode to the end
        after = loop.run_episode(1, seed=2, task="transfer_cube")
    assert result.error is not None and "motor 3" in result.error
    assert not result.outcome.success and "aborted" in result.outcome.reason
    episode = read_episode(recorder.files[0])
    assert episode.length == 15
    assert episode.outcome is not None and not episode.outcome.success and "motor 3" in episode.outcome.reason
    assert episode.images["top"].shape == (15, 48, 64, 3)
    assert after.steps == 40 and after.error is None
    assert read_episode(recorder.files[1]).length == 40


def test_realtime_pacing_holds_the_rate() -> None:
    driver = SimAlohaDriver(SimAlohaConfig(cameras=()))

    class Hold(PolicyBackend):
        def infer(self, obs, *, prompt="", noise=None):
            return ActionChunk(np.tile(obs.joint_positions, (25, 1)))

    with driver:
        safety = SafetyLayer(driver.features, SafetyConfig(), rate_hz=50.0)
        loop = ControlLoop(driver, Hold(), ChunkBroker(BrokerConfig()), safety,
                           LoopConfig(max_steps=25, realtime=True), "hold")
        start = time.perf_counter()
        loop.run_episode(0, seed=0)
        elapsed = time.perf_counter() - start
    assert elapsed == pytest.approx(25 * 0.02, abs=0.15)
