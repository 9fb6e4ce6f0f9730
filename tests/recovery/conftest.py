"""Fixtures of the recovery tests: a settled simulated transfer-cube scene with the head camera."""

from __future__ import annotations

import pytest
from rec_helpers import HEIGHT, WIDTH

from failforward.config import SafetyConfig, SimAlohaConfig
from failforward.control.safety import SafetyLayer
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.types import JointCommand


@pytest.fixture
def driver():
    """Transfer-cube scene, seed 0, the cube settled on the table (20 ticks holding the start pose)."""
    with SimAlohaDriver(SimAlohaConfig(task="transfer_cube", cameras=("top",), image_height=HEIGHT,
                                       image_width=WIDTH)) as robot:
        obs = robot.reset(seed=0)
        for _ in range(20):
            robot.send_action(JointCommand(obs.timestamp, obs.joint_positions))
        yield robot


@pytest.fixture
def safety(driver) -> SafetyLayer:
    layer = SafetyLayer(driver.features, SafetyConfig(), 50.0)
    layer.reset(driver.get_observation().joint_positions)
    return layer
