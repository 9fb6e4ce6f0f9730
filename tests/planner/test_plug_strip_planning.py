"""VINE's runtime on the plug strip: a planner's subgoals drive the prompted expert through the loop, the scene graph
comes from the observed poses and the arms' kinematics, every planning cycle is recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from failforward.config import load_config
from failforward.control.runtime import run
from failforward.errors import ConfigError
from failforward.planner.errors import NodeUnavailableError
from failforward.record.reader import read_episode


def _config(tmp_path: Path, **overrides) -> dict:
    return {
        "robot": {"kind": "sim_aloha", "task": "plug_strip", "cameras": [], "object_state": True},
        "policy": {"kind": "subgoal_expert"},
        "planner": {"kind": "random", "seed": 1},
        "loop": {"max_steps": 1500, "realtime": False},
        "record": {"output_dir": str(tmp_path)},
        "episodes": 1,
        "seed": 5,
        **overrides,
    }


def test_planned_subgoals_drive_the_expert_to_success(tmp_path: Path) -> None:
    episode = run(load_config(_config(tmp_path)), run_name="vine").episodes[0]
    assert episode.outcome.success and episode.error is None
    recorded = read_episode(episode.files[0], load_images=False)
    plans = [p for _, p in recorded.plans]
    assert plans[0]["reason"] == "start" and plans[0]["planner"] == "random"
    assert plans[0]["subgoals"][0].startswith("grasp ") and plans[0]["subgoals"][-1] == "done"
    assert all(p["reason"] in ("start", "subgoal_done") for p in plans)  # no spurious replans on this seed
    assert episode.planning["plans"] == len(plans)


def test_a_planner_needs_the_objects_poses_and_a_known_task(tmp_path: Path) -> None:
    blind = _config(tmp_path)
    blind["robot"] = {**blind["robot"], "object_state": False}
    with pytest.raises(ConfigError, match="object_state"):
        load_config(blind)
    with pytest.raises(ConfigError, match="plug_strip"):
        load_config(_config(tmp_path, robot={"kind": "sim_aloha", "task": "transfer_cube", "object_state": True}))


def test_the_scene_graph_refuses_missing_poses() -> None:
    from failforward.kinematics.aloha_ik import AlohaIK
    from failforward.planner.plug_strip import PlugStripPlanning
    from failforward.sim.plug_strip_layout import sample_layout
    from failforward.sim.tasks import get_task
    from failforward.types import Observation

    task = PlugStripPlanning(lambda seed: sample_layout(seed), AlohaIK(get_task("plug_strip").xml_path))
    task.reset(5)
    obs = Observation(timestamp=0.0, joint_positions=np.zeros(14), joint_velocities=np.zeros(14))
    with pytest.raises(NodeUnavailableError, match="object_state"):
        task.node(obs)
    nan = Observation(0.0, np.zeros(14), np.zeros(14), object_state=np.full(21, np.nan))
    with pytest.raises(NodeUnavailableError):
        task.node(nan)


def test_a_prompt_naming_no_subgoal_of_the_strip_is_refused_not_executed(tmp_path: Path) -> None:
    """The prompted expert ends the episode with the reason instead of moving on a malformed or foreign subgoal."""
    config = load_config(_config(tmp_path, planner=None, policy={"kind": "subgoal_expert"}))
    config = config.with_overrides({"loop.max_steps": 60})
    from failforward.control.assembly import build_loop
    from failforward.robots.registry import make_driver

    with make_driver(config.robot) as driver:
        loop = build_loop(config, driver, prompt="insert plug_z socket_9")
        episode = loop.run_episode(0, seed=5, task="plug_strip")
    assert episode.error is not None and "plug_z socket_9" in episode.error and "valid:" in episode.error
    assert episode.steps == 0  # refused before the first command
