"""The gripper latch: hysteresis on a policy's open/closed decision between chunks."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from failforward.config import GripperLatchConfig
from failforward.errors import ConfigError
from failforward.policy.base import PolicyBackend
from failforward.policy.gripper_latch import GripperLatch, gripper_columns
from failforward.types import ActionChunk, JointFeature, Observation, RobotFeatures

ARM, GRIPPER = 0, 1


class Scripted(PolicyBackend):
    """Chunks ``[4, 2]``: the arm column counts calls, the gripper column is the next scripted target."""

    def __init__(self, grippers: list[float]) -> None:
        self.grippers, self.calls, self.resets = list(grippers), 0, 0

    def infer(self, obs, *, prompt="", noise=None, prefix=None) -> ActionChunk:
        self.calls += 1
        actions = np.zeros((4, 2))
        actions[:, ARM] = self.calls
        actions[:, GRIPPER] = np.linspace(0.5, self.grippers.pop(0), 4)
        return ActionChunk(actions, source="scripted", done=0.25)

    def reset(self) -> None:
        self.resets += 1


def observation() -> Observation:
    return Observation(0.0, np.zeros(2), np.zeros(2))


def run(grippers: list[float], prompts: list[str] | None = None, **config: float) -> tuple[list[float], GripperLatch]:
    """The last-row gripper target of each latched chunk."""
    latch = GripperLatch(Scripted(grippers), (GRIPPER,), GripperLatchConfig(**config))
    prompts = prompts or ["grasp"] * len(grippers)
    out = []
    for prompt in prompts:
        chunk = latch.infer(observation(), prompt=prompt)
        assert chunk.source == "scripted" and chunk.done == 0.25  # the chunk's other fields pass through
        assert chunk.actions[0, ARM] == latch.policy.calls  # only the gripper column is touched
        out.append(float(chunk.actions[-1, GRIPPER]))
    return out, latch


def test_a_lone_flip_is_held_and_a_lasting_one_released() -> None:
    out, latch = run([0.0, 1.0, 0.0, 1.0, 1.0, 1.0], release_chunks=3)
    assert out == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert (latch.counts.overridden, latch.counts.released) == (3, 1)


def test_an_overridden_chunk_holds_the_whole_column() -> None:
    latch = GripperLatch(Scripted([0.05, 1.0]), (GRIPPER,), GripperLatchConfig(release_chunks=2))
    latch.infer(observation(), prompt="grasp")
    chunk = latch.infer(observation(), prompt="grasp")
    np.testing.assert_array_equal(chunk.actions[:, GRIPPER], 0.05)


def test_targets_between_the_thresholds_neither_count_nor_move_the_latch() -> None:
    out, _ = run([0.0, 0.5, 1.0, 0.5, 1.0], release_chunks=2)
    assert out == [0.0, 0.5, 0.0, 0.5, 0.0]


def test_a_new_prompt_or_episode_forgets_the_state() -> None:
    out, latch = run([0.0, 1.0, 1.0], prompts=["grasp", "grasp", "insert"], release_chunks=3)
    assert out == [0.0, 0.0, 1.0]
    latch.policy.grippers = [0.0, 1.0]
    latch.reset()
    assert latch.policy.resets == 1 and latch.counts.overridden == 0
    assert latch.infer(observation(), prompt="insert").actions[-1, GRIPPER] == 0.0
    latch.reset()
    assert latch.infer(observation(), prompt="insert").actions[-1, GRIPPER] == 1.0


def test_one_release_chunk_passes_every_chunk_through() -> None:
    out, latch = run([0.0, 1.0, 0.0, 1.0], release_chunks=1)
    assert out == [0.0, 1.0, 0.0, 1.0] and latch.counts.overridden == 0


def test_a_non_finite_target_commands_nothing() -> None:
    out, _ = run([1.0, float("nan"), 1.0], release_chunks=2)
    assert out[0] == 1.0 and np.isnan(out[1]) and out[2] == 1.0  # the safety layer holds on the NaN row


def test_grippers_are_the_normalized_joints_and_a_robot_without_one_is_refused() -> None:
    joints = (JointFeature("waist", "rad", -1, 1, 1), JointFeature("gripper", "normalized", 0, 1, 1))
    assert gripper_columns(RobotFeatures(joints=joints, cameras=(), control_hz=50.0)) == (1,)
    with pytest.raises(ConfigError, match="no gripper joint"):
        GripperLatch(Scripted([]), (), GripperLatchConfig())


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="must not exceed"):
        GripperLatchConfig(closed_below=0.8, open_above=0.2)
