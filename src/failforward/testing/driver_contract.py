"""The contract every :class:`~failforward.robots.base.RobotDriver` passes.

Subclass :class:`RobotDriverContract` in a test module and implement ``make_driver``::

    class TestSimAloha(RobotDriverContract):
        def make_driver(self):
            return SimAlohaDriver(SimAlohaConfig(cameras=("top",)))

Needs pytest (the ``dev`` extra).
"""

from __future__ import annotations

import numpy as np
import pytest

from failforward.errors import FailforwardError, NotConnectedError, ShapeError
from failforward.robots.base import EpisodicDriver, RobotDriver
from failforward.types import JointCommand, Observation

KNOWN_UNITS = {"rad", "m", "normalized"}


class RobotDriverContract:
    """Behaviour every driver guarantees. Hardware drivers run it against their emulators."""

    def make_driver(self) -> RobotDriver:
        raise NotImplementedError("Return a fresh, unconnected driver.")

    @pytest.fixture
    def driver(self):
        driver = self.make_driver()
        yield driver
        driver.disconnect()

    @pytest.fixture
    def connected(self, driver):
        driver.connect()
        return driver

    def test_features_known_before_connect(self, driver: RobotDriver) -> None:
        features = driver.features
        assert not driver.is_connected
        assert features.action_dim > 0
        assert len(set(features.joint_names)) == features.action_dim
        assert np.all(features.lower < features.upper)
        assert np.all(features.max_velocity > 0)
        assert {j.unit for j in features.joints} <= KNOWN_UNITS
        assert features.control_hz > 0

    def test_observe_before_connect_raises(self, driver: RobotDriver) -> None:
        with pytest.raises(NotConnectedError):
            driver.get_observation()

    def test_context_manager_connects_and_disconnects(self, driver: RobotDriver) -> None:
        with driver as entered:
            assert entered is driver and driver.is_connected
        assert not driver.is_connected
        driver.disconnect()  # idempotent

    def test_observation_matches_features(self, connected: RobotDriver) -> None:
        obs = connected.get_observation()
        assert isinstance(obs, Observation)
        features = connected.features
        assert obs.joint_positions.shape == (features.action_dim,)
        assert np.all(np.isfinite(obs.joint_positions))
        for camera in features.cameras:
            assert obs.images[camera.name].shape == (camera.height, camera.width, 3)
            if camera.depth:
                assert obs.depth[camera.name].shape == (camera.height, camera.width)

    def test_send_returns_what_was_sent(self, connected: RobotDriver) -> None:
        obs = connected.get_observation()
        sent = connected.send_action(JointCommand(obs.timestamp, obs.joint_positions))
        assert isinstance(sent, JointCommand)
        assert sent.positions.shape == obs.joint_positions.shape
        assert np.all(np.isfinite(sent.positions))

    def test_out_of_limit_command_is_clamped_by_the_driver(self, connected: RobotDriver) -> None:
        features = connected.features
        beyond = features.upper + 10.0
        sent = connected.send_action(JointCommand(0.0, beyond))
        assert np.all(sent.positions <= features.upper + 1e-9)
        assert np.all(sent.positions >= features.lower - 1e-9)

    def test_wrong_shape_is_rejected(self, connected: RobotDriver) -> None:
        with pytest.raises(ShapeError):
            connected.send_action(JointCommand(0.0, np.zeros(connected.features.action_dim + 1)))

    def test_non_finite_command_is_refused(self, connected: RobotDriver) -> None:
        obs = connected.get_observation()
        bad = obs.joint_positions.copy()
        bad[0] = np.nan
        with pytest.raises(FailforwardError):
            connected.send_action(JointCommand(0.0, bad))

    def test_episodic_reset_is_reproducible(self, connected: RobotDriver) -> None:
        if not isinstance(connected, EpisodicDriver):
            pytest.skip("not an episodic (simulated) driver")
        first = connected.reset(seed=3).joint_positions
        connected.send_action(JointCommand(0.0, first + 0.01))
        again = connected.reset(seed=3).joint_positions
        np.testing.assert_allclose(first, again)
        assert isinstance(connected.task_prompt, str) and connected.task_prompt
