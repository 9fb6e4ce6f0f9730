"""Driver wrappers at the simulator's edge, in the control loop on the simulated ALOHA."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from failforward.config import BrokerConfig, LoopConfig, SafetyConfig, SimAlohaConfig
from failforward.control.assembly import assemble_loop
from failforward.errors import ConfigError
from failforward.policy.base import PolicyBackend
from failforward.robots.base import EpisodicDriver
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.robots.wrappers import CameraFrameRate, DisturbedDriver, PreludeStart, SampledCamera
from failforward.types import ActionChunk, EpisodeOutcome, JointCommand, Observation, TickRecord, TickSubscriber

RIGHT_GRIPPER = 13


class Hold(PolicyBackend):
    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        return ActionChunk(np.tile(obs.joint_positions, (10, 1)))


class Ticks(TickSubscriber):
    def __init__(self) -> None:
        self.ticks: list[TickRecord] = []

    def on_tick(self, tick: TickRecord) -> None:
        self.ticks.append(tick)


class OpenRightGripper:
    """Forces the right gripper open on ticks ``[start, stop)``; notes every tick it was asked about."""

    def __init__(self, start: int, stop: int) -> None:
        self.start, self.stop = start, stop
        self.observed: list[int] = []

    def before_observe(self, tick: int) -> None:
        self.observed.append(tick)

    def command(self, tick: int, positions: np.ndarray) -> np.ndarray:
        if self.start <= tick < self.stop:
            positions = positions.copy()
            positions[RIGHT_GRIPPER] = 1.0
        return positions


@pytest.fixture
def sim() -> Iterator[SimAlohaDriver]:
    with SimAlohaDriver(SimAlohaConfig(cameras=(), image_height=24, image_width=32)) as driver:
        yield driver


def _run(driver: EpisodicDriver, sim: SimAlohaDriver, steps: int = 20) -> list[TickRecord]:
    ticks = Ticks()
    loop = assemble_loop(
        driver,
        Hold(),
        loop=LoopConfig(max_steps=steps),
        safety=SafetyConfig(),
        broker=BrokerConfig(execute_steps=10),
        prompt="hold",
        subscribers=[ticks],
    )
    assert loop.run_episode(0, seed=0).error is None
    return ticks.ticks


def test_sampled_camera_renders_every_kth_tick_only(sim: SimAlohaDriver) -> None:
    ticks = _run(SampledCamera(sim, "top", every_ticks=7), sim)
    with_image = [t.step for t in ticks if "top" in t.observation.images]
    assert with_image == [0, 7, 14]
    assert ticks[7].observation.images["top"].shape == (24, 32, 3)
    assert _run(SampledCamera(sim, "top", every_ticks=7), sim)[0].observation.images  # restarts at reset


def test_camera_frame_rate_captures_every_kth_tick_and_holds_the_latest_frame_with_its_time(
    sim: SimAlohaDriver,
) -> None:
    cameras = CameraFrameRate(sim, ("top", "left_wrist"), (24, 32), every_ticks=5)
    assert [c.name for c in cameras.features.cameras] == ["top", "left_wrist"]
    ticks = _run(cameras, sim)
    observations = [t.observation for t in ticks]
    assert all(sorted(o.images) == ["left_wrist", "top"] for o in observations)
    captured = [round(o.frame_times["top"], 6) for o in observations]
    stamps = [round(o.timestamp, 6) for o in observations]
    assert [k for k in range(20) if captured[k] == stamps[k]] == [0, 5, 10, 15]
    assert captured[7] == stamps[5] and observations[7].images["top"] is observations[5].images["top"]
    assert _run(cameras, sim)[0].observation.frame_times["top"] == pytest.approx(0.0, abs=0.05)  # fresh at reset


def test_camera_frame_rate_refuses_a_camera_the_driver_renders_itself_or_the_wrong_size() -> None:
    with SimAlohaDriver(SimAlohaConfig(cameras=("top",), image_height=24, image_width=32)) as driver:
        with pytest.raises(ConfigError, match="already renders"):
            CameraFrameRate(driver, ("top",), (24, 32), every_ticks=5)
        cameras = CameraFrameRate(driver, ("left_wrist",), (48, 64), every_ticks=5)
        cameras.reset(0)
        with pytest.raises(ConfigError, match="pass the driver's image size"):
            cameras.get_observation()


def test_disturbance_replaces_the_safe_command_and_the_sent_record_says_so(sim: SimAlohaDriver) -> None:
    disturbance = OpenRightGripper(start=5, stop=8)
    ticks = _run(DisturbedDriver(sim, disturbance), sim)
    assert disturbance.observed == list(range(20))
    opened = [t.step for t in ticks if t.sent.positions[RIGHT_GRIPPER] == pytest.approx(sim.features.upper[13])]
    assert opened == [5, 6, 7]
    assert all(t.policy_action[RIGHT_GRIPPER] < 0.9 for t in ticks)  # the policy never asked for it


def test_prelude_start_hands_over_the_prelude_state(sim: SimAlohaDriver) -> None:
    seen: list[int] = []

    def prelude(robot, obs: Observation, rng: np.random.Generator) -> Observation:
        seen.append(int(rng.integers(1_000_000)))
        target = obs.joint_positions.copy()
        target[RIGHT_GRIPPER] = 1.0
        for _ in range(10):
            robot.send_action(JointCommand(obs.timestamp, target))
        return robot.get_observation()

    ticks = _run(PreludeStart(sim, prelude), sim, steps=3)
    assert seen == [int(np.random.default_rng(0).integers(1_000_000))]
    assert ticks[0].observation.timestamp == pytest.approx(10 * 0.02)  # the loop starts after the prelude


class FinishedInPrelude(SimAlohaDriver):
    """Judges every episode a success from reset on, as if a prelude had finished the task."""

    def episode_outcome(self) -> EpisodeOutcome:
        return EpisodeOutcome(True, 4, "success")


def test_prelude_start_judges_the_episode_from_the_hand_over_on() -> None:
    with FinishedInPrelude(SimAlohaConfig(cameras=())) as finished:
        driver = PreludeStart(finished, lambda robot, obs, rng: obs)
        ticks = _run(driver, finished, steps=5)
        assert len(ticks) == 5  # the loop did not stop at the prelude's success
        outcome = driver.episode_outcome()
    assert not outcome.success and outcome.stage == 0 and "after the prelude" in outcome.reason


def test_sampled_camera_checks_its_arguments(sim: SimAlohaDriver) -> None:
    with pytest.raises(ConfigError, match="every_ticks"):
        SampledCamera(sim, "top", every_ticks=0)
    with pytest.raises(ConfigError, match="render"):
        SampledCamera(PreludeStart(sim, lambda robot, obs, rng: obs), "top", every_ticks=5)
