"""Failure correction: replayed commands reproduce the episode; the expert finishes from the cut."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.config import BrokerConfig, LoopConfig, SafetyConfig
from failforward.config.robots import SimAlohaConfig
from failforward.control.assembly import assemble_loop
from failforward.errors import ConfigError, ShapeError
from failforward.learn.correction import stage_trace, takeover_tick
from failforward.learn.replay import ReplayThenExpert
from failforward.policy.base import PolicyBackend
from failforward.policy.expert.expert import ScriptedExpert
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.types import ActionChunk, Observation, TickRecord


class _Constant(PolicyBackend):
    """Takeover stand-in: chunks of ``value`` and a count of resets."""

    def __init__(self, value: float) -> None:
        self.value, self.resets = value, 0

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        return ActionChunk(np.full((10, 2), self.value), source="constant")

    def reset(self) -> None:
        self.resets += 1


def _obs() -> Observation:
    return Observation(timestamp=0.0, joint_positions=np.zeros(2), joint_velocities=np.zeros(2))


def test_replay_hands_out_prefix_in_chunks_then_delegates() -> None:
    takeover = _Constant(7.0)
    policy = ReplayThenExpert(takeover, chunk_size=4)
    prefix = np.arange(20, dtype=float).reshape(10, 2)
    policy.load(prefix)
    policy.reset()
    chunks = [policy.infer(_obs()) for _ in range(4)]
    assert [c.horizon for c in chunks[:3]] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([c.actions for c in chunks[:3]]), prefix)
    assert chunks[3].source == "constant" and np.all(chunks[3].actions == 7.0)
    assert takeover.resets == 2  # at episode start and at the hand-over
    policy.reset()  # a new episode replays the same prefix from its first row
    np.testing.assert_array_equal(policy.infer(_obs()).actions, prefix[:4])


def test_replay_refuses_bad_input() -> None:
    with pytest.raises(ConfigError, match="execute_steps"):
        ReplayThenExpert(_Constant(0.0), chunk_size=0)
    with pytest.raises(ShapeError):
        ReplayThenExpert(_Constant(0.0), chunk_size=5).load(np.array([1.0, np.nan]))


@pytest.mark.parametrize(
    ("stages", "rule", "expected"),
    [
        ([0, 1, 2, 2, 1, 0], "last_max_stage", 4),  # dropped after stage 2: hand over on its last stage-2 tick
        ([0, 0, 0, 0], "last_max_stage", 4),  # never progressed: hand over at the end
        ([0, 1, 2, 3, 3, 3, 3, 3, 3, 3], "fraction", 5),
        ([0], "fraction", 1),
    ],
)
def test_takeover_tick(stages: list[int], rule: str, expected: int) -> None:
    assert takeover_tick(np.array(stages), rule, fraction=0.5) == expected


class _Sent:
    """Collects what the loop actually sent."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []

    def on_episode_start(self, info) -> None:
        self.rows = []

    def on_tick(self, tick: TickRecord) -> None:
        self.rows.append(tick.sent.positions.copy())

    def on_episode_end(self, outcome) -> None:
        pass


def test_failed_episode_is_replayed_exactly_and_corrected_by_the_expert() -> None:
    """A 'failure' (the arms hold still for 60 ticks, then it ends) is replayed through the real loop and
    safety layer; the stage trace of the replay matches, and the expert finishes the task from the cut."""
    with SimAlohaDriver(SimAlohaConfig(task="transfer_cube", cameras=())) as driver:
        start = driver.reset(seed=3).joint_positions
        failed = np.repeat(start[None], 60, axis=0)
        stages = stage_trace(driver, 3, failed)
        assert stages.max() == 0 and driver.episode_outcome().success is False
        cut = takeover_tick(stages)
        policy = ReplayThenExpert(ScriptedExpert(driver.task, driver.privileged_state), chunk_size=25)
        policy.load(failed[:cut])
        sent = _Sent()
        loop = assemble_loop(
            driver,
            policy,
            loop=LoopConfig(max_steps=cut + 400),
            safety=SafetyConfig(),
            broker=BrokerConfig(),
            prompt=driver.task_prompt,
            subscribers=[sent],
        )
        result = loop.run_episode(0, 3, task="transfer_cube")
    assert result.outcome.success, result.outcome.reason
    np.testing.assert_allclose(np.stack(sent.rows[:cut]), failed[:cut], atol=1e-12)  # replay passed safety as-is
    assert result.steps > cut
