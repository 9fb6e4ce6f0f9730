"""DAgger for VINE's System 1: the prompted expert labels any state the learner reaches, the wrapper runs the learner
or the label, the saved labels train as whole chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from failforward.config import SimAlohaConfig, load_config
from failforward.errors import ShapeError
from failforward.learn.dataset import ChunkDataset
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.vine.dagger import (
    ARM_COLUMNS,
    GRIPPER_COLUMNS,
    NOISE_RAMP_ROWS,
    DaggerPolicy,
    SubgoalLabeller,
    collect,
    labelled_episodes,
    next_default_subgoal,
    save_labels,
)
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.normalize import NormStats
from failforward.policy.afil.state_features import ALOHA_ARM_COLUMNS, aloha_tool_points
from failforward.policy.expert.facts import read_facts
from failforward.policy.expert.plug_strip import grasp_side, holding_side
from failforward.policy.expert.plug_strip_prompted import PromptedExpert, PromptedPlugStripPlanner
from failforward.policy.hold import HoldPolicy
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.sim.plug_strip_layout import OBJECTS
from failforward.types import JointCommand

SEED = 5


@pytest.fixture(scope="module")
def driver():
    with SimAlohaDriver(SimAlohaConfig(task="plug_strip", cameras=(), object_state=True)) as robot:
        yield robot


def _first_plug(driver: SimAlohaDriver) -> str:
    return driver.privileged_state().variant.plugs[0]


def test_the_label_is_the_subgoal_planned_from_where_the_arm_is_now(driver: SimAlohaDriver) -> None:
    obs = driver.reset(seed=SEED)
    labeller = SubgoalLabeller(driver.task, driver.privileged_state)
    labeller.reset()
    prompt = f"grasp {_first_plug(driver)}"
    first = labeller.label(obs, prompt, 50)
    assert first is not None and first.shape == (50, 14)
    for row in first[:25]:  # run half of it, then push the arms off the expert's path
        driver.send_action(JointCommand(driver.get_observation().timestamp, row))
    off = driver.get_observation().joint_positions + np.r_[np.full(6, 0.08), 0.0, np.full(6, 0.08), 0.0]
    for _ in range(30):
        driver.send_action(JointCommand(driver.get_observation().timestamp, off))
    obs = driver.get_observation()
    label = labeller.label(obs, prompt, 50)
    fresh = PromptedExpert(driver.task, driver.privileged_state, planner=PromptedPlugStripPlanner())
    expected = fresh.infer(obs, prompt=prompt).actions
    np.testing.assert_allclose(label, expected, atol=1e-9)  # an expert taking over here, not the old trajectory
    arms = np.r_[0:6, 7:13]
    assert np.max(np.abs(label[0, arms] - obs.joint_positions[arms])) < 0.05  # starts from where the arms are
    assert np.max(np.abs(label[0, arms] - first[25, arms])) > 0.05  # not where the first plan would have been


def test_no_label_where_the_subgoal_cannot_run(driver: SimAlohaDriver) -> None:
    obs = driver.reset(seed=SEED)
    labeller = SubgoalLabeller(driver.task, driver.privileged_state)
    labeller.reset()
    layout = driver.privileged_state().variant
    assert labeller.label(obs, f"insert {layout.plugs[0]} {layout.sockets[0]}", 50) is None  # no gripper holds it
    assert labeller.label(obs, "grasp plug_z", 50) is None
    assert labeller.label(obs, "pick up the plug", 50) is None  # neither a subgoal nor the task's prompt


def test_under_the_task_prompt_the_label_is_the_default_orders_next_subgoal(driver: SimAlohaDriver) -> None:
    obs = driver.reset(seed=SEED)
    labeller = SubgoalLabeller(driver.task, driver.privileged_state)
    labeller.reset()
    layout = driver.privileged_state().variant
    facts = read_facts(driver.privileged_state(), labeller.expert.ik)
    assert str(next_default_subgoal(facts, layout)) == f"grasp {layout.plugs[0]}"
    task_label = labeller.label(obs, driver.task.prompt, 50)
    np.testing.assert_allclose(task_label, labeller.label(obs, f"grasp {layout.plugs[0]}", 50))
    for row in task_label:  # the grasp, run to its end: the plug is held, insertion comes next
        driver.send_action(JointCommand(driver.get_observation().timestamp, row))
    for _ in range(8):
        chunk = labeller.label(driver.get_observation(), driver.task.prompt, 50)
        for row in chunk[:25]:
            driver.send_action(JointCommand(driver.get_observation().timestamp, row))
    facts = read_facts(driver.privileged_state(), labeller.expert.ik)
    assert str(next_default_subgoal(facts, layout)) == f"insert {layout.plugs[0]} {layout.sockets[0]}"


def test_the_wrapper_runs_the_learner_or_the_label_and_keeps_every_label(driver: SimAlohaDriver) -> None:
    labeller = SubgoalLabeller(driver.task, driver.privileged_state)
    prompt = f"grasp {_first_plug(driver)}"
    for beta, source in ((0.0, "hold"), (1.0, "expert")):
        policy = DaggerPolicy(HoldPolicy(), labeller, beta=beta)
        policy.reset()
        policy.seed_episode(SEED)
        obs = driver.reset(seed=SEED)
        chunk = policy.infer(obs, prompt=prompt)
        assert chunk.source == source
        assert len(policy.samples) == 1 and policy.samples[0].expert_ran == (beta == 1.0)
        np.testing.assert_array_equal(policy.samples[0].joints, obs.joint_positions)
        assert policy.samples[0].label.shape == (50, 14)
        np.testing.assert_array_equal(policy.samples[0].learner, HoldPolicy().infer(obs).actions)  # kept beside it
        policy.infer(obs, prompt="pick up the plug")  # no label: nothing kept, the learner runs
        assert len(policy.samples) == 1
    with pytest.raises(Exception, match="probability"):
        DaggerPolicy(HoldPolicy(), labeller, beta=1.5)


def test_expert_columns_mix_the_labels_grippers_into_the_learners_chunk(driver: SimAlohaDriver) -> None:
    labeller = SubgoalLabeller(driver.task, driver.privileged_state)
    policy = DaggerPolicy(HoldPolicy(), labeller, beta=1.0, expert_columns=GRIPPER_COLUMNS)
    policy.reset()
    policy.seed_episode(SEED)
    obs = driver.reset(seed=SEED)
    chunk = policy.infer(obs, prompt=f"grasp {_first_plug(driver)}")
    label, learner = policy.samples[0].label, policy.samples[0].learner
    assert chunk.source == "hold+expert" and set(GRIPPER_COLUMNS) | set(ARM_COLUMNS) == set(range(14))
    np.testing.assert_allclose(chunk.actions[:, GRIPPER_COLUMNS], label[:, GRIPPER_COLUMNS], atol=1e-6)
    np.testing.assert_array_equal(chunk.actions[:, ARM_COLUMNS], learner[:, ARM_COLUMNS])
    assert not np.allclose(label[:, ARM_COLUMNS], learner[:, ARM_COLUMNS])  # the arms really were the learner's


def test_execution_noise_perturbs_what_runs_not_the_saved_label(driver: SimAlohaDriver) -> None:
    labeller = SubgoalLabeller(driver.task, driver.privileged_state)
    policy = DaggerPolicy(HoldPolicy(), labeller, beta=1.0, execution_noise=0.05)
    policy.reset()
    policy.seed_episode(SEED)
    obs = driver.reset(seed=SEED)
    chunk = policy.infer(obs, prompt=f"grasp {_first_plug(driver)}")
    offset = np.asarray(chunk.actions) - policy.samples[0].label
    np.testing.assert_array_equal(offset[:, GRIPPER_COLUMNS], 0.0)  # grippers as labelled
    ramp = offset[:NOISE_RAMP_ROWS, ARM_COLUMNS]
    assert np.all(np.abs(ramp[0]) <= np.abs(ramp[-1]) / NOISE_RAMP_ROWS + 1e-9)  # no step at the chunk's start
    np.testing.assert_allclose(offset[NOISE_RAMP_ROWS:, ARM_COLUMNS], ramp[-1][None].repeat(40, 0), atol=1e-9)
    assert 0.005 < np.abs(ramp[-1]).mean() < 0.2  # one draw per joint at a 0.05 rad std
    with pytest.raises(Exception, match="execution_noise"):
        DaggerPolicy(HoldPolicy(), labeller, beta=1.0, execution_noise=-0.1)


def test_moved_object_labels_follow_the_plug_from_the_same_joints(driver: SimAlohaDriver, tmp_path: Path) -> None:
    labeller = SubgoalLabeller(driver.task, driver.privileged_state)
    obs = driver.reset(seed=SEED)  # before reading the layout: the fixture's driver may hold another test's
    plug = _first_plug(driver)
    policy = DaggerPolicy(HoldPolicy(), labeller, beta=1.0, object_shifts=3, object_shift=0.03)
    policy.reset()
    policy.seed_episode(SEED)
    before = driver.privileged_state().object_poses[plug].copy()
    chunk = policy.infer(obs, prompt=f"grasp {plug}")
    real, *moved = policy.samples
    assert not real.moved and len(moved) == 3 and all(m.moved and not m.expert_ran for m in moved)
    np.testing.assert_array_equal(chunk.actions, real.label)  # the rollout runs the real label, not a moved one
    np.testing.assert_array_equal(driver.privileged_state().object_poses[plug], before)  # the scene is untouched
    at = 7 * OBJECTS.index(plug)
    ends = aloha_tool_points(np.stack([s.label[-1][list(ALOHA_ARM_COLUMNS)] for s in policy.samples]))
    side = slice(0, 3) if grasp_side(before[:2]) == "left" else slice(3, 6)
    for m, end in zip(moved, ends[1:], strict=True):
        shift = m.objects[at : at + 2] - obs.object_state[at : at + 2]
        assert 0.0 < np.abs(shift).max() <= 0.03
        np.testing.assert_array_equal(np.delete(m.objects, [at, at + 1]), np.delete(obs.object_state, [at, at + 1]))
        np.testing.assert_array_equal(m.joints, obs.joint_positions)
        motion = (end[side] - ends[0][side])[:2]
        assert np.dot(motion, shift) > 0.5 * np.dot(shift, shift)  # the label's grasp follows the moved plug
    again = DaggerPolicy(HoldPolicy(), labeller, beta=1.0)  # no shifts: the same chunk runs (apart draws)
    again.reset()
    again.seed_episode(SEED)
    np.testing.assert_array_equal(again.infer(driver.reset(seed=SEED), prompt=f"grasp {plug}").actions, chunk.actions)
    policy.infer(obs, prompt=f"insert {plug} {driver.privileged_state().variant.sockets[0]}")  # no grasp: no moves
    assert len(policy.samples) == 4
    save_labels(tmp_path / "labels.npz", policy.samples, seed=SEED, success=False)
    streams = labelled_episodes([tmp_path / "labels.npz"])  # the moved labels train as a stream of their own
    assert [s.length for s in streams] == [1, 3] and {s.prompt for s in streams} == {f"grasp {plug}"}
    np.testing.assert_array_equal(streams[1].object_state, np.stack([m.objects for m in moved]))
    with pytest.raises(Exception, match="object_shift"):
        DaggerPolicy(HoldPolicy(), labeller, beta=1.0, object_shifts=1, object_shift=0.5)


def test_insertion_labels_with_the_strip_moved_aim_for_the_moved_socket(driver: SimAlohaDriver) -> None:
    labeller = SubgoalLabeller(driver.task, driver.privileged_state)
    labeller.reset()
    obs = driver.reset(seed=SEED)
    layout = driver.privileged_state().variant
    plug, socket = layout.plugs[0], layout.sockets[0]
    for row in labeller.label(obs, f"grasp {plug}", 50):  # the grasp, then on until the plug is held (mid-carry)
        driver.send_action(JointCommand(driver.get_observation().timestamp, row))
    for _ in range(40):
        if holding_side(read_facts(driver.privileged_state(), labeller.expert.ik), plug) is not None:
            break
        for row in labeller.label(driver.get_observation(), driver.task.prompt, 50)[:10]:
            driver.send_action(JointCommand(driver.get_observation().timestamp, row))
    prompt = f"insert {plug} {socket}"
    policy = DaggerPolicy(
        HoldPolicy(), labeller, beta=1.0, object_shifts=3, object_shift=0.03, shift_subgoals=("grasp",)
    )
    policy.infer(driver.get_observation(), prompt=prompt)
    assert len(policy.samples) == 1  # insertions are not shifted unless asked
    policy = DaggerPolicy(HoldPolicy(), labeller, beta=1.0, object_shifts=3, object_shift=0.03,
                          shift_subgoals=("grasp", "insert"))  # fmt: skip
    policy.reset()
    policy.seed_episode(SEED)
    obs = driver.get_observation()
    strip_before = driver.privileged_state().object_poses["strip"].copy()
    chunk = policy.infer(obs, prompt=prompt)
    real, *moved = policy.samples
    assert not real.moved and len(moved) == 3 and all(m.moved for m in moved)
    np.testing.assert_array_equal(chunk.actions, real.label)
    np.testing.assert_array_equal(driver.privileged_state().object_poses["strip"], strip_before)
    holder = holding_side(read_facts(driver.privileged_state(), labeller.expert.ik), plug)
    assert holder is not None
    gripper = GRIPPER_COLUMNS[0 if holder == "left" else 1]
    assert obs.joint_positions[gripper] > 0.2  # its pads on the plug, measured partly open
    for s in policy.samples:  # taken over mid-carry, the holding gripper squeezes from the first row, closed in 0.1 s
        assert s.label[0, gripper] < obs.joint_positions[gripper] and np.all(np.diff(s.label[:, gripper]) <= 0)
        assert np.all(np.abs(np.diff(s.label[:, gripper], prepend=obs.joint_positions[gripper])) <= 0.1)
        np.testing.assert_array_equal(s.label[5:, gripper], 0.0)
    side = slice(0, 3) if holder == "left" else slice(3, 6)
    ends = aloha_tool_points(np.stack([s.label[-1][list(ALOHA_ARM_COLUMNS)] for s in policy.samples]))
    at = 7 * OBJECTS.index("strip")
    for m, end in zip(moved, ends[1:], strict=True):
        shift = m.objects[at : at + 2] - obs.object_state[at : at + 2]
        assert 0.0 < np.abs(shift).max() <= 0.03
        np.testing.assert_array_equal(np.delete(m.objects, [at, at + 1]), np.delete(obs.object_state, [at, at + 1]))
        motion = (end[side] - ends[0][side])[:2]
        assert np.dot(motion, shift) > 0.5 * np.dot(shift, shift)  # the insertion follows the moved strip
    quiet = DaggerPolicy(HoldPolicy(), labeller, beta=1.0, execution_noise=0.05, insert_noise=0.0)
    quiet.reset()
    quiet.seed_episode(SEED)
    calm = quiet.infer(obs, prompt=prompt)  # an insertion's label runs without the execution noise
    np.testing.assert_array_equal(calm.actions, quiet.samples[0].label)
    noisy = DaggerPolicy(HoldPolicy(), labeller, beta=1.0, execution_noise=0.05)
    noisy.reset()
    noisy.seed_episode(SEED)
    assert np.abs(np.asarray(noisy.infer(obs, prompt=prompt).actions) - noisy.samples[0].label).max() > 0.005
    with pytest.raises(Exception, match="shift_subgoals"):
        DaggerPolicy(HoldPolicy(), labeller, beta=1.0, shift_subgoals=("done",))
    with pytest.raises(Exception, match="insert_noise"):
        DaggerPolicy(HoldPolicy(), labeller, beta=1.0, insert_noise=-0.1)


def _hold_learner_config(max_steps: int):
    """One plug-strip episode of seed ``SEED`` under the random planner, a learner that holds still."""
    return load_config(
        {
            "robot": {"kind": "sim_aloha", "task": "plug_strip", "cameras": [], "object_state": True},
            "policy": {"kind": "hold"},
            "planner": {"kind": "random", "seed": 1},
            "loop": {"max_steps": max_steps, "realtime": False},
            "seed": SEED,
        }
    )


def test_collected_labels_train_as_whole_chunks(tmp_path: Path) -> None:
    config = _hold_learner_config(max_steps=120)
    ended = []
    collect(config, tmp_path, [SEED], beta=0.5, on_episode=lambda e, f: ended.append(f))
    assert ended == [tmp_path / f"{SEED}.npz"]
    streams = labelled_episodes(ended)
    assert len(streams) == 1 and streams[0].prompt.startswith("grasp ") and streams[0].success
    labels = streams[0].chunk_actions
    assert labels is not None and labels.shape == (streams[0].length, 50, 14) and streams[0].length >= 4

    model = AfilModelConfig(state_dim=streams[0].state.shape[1], action_dim=14, relative_actions=tuple(range(6)))
    norm = ChunkDataset.fit_norm(streams, model)
    batch = ChunkDataset(streams, model, norm).collate(np.array([[0, 2]]))
    target = labels[2] - np.r_[streams[0].joint_positions[2, :6], np.zeros(8)]
    np.testing.assert_allclose(batch.actions[0], norm.normalize_actions(target), rtol=1e-5, atol=1e-5)


def test_labelled_chunks_must_match_the_episode_and_the_model() -> None:

    joints = np.zeros((3, 14))
    with pytest.raises(ShapeError, match="chunk_actions"):
        EpisodeArrays(joints, joints, "grasp plug_a", True, chunk_actions=np.zeros((2, 50, 14)))
    short = EpisodeArrays(joints, joints, "grasp plug_a", True, chunk_actions=np.zeros((3, 20, 14)))
    assert short.window(1, 3).chunk_actions.shape == (2, 20, 14)
    model = AfilModelConfig(state_dim=14, action_dim=14)
    with pytest.raises(ShapeError, match="horizon"):
        ChunkDataset([short], model, ChunkDataset.fit_norm([short]))
    labels = np.arange(3 * 20 * 14, dtype=np.float64).reshape(3, 20, 14)
    longer = EpisodeArrays(joints, joints, "grasp plug_a", True, chunk_actions=labels)
    shorter_model = AfilModelConfig(state_dim=14, action_dim=14, horizon=8)
    batch = ChunkDataset([longer], shorter_model, NormStats.identity(14, 14)).collate(np.array([[0, 1]]))
    np.testing.assert_allclose(batch.actions[0], labels[1, :8])  # a longer label trains its first H rows


def test_labels_that_run_carry_the_expert_through_the_task(tmp_path: Path) -> None:
    """DART at beta 1: each label runs, and the next one continues it, so the rollout is the expert's own (a plan made
    afresh at every chunk starts at rest each time, and the arm crawls until the episode times out)."""
    config = _hold_learner_config(max_steps=1500)
    ended = []
    collect(config, tmp_path, [SEED], beta=1.0, object_shifts=2, on_episode=lambda e, f: ended.append(e))
    assert ended[0].outcome.success, ended[0].outcome.reason
    with np.load(tmp_path / f"{SEED}.npz") as saved:
        moved, prompts = saved["moved"], saved["prompt"]
    real = int((~moved).sum())
    assert 0 < moved.sum() < 2 * real  # moved labels only beside labels planned from rest, not at every chunk
    assert set(prompts[moved]) <= {p for p in prompts if p.startswith("grasp")}
