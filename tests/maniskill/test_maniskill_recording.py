"""A ManiSkill episode records to MCAP like an ALOHA one and reads back with the simulator's label."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mani_skill")

from failforward.config import get_preset
from failforward.control.runtime import run
from failforward.record.reader import read_episode


def test_recorded_episode_reads_back(tmp_path) -> None:
    config = get_preset("maniskill_pull_cube").with_overrides(
        {"episodes": 1, "seed": 3, "record.output_dir": str(tmp_path)}
    )
    episode = run(config, run_name="rec").episodes[0]
    recorded = read_episode(episode.files[0])
    assert recorded.joint_names[-1] == "panda_gripper" and len(recorded.joint_names) == 8
    assert recorded.prompt == "pull the blue cube back onto the red and white target"
    assert recorded.joint_positions.shape == (episode.steps, 8)
    np.testing.assert_allclose(np.diff(recorded.timestamps), 0.05, atol=1e-9)  # 20 Hz simulation time [s]
    assert recorded.outcome is not None and recorded.outcome.success == episode.outcome.success is True
    assert not recorded.images
