"""``bench/recovery_benchmark.py``'s robot per policy: an image model gets its cameras at its size and no object
state (it must not be handed the simulator's poses) captured by ``CameraFrameRate``, a state model the poses,
the scripted expert neither."""

from __future__ import annotations

import afil_helpers
import pytest

from failforward.policy.afil.manifest import load_manifest
from failforward.robots.sim_aloha import SimAlohaDriver

tiny_state_dir = afil_helpers.tiny_state_dir
tiny_vision_dir = afil_helpers.tiny_vision_dir


@pytest.fixture(scope="module")
def bench(load_bench):
    return load_bench("recovery_benchmark")


def test_an_image_model_sees_its_cameras_at_its_size_and_no_object_state(bench, tiny_vision_dir):
    model = load_manifest(tiny_vision_dir).model
    robot = bench.robot_config(model, "transfer_cube")
    assert (robot.image_height, robot.image_width) == (model.image_height, model.image_width)
    assert not robot.object_state and robot.cameras == robot.depth_cameras == ()
    with SimAlohaDriver(robot) as driver:
        observed = bench.observed_robot(driver, model)
        assert [c.name for c in observed.features.cameras] == list(model.cameras)
        observed.reset(0)
        frames = observed.get_observation().images
        assert sorted(frames) == sorted(model.cameras)
        assert all(f.shape == (model.image_height, model.image_width, 3) for f in frames.values())


def test_a_state_model_gets_object_state_and_the_expert_none(bench, tiny_state_dir):
    state = bench.robot_config(load_manifest(tiny_state_dir).model, "transfer_cube")
    expert = bench.robot_config(None, "transfer_cube")
    assert state.object_state and not expert.object_state
    assert state.cameras == expert.cameras == ()
    assert (state.image_height, state.image_width) == (bench.HEIGHT, bench.WIDTH)
