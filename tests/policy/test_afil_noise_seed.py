"""Flow noise is seeded per episode from ``(seed, episode seed)``: an episode's chunks do not depend on the episodes
run before it, and two settings run on the same episode seed share their noise (issue 17, item 0)."""

from __future__ import annotations

from pathlib import Path

import afil_helpers
import numpy as np
import pytest

from failforward.config import BrokerConfig, LoopConfig, SafetyConfig
from failforward.control.assembly import assemble_loop
from failforward.policy.afil import BackendConfig, GuidanceConfig, GuidanceMode, SamplerConfig, make_backend
from failforward.policy.afil.backends.base import AfilBackend
from failforward.testing import FakeRobot, FakeRobotConfig
from failforward.types import Observation

tiny_state_dir = afil_helpers.tiny_state_dir

OBS = Observation(timestamp=0.0, joint_positions=np.array([0.1, -0.2, 0.3, 0.0]), joint_velocities=np.zeros(4))


def _backend(
    model_dir: Path, seed: int | None, mode: GuidanceMode = GuidanceMode.NONE, noise: str = "chunk"
) -> AfilBackend:
    sampler = SamplerConfig.model_validate({"guidance": GuidanceConfig(mode=mode), "noise": noise})
    return make_backend(BackendConfig(model_dir=model_dir, backend="onnxruntime", sampler=sampler, seed=seed))


def _chunks(policy: AfilBackend, episode_seed: int, n: int = 3) -> np.ndarray:
    policy.reset()
    policy.seed_episode(episode_seed)
    return np.stack([policy.infer(OBS).actions for _ in range(n)])


def test_an_episode_draws_the_same_noise_whatever_ran_before(tiny_state_dir: Path) -> None:
    alone = _chunks(_backend(tiny_state_dir, seed=7), episode_seed=5)
    after_others = _backend(tiny_state_dir, seed=7)
    _chunks(after_others, episode_seed=3, n=5)
    np.testing.assert_array_equal(_chunks(after_others, episode_seed=5), alone)
    assert not np.allclose(_chunks(after_others, episode_seed=6), alone)  # another episode, other noise
    assert not np.allclose(_chunks(_backend(tiny_state_dir, seed=8), episode_seed=5), alone)  # another run seed


def test_settings_compared_on_one_episode_seed_share_their_noise(tiny_state_dir: Path) -> None:
    """Unguided and guided sampling start from the same noise: any difference is the guidance's."""
    unguided, guided = _backend(tiny_state_dir, 7), _backend(tiny_state_dir, 7, GuidanceMode.ADAPTIVE)
    for policy in (unguided, guided):
        policy.reset()
        policy.seed_episode(11)
    assert np.array_equal(unguided.encoder.noise(None, unguided.rng), guided.encoder.noise(None, guided.rng))


def test_without_a_seed_every_episode_gets_fresh_noise(tiny_state_dir: Path) -> None:
    first, second = _backend(tiny_state_dir, None), _backend(tiny_state_dir, None)
    assert not np.allclose(_chunks(first, episode_seed=5), _chunks(second, episode_seed=5))


@pytest.mark.parametrize("seed", [-1, 2**70])
def test_any_integer_seed_is_accepted(tiny_state_dir: Path, seed: int) -> None:
    assert np.all(np.isfinite(_chunks(_backend(tiny_state_dir, seed), episode_seed=-3)))


def test_the_loop_seeds_each_episode_with_its_episode_seed(tiny_state_dir: Path) -> None:
    """Through the control loop: episode seed 5 sends the same commands run first or after seed 3."""

    def commands(seeds: list[int]) -> list[np.ndarray]:
        policy = _backend(tiny_state_dir, seed=7)
        config = FakeRobotConfig(joint_names=tuple(f"joint_{i}" for i in range(4)), time_constant_s=0.0)
        sent: list[np.ndarray] = []
        with FakeRobot(config) as robot:
            loop = assemble_loop(
                robot,
                policy,
                loop=LoopConfig(max_steps=24),
                safety=SafetyConfig(),
                broker=BrokerConfig(execute_steps=8),
                prompt="",
            )
            for index, seed in enumerate(seeds):
                loop.run_episode(index, seed)
                sent.append(robot.get_observation().joint_positions.copy())
        return sent

    assert np.array_equal(commands([3, 5])[1], commands([5])[0])


def test_episode_noise_is_drawn_once_per_episode(tiny_state_dir: Path) -> None:
    """``sampler.noise = "episode"``: an episode's chunks share one draw (the same observation, the same chunk); the
    next episode draws its own, and the default draws afresh for every chunk."""
    per_episode = _backend(tiny_state_dir, seed=7, noise="episode")
    first = _chunks(per_episode, episode_seed=5)
    np.testing.assert_array_equal(first[1:], first[:1].repeat(2, axis=0))
    np.testing.assert_array_equal(_chunks(per_episode, episode_seed=5), first)  # reseeded: the same draw again
    assert not np.allclose(_chunks(per_episode, episode_seed=6)[0], first[0])
    per_chunk = _chunks(_backend(tiny_state_dir, seed=7), episode_seed=5)
    np.testing.assert_array_equal(per_chunk[0], first[0])  # the episode's first draw is the per-chunk sampler's first
    assert not np.allclose(per_chunk[1], per_chunk[0])
    given = np.zeros((per_episode.manifest.model.horizon, per_episode.manifest.model.action_dim), np.float32)
    assert not np.allclose(per_episode.infer(OBS, noise=given).actions, first[0])  # a caller's noise still wins
