"""Failure correction on ManiSkill: a recorded failure replays exactly, then ManiSkill's expert finishes it."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mani_skill")

from failforward.control.assembly import build_loop
from failforward.learn.correctors import CORRECTORS, correct_failures
from failforward.learn.pipeline import PipelineConfig
from failforward.learn.run_state import RunState
from failforward.learn.stages import Pipeline
from failforward.policy.base import PolicyBackend
from failforward.policy.maniskill_expert import ManiSkillExpert
from failforward.record.reader import read_episode
from failforward.record.recorder import EpisodeRecorder
from failforward.robots.registry import make_driver
from failforward.types import ActionChunk, JointCommand, Observation

SEED = 10_003
WIGGLE_TICKS = 40


class _Wiggle(PolicyBackend):
    """A failing stand-in for a learned policy: the arm swings 0.1 rad around its start pose and comes back."""

    def __init__(self) -> None:
        self.start: np.ndarray | None = None

    def reset(self) -> None:
        self.start = None

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        if self.start is None:
            self.start = obs.joint_positions.copy()
        t = round(obs.timestamp * 20.0) + np.arange(10)  # [ticks at 20 Hz]
        rows = np.repeat(self.start[None], 10, axis=0)
        rows[:, :7] += 0.1 * np.sin(2 * np.pi * t / WIGGLE_TICKS)[:, None]
        return ActionChunk(rows, source="wiggle")


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pipeline, dict]:
    """A pipeline on PullCube with object state, and one recorded failed rollout in its run directory."""
    root = tmp_path_factory.mktemp("run")
    pipe = Pipeline(
        RunState.open(
            root,
            PipelineConfig(preset="maniskill_pull_cube", model="panda_state_cpu", object_state=True, max_steps=100),
        )
    )
    config = pipe.run_config(policy=None, episodes=1, seed=SEED, max_steps=WIGGLE_TICKS)
    recorder = EpisodeRecorder(config.record, "round_0/rollouts")
    with make_driver(config.robot) as driver:
        loop = build_loop(config, driver, policy=_Wiggle(), prompt=driver.task_prompt, subscribers=[recorder])
        result = loop.run_episode(0, SEED, task=config.robot.task)
    recorder.close()
    assert not result.outcome.success and result.steps == WIGGLE_TICKS
    return pipe, {**pipe._record(result), "file": pipe.layout.rel(recorder.files[-1])}


def test_recorded_commands_replay_the_rollout_exactly(failed_run: tuple[Pipeline, dict]) -> None:
    pipe, failure = failed_run
    recorded = read_episode(pipe.layout.root / failure["file"], load_images=False)
    assert recorded.object_state.shape == (WIGGLE_TICKS, 14)  # cube + goal region, 7 each
    config = pipe.run_config(policy=None, episodes=1, seed=0, max_steps=1)
    with make_driver(config.robot) as driver:
        obs = driver.reset(SEED)
        for t, row in enumerate(recorded.sent_actions):
            np.testing.assert_array_equal(obs.joint_positions, recorded.joint_positions[t])
            np.testing.assert_array_equal(obs.object_state, recorded.object_state[t])
            driver.send_action(JointCommand(obs.timestamp, row))
            obs = driver.get_observation()
        stages = CORRECTORS["maniskill"].stage_trace(driver, SEED, recorded.sent_actions)
    assert stages.shape == (WIGGLE_TICKS,) and stages.max() == failure["stage"] == 0


def test_failure_is_corrected_by_the_maniskill_expert(failed_run: tuple[Pipeline, dict]) -> None:
    pipe, failure = failed_run
    (correction,) = correct_failures(pipe, [failure], 0)
    assert correction["replayed_outcome_matches"] and correction["replay_max_stage"] == 0
    assert correction["takeover"] == WIGGLE_TICKS  # never left stage 0: handed over at its last tick
    assert correction["success"], correction["reason"]
    episode = read_episode(pipe.layout.root / correction["file"], load_images=False)
    np.testing.assert_allclose(
        episode.sent_actions[:WIGGLE_TICKS], read_episode(pipe.layout.root / failure["file"]).sent_actions, atol=1e-12
    )


def test_correctors_pick_the_expert_by_robot_kind(failed_run: tuple[Pipeline, dict]) -> None:
    pipe, _ = failed_run
    assert set(CORRECTORS) == {"sim_aloha", "maniskill"}
    with make_driver(pipe.run_config(policy=None, episodes=1, seed=0, max_steps=1).robot) as driver:
        expert = CORRECTORS["maniskill"].expert(driver)
        assert isinstance(expert, ManiSkillExpert)
        expert.close()


def test_object_state_run_uses_the_model_sized_by_the_driver(failed_run: tuple[Pipeline, dict]) -> None:
    pipe, _ = failed_run
    assert pipe.model.state_dim == 8 + 14 and pipe.model.action_dim == 8
