"""Optional driver capabilities are typed protocols: ``isinstance`` finds them without calling anything."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from failforward.config import AlohaConfig
from failforward.errors import ConfigError, NotConnectedError
from failforward.robots.capabilities import LeaderArms, OnDemandCamera, SceneAccess
from failforward.robots.wrappers import SampledCamera
from failforward.testing import FakeRobot, FakeRobotConfig

ROOT = Path(__file__).resolve().parents[1]


class Unconnected:
    """Every ``SceneAccess`` member; ``scene`` raises as a simulator's does before ``connect()``."""

    features = None
    scene_xml_path = "scene.xml"
    image_size = (4, 6)

    @property
    def scene(self) -> object:
        raise NotConnectedError("not connected")

    def render(self, camera: str, *, depth: bool = False) -> np.ndarray:
        return np.zeros((4, 6, 3), dtype=np.uint8)


class RenderingFake(FakeRobot):
    """The fake robot with a camera rendered on demand (a constant image per call count)."""

    renders = 0

    def render(self, camera: str, *, depth: bool = False) -> np.ndarray:
        self.renders += 1
        return np.full((2, 3, 3), self.renders, dtype=np.uint8)


def test_isinstance_looks_members_up_without_calling_them() -> None:
    assert isinstance(Unconnected(), SceneAccess) and isinstance(Unconnected(), OnDemandCamera)
    assert not isinstance(Unconnected(), LeaderArms)


def test_a_missing_member_fails_the_check() -> None:
    class RendersOnly:
        def render(self, camera: str, *, depth: bool = False) -> np.ndarray:
            return np.zeros((1, 1, 3), dtype=np.uint8)

    assert isinstance(RendersOnly(), OnDemandCamera) and not isinstance(RendersOnly(), SceneAccess)
    assert not isinstance(object(), OnDemandCamera)


def test_the_fake_robot_has_no_optional_capability() -> None:
    fake = FakeRobot(FakeRobotConfig())
    assert not isinstance(fake, SceneAccess | OnDemandCamera | LeaderArms)
    with pytest.raises(ConfigError, match="render"):
        SampledCamera(fake, "top", every_ticks=2)


def test_sampled_camera_renders_through_the_capability() -> None:
    driver = SampledCamera(RenderingFake(FakeRobotConfig()), "head", every_ticks=2)
    with driver:
        driver.reset(seed=0)
        seen = ["head" in driver.get_observation().images for _ in range(5)]
    assert seen == [True, False, True, False, True]  # ticks 0, 2, 4
    assert driver.driver.renders == 3


def test_the_simulated_aloha_offers_its_scene() -> None:
    pytest.importorskip("mujoco")
    pytest.importorskip("gym_aloha")
    from failforward.config import SimAlohaConfig
    from failforward.robots.sim_aloha import SimAlohaDriver

    driver = SimAlohaDriver(SimAlohaConfig(cameras=(), image_height=48, image_width=64))
    assert isinstance(driver, SceneAccess) and not isinstance(driver, LeaderArms)  # before connect: no raise
    assert driver.image_size == (48, 64) and driver.scene_xml_path == driver.task.xml_path
    with driver:
        assert driver.scene.task is driver.task
        assert driver.render("top").shape == (48, 64, 3)


def test_the_aloha_offers_leader_arms_when_their_ports_are_set() -> None:
    pytest.importorskip("dynamixel_sdk")
    from failforward.robots.aloha import AlohaDriver

    calibration = ROOT / "calibration/aloha/default"
    follower = AlohaDriver(AlohaConfig(calibration_dir=calibration))
    ports = {"leader_left_port": "/dev/a", "leader_right_port": "/dev/b"}
    teleop = AlohaDriver(AlohaConfig(calibration_dir=calibration, **ports))
    assert isinstance(follower, LeaderArms) and not isinstance(follower, SceneAccess | OnDemandCamera)
    assert (follower.has_leaders, teleop.has_leaders) == (False, True)
