"""The control loop with asynchronous inference on the fake robot: a dead policy runs the queue out, holds through
the safety layer, and the episode is recorded as aborted with the reason; the next episode runs."""

from __future__ import annotations

import time

import numpy as np

from failforward.config import BrokerConfig, LoopConfig, RecordConfig, SafetyConfig
from failforward.control.assembly import assemble_loop
from failforward.policy.base import PolicyBackend
from failforward.record.reader import read_episode
from failforward.record.recorder import EpisodeRecorder
from failforward.testing import FakeRobot, FakeRobotConfig
from failforward.types import ActionChunk, JointCommand, Observation

HORIZON = 20


class SpyRobot(FakeRobot):
    def __init__(self, config: FakeRobotConfig) -> None:
        super().__init__(config)
        self.received: list[np.ndarray] = []

    def send_action(self, command: JointCommand) -> JointCommand:
        self.received.append(command.positions.copy())
        return super().send_action(command)


class FlakyServerPolicy(PolicyBackend):
    """Creeps the joints forward; ``alive`` off makes every call fail the way a dead server's client does."""

    def __init__(self, latency_s: float = 0.03) -> None:
        self.alive, self.latency_s, self.calls = True, latency_s, 0

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        self.calls += 1
        time.sleep(self.latency_s)
        if not self.alive:
            raise ConnectionError("no reply from tcp://127.0.0.1:5555 within 0.5 s")
        steps = 0.01 * np.arange(1, HORIZON + 1)[:, None]
        return ActionChunk(obs.joint_positions[None, :] + steps)


def test_a_dead_policy_server_holds_the_robot_then_aborts_the_recorded_episode(tmp_path) -> None:
    driver, policy = SpyRobot(FakeRobotConfig()), FlakyServerPolicy()
    recorder = EpisodeRecorder(RecordConfig(output_dir=tmp_path), "async")
    broker = BrokerConfig(inference="asynchronous", execute_steps=10, max_starvation_s=0.3)
    with driver:
        loop = assemble_loop(
            driver, policy, loop=LoopConfig(max_steps=200), safety=SafetyConfig(), broker=broker, subscribers=[recorder]
        )
        first = loop.run_episode(0, seed=0)
        policy.alive = False
        received_before = len(driver.received)
        dead = loop.run_episode(1, seed=1)
        received_dead = len(driver.received) - received_before
        policy.alive = True
        after = loop.run_episode(2, seed=2)

    assert first.error is None and first.steps == 200 and first.inference["starved_ticks"] == 0
    # the first chunk of an episode is waited for: with the server dead it fails at once
    assert dead.error is not None and "ConnectionError" in dead.error and dead.steps == 0
    assert received_dead == 0
    assert after.error is None and after.steps == 200
    outcome = read_episode(recorder.files[1]).outcome
    assert outcome is not None and "aborted" in outcome.reason and "ConnectionError" in outcome.reason


def test_the_server_dying_mid_episode_executes_the_queue_then_holds_in_place(tmp_path) -> None:
    driver, policy = SpyRobot(FakeRobotConfig()), FlakyServerPolicy()
    recorder = EpisodeRecorder(RecordConfig(output_dir=tmp_path), "async")
    broker = BrokerConfig(inference="asynchronous", execute_steps=10, max_starvation_s=0.3)

    class KillAfter:
        def on_episode_start(self, info) -> None: ...

        def on_tick(self, tick) -> None:
            if tick.step == 30:
                policy.alive = False

        def on_episode_end(self, outcome) -> None: ...

    with driver:
        loop = assemble_loop(
            driver,
            policy,
            loop=LoopConfig(max_steps=200),
            safety=SafetyConfig(),
            broker=broker,
            subscribers=[recorder, KillAfter()],
        )
        result = loop.run_episode(0, seed=0)
    received = np.array(driver.received)
    assert result.error is not None and "PolicyStarvedError" in result.error and "ConnectionError" in result.error
    held = round(0.3 / 0.02)
    assert np.all(received[-held:] == received[-held - 1])  # holding: the last command, repeated
    assert np.all(np.isfinite(received))
    assert result.inference["failed_requests"] >= 1 and result.inference["starved_ticks"] == held + 1
    episode = read_episode(recorder.files[0])
    assert episode.outcome is not None and "PolicyStarvedError" in episode.outcome.reason
    assert episode.length == result.steps
