"""Fixtures of the recovery tests: a settled simulated transfer-cube scene with the head camera."""

from __future__ import annotations

import pytest
from rec_helpers import HEIGHT, WIDTH

from failforward.config import SafetyConfig, SimAlohaConfig
from failforward.control.safety import SafetyLayer
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.types import JointCommand


@pytest.fixture(params=[()], ids=["no-cameras"])
def driver(request):
    """Transfer-cube scene, seed 0, the cube settled on the table (20 ticks holding the start pose).

    Observations carry no images unless a test parametrizes ``driver`` indirectly with camera names
    (rendering every tick is what makes simulated episodes slow); depth is rendered on demand.
    """
    with SimAlohaDriver(
        SimAlohaConfig(task="transfer_cube", cameras=request.param, image_height=HEIGHT, image_width=WIDTH)
    ) as robot:
        obs = robot.reset(seed=0)
        for _ in range(20):
            robot.send_action(JointCommand(obs.timestamp, obs.joint_positions))
        yield robot


@pytest.fixture
def safety(driver) -> SafetyLayer:
    layer = SafetyLayer(driver.features, SafetyConfig(), 50.0)
    layer.reset(driver.get_observation().joint_positions)
    return layer


@pytest.fixture
def sim_controller(driver):
    """``make(config)`` → ``RecoveryController.for_sim_aloha(config, driver)``; all closed at teardown."""
    from failforward.recovery import RecoveryController

    made = []

    def make(config):
        made.append(RecoveryController.for_sim_aloha(config, driver))
        return made[-1]

    yield make
    for controller in made:
        controller.close()
