"""The scripted expert: IK, chunk limits, phase inference, success from reset and from mid-episode.

Fast tests run a few seeds per task (physics only, ~0.5 s per episode); the 50-seed measurement
the README quotes is ``-m slow`` (same numbers as ``bench/expert_success.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest
from mink import SE3

from failforward.config import PolicyConfig, SimAlohaConfig
from failforward.errors import ExpertError
from failforward.kinematics.aloha_ik import START_ARMS, AlohaIK
from failforward.learn.expert_episode import run_expert_episode
from failforward.policy.base import PolicyBackend
from failforward.policy.expert import ScriptedExpert
from failforward.policy.expert.evaluate import EpisodeResult
from failforward.policy.expert.geometry import DOWN, frame, pose
from failforward.policy.expert.perturb import dropped_object, interrupted_expert, random_motion
from failforward.policy.registry import PolicyContext, make_policy
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.sim.tasks import get_task
from failforward.stats import wilson_interval
from failforward.types import ActionChunk, JointCommand

TASKS = ("transfer_cube", "insertion")
ARM_STEP_LIMIT = 3.0 * 0.02  # [rad] per tick: the safety layer's arm speed limit
GRIPPER_STEP_LIMIT = 5.0 * 0.02  # normalized per tick


@pytest.fixture(params=TASKS)
def robot(request: pytest.FixtureRequest) -> Iterator[SimAlohaDriver]:
    with SimAlohaDriver(SimAlohaConfig(task=request.param, cameras=())) as driver:
        yield driver


def _episodes(robot: SimAlohaDriver, seeds: range, prelude=None) -> list[EpisodeResult]:
    expert = ScriptedExpert(robot.task, robot.privileged_state)
    return [run_expert_episode(robot, expert, seed, prelude=prelude) for seed in seeds]


def _assert_within_limits(results: list[EpisodeResult]) -> None:
    assert max(r.max_arm_step for r in results) <= ARM_STEP_LIMIT + 1e-9
    assert max(r.max_gripper_step for r in results) <= GRIPPER_STEP_LIMIT + 1e-9


# ----------------------------------------------------------------------------------------- IK
def test_ik_reaches_a_top_down_pose_within_a_millimetre() -> None:
    ik = AlohaIK(get_task("transfer_cube").xml_path)
    target = pose(frame(DOWN, np.array([0.0, -1.0, 0.0])), np.array([0.1, 0.45, 0.05]))
    q = ik.solve(START_ARMS, {"right": target})
    error = (target.inverse() @ ik.tool_poses(q)["right"]).log()
    assert np.linalg.norm(error[:3]) < 1e-3 and np.linalg.norm(error[3:]) < 1e-2
    np.testing.assert_allclose(q[:6], START_ARMS[:6], atol=1e-6)  # the left arm had no target


def test_tool_point_is_the_fingertip_centre() -> None:
    """The tool site sits on the closing axis, within 6 mm behind the fingertips (finger mesh hull)."""
    with SimAlohaDriver(SimAlohaConfig(task="transfer_cube", cameras=())) as robot:
        robot.reset(seed=0)
        model, data = robot.scene.model, robot.scene.data
        ik = AlohaIK(robot.task.xml_path)
        tool = ik.tool_poses(ik.arms_from_qpos(data.qpos))["right"]
        tips, inner = [], []
        for finger in ("left", "right"):
            geom = model.geom(f"vx300s_right/10_{finger}_gripper_finger")
            mesh = geom.dataid[0]
            verts = model.mesh_vert[model.mesh_vertadr[mesh] : model.mesh_vertadr[mesh] + model.mesh_vertnum[mesh]]
            world = verts @ data.geom(geom.id).xmat.reshape(3, 3).T + data.geom(geom.id).xpos
            local = np.array([tool.inverse().apply(v) for v in world])
            tips.append(local[:, 0].max())
            inner.append(local[:, 1].min() if finger == "left" else local[:, 1].max())
            assert abs(local[:, 2].mean()) < 0.005  # pads centred on the tool's z
        assert all(0.0 <= tip <= 0.006 for tip in tips), tips
        assert abs(inner[0] + inner[1]) < 0.002  # the two pad faces are symmetric about the tool's y = 0


def test_ik_step_never_exceeds_the_speed_limit() -> None:
    ik = AlohaIK(get_task("insertion").xml_path, max_joint_speed=2.7)
    rng = np.random.default_rng(0)
    q = START_ARMS.copy()
    for _ in range(30):
        targets = {s: SE3.from_translation(rng.uniform([-0.3, 0.3, 0.05], [0.3, 0.7, 0.4])) for s in ("left", "right")}
        q_next = ik.step(q, targets)
        assert np.max(np.abs(q_next - q)) <= 2.7 * ik.dt + 1e-6
        q = q_next


def test_ik_reports_unreachable_targets() -> None:
    ik = AlohaIK(get_task("transfer_cube").xml_path)
    with pytest.raises(ExpertError, match="closer to the arm"):
        ik.solve(START_ARMS, {"left": SE3.from_translation(np.array([2.0, 0.5, 0.3]))}, max_steps=20)


# ------------------------------------------------------------------------------- contract
def test_chunk_is_finite_within_joint_limits(robot: SimAlohaDriver) -> None:
    expert = ScriptedExpert(robot.task, robot.privileged_state, horizon=30)
    chunk = expert.infer(robot.reset(seed=3))
    f = robot.features
    assert chunk.actions.shape == (30, 14) and chunk.source == "expert"
    assert np.all(np.isfinite(chunk.actions))
    assert np.all(chunk.actions[:, 6] <= 1.0) and np.all(chunk.actions[:, 6] >= 0.0)
    arms = [i for i in range(14) if i not in (6, 13)]
    assert np.all(chunk.actions[:, arms] >= f.lower[arms]) and np.all(chunk.actions[:, arms] <= f.upper[arms])


def test_unknown_task_is_refused_with_the_supported_names() -> None:
    task = dataclasses.replace(get_task("transfer_cube"), name="stack_cups")
    with pytest.raises(ExpertError, match="insertion, plug_strip, transfer_cube"):
        ScriptedExpert(task, lambda: None)  # type: ignore[arg-type, return-value]


def test_registry_builds_the_expert_only_with_privileged_state() -> None:
    with SimAlohaDriver(SimAlohaConfig(task="insertion", cameras=())) as robot:
        context = PolicyContext(robot.features, "insertion", robot.task_prompt, robot.privileged_state)
        assert isinstance(make_policy(PolicyConfig(kind="expert"), context), ScriptedExpert)
        with pytest.raises(ExpertError, match="privileged"):
            make_policy(PolicyConfig(kind="expert"), dataclasses.replace(context, privileged_state=None))


# -------------------------------------------------------------------------- phase inference
def test_phase_follows_the_scene_not_the_history() -> None:
    """A fresh expert sees the cube in the right gripper → handover; cube back on the table → pick."""
    with SimAlohaDriver(SimAlohaConfig(task="transfer_cube", cameras=())) as robot:
        obs = robot.reset(seed=5)
        driver_expert = ScriptedExpert(robot.task, robot.privileged_state)
        while robot.privileged_state().stage < 2:
            for action in driver_expert.infer(obs).actions[:10]:
                robot.send_action(JointCommand(obs.timestamp, action))
                obs = robot.get_observation()
        fresh = ScriptedExpert(robot.task, robot.privileged_state)
        fresh.infer(obs)
        assert fresh.phase == "handover"
        qpos = robot.scene.data.qpos.copy()
        qpos[16:19] = [0.15, 0.45, 0.02]
        robot.scene.set_qpos(qpos)
        fresh.infer(robot.get_observation())
        assert fresh.phase == "pick"


# ------------------------------------------------------------------------------------ success
def test_expert_succeeds_from_reset(robot: SimAlohaDriver) -> None:
    results = _episodes(robot, range(5))
    assert sum(r.success for r in results) >= 4, results
    assert all(r.steps < 400 for r in results if r.success)
    _assert_within_limits(results)


@pytest.mark.parametrize("start", ["random", "teleport", "drop"])
def test_expert_finishes_after_a_mid_episode_takeover(robot: SimAlohaDriver, start: str) -> None:
    prelude = {
        "random": random_motion(),
        "teleport": interrupted_expert(robot.task),
        "drop": dropped_object(robot.task),
    }[start]
    results = _episodes(robot, range(100, 103), prelude)
    assert sum(r.success for r in results) >= 2, results
    _assert_within_limits(results)


class Jumpy(PolicyBackend):
    """Asks for a 0.5 rad jump of the first joint on every chunk (the safety layer will not pass it)."""

    def infer(self, obs, *, prompt="", noise=None):
        actions = np.tile(obs.joint_positions, (25, 1))
        actions[:, 0] += 0.5
        return ActionChunk(actions)


class Broken(PolicyBackend):
    def infer(self, obs, *, prompt="", noise=None):
        raise ExpertError("IK did not converge from this pose")


def test_steps_are_measured_on_what_the_expert_asked_for(robot: SimAlohaDriver) -> None:
    result = run_expert_episode(robot, Jumpy(), seed=0, max_steps=30)
    assert result.steps == 30 and not result.success and result.error is None
    assert result.max_arm_step == pytest.approx(0.5)  # before the safety layer, which limits it to 0.06


def test_an_expert_error_ends_the_episode_with_its_message(robot: SimAlohaDriver) -> None:
    result = run_expert_episode(robot, Broken(), seed=0)
    assert not result.success and result.steps == 0 and "IK did not converge" in result.error


def test_wilson_interval_brackets_the_rate() -> None:
    low, high = wilson_interval(45, 50)
    assert low < 0.9 < high and (low, high) == pytest.approx((0.786, 0.957), abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


# -------------------------------------------------------------------------------- measurement
@pytest.mark.slow
@pytest.mark.parametrize(("task", "threshold"), [("transfer_cube", 0.9), ("insertion", 0.7)])
def test_expert_success_rate_over_50_seeds(task: str, threshold: float) -> None:
    with SimAlohaDriver(SimAlohaConfig(task=task, cameras=())) as robot:
        results = _episodes(robot, range(50))
    rate = sum(r.success for r in results) / 50
    assert rate >= threshold, f"{task}: {rate:.0%} < {threshold:.0%}"
    _assert_within_limits(results)


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("start", ["random", "teleport", "drop"])
def test_expert_takeover_rate_over_20_seeds(task: str, start: str) -> None:
    with SimAlohaDriver(SimAlohaConfig(task=task, cameras=())) as robot:
        prelude = {
            "random": random_motion(),
            "teleport": interrupted_expert(robot.task),
            "drop": dropped_object(robot.task),
        }[start]
        results = _episodes(robot, range(20), prelude)
    rate = sum(r.success for r in results) / 20
    assert rate >= 0.7, f"{task} after {start}: {rate:.0%}"
