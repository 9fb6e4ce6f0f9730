"""Derived state features: the ALOHA's tool points and each object's offset from them, the same in training and at
run time."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.kinematics.aloha_ik import START_ARMS, AlohaIK
from failforward.learn.config import TrainConfig
from failforward.learn.dataset import ChunkDataset
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.trainer import export_checkpoint, train
from failforward.policy.afil import BackendConfig, get_model_preset, make_backend
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.state_features import ALOHA_ARM_COLUMNS, aloha_tool_points, model_state
from failforward.sim.tasks import get_task
from failforward.types import Observation

FEATURES = ("aloha_tool_offsets",)
MODEL = get_model_preset("tiny_state").model_copy(
    update={"action_dim": 14, "state_dim": 14 + 7, "state_features": FEATURES}
)


def aloha_states(rng: np.random.Generator, rows: int) -> np.ndarray:
    """``[rows, 21]``: ALOHA joints near the start pose (grippers open), then one object's pose."""
    joints = np.zeros((rows, 14))
    joints[:, list(ALOHA_ARM_COLUMNS)] = START_ARMS + rng.normal(0.0, 0.3, (rows, 12))
    joints[:, [6, 13]] = 1.0
    pose = np.c_[rng.uniform(-0.2, 0.2, (rows, 2)), np.full(rows, 0.02), np.tile([1.0, 0, 0, 0], (rows, 1))]
    return np.c_[joints, pose]


def test_tool_points_are_the_ik_models_forward_kinematics() -> None:
    arms = aloha_states(np.random.default_rng(0), 20)[:, list(ALOHA_ARM_COLUMNS)]
    ik = AlohaIK(get_task("plug_strip").xml_path)
    for row, points in zip(arms, aloha_tool_points(arms), strict=True):
        poses = ik.tool_poses(row)
        np.testing.assert_allclose(points, np.r_[poses["left"].translation(), poses["right"].translation()], atol=1e-9)


def test_offsets_are_the_objects_position_minus_each_tool_point() -> None:
    states = aloha_states(np.random.default_rng(1), 5)
    out = model_state(states, FEATURES)
    assert out.shape == (5, 21 + 6 + 6) == (5, MODEL.input_state_dim)
    np.testing.assert_array_equal(out[:, :21], states)
    tools, offsets = out[:, 21:27], out[:, 27:]
    np.testing.assert_allclose(offsets[:, :3], states[:, 14:17] - tools[:, :3])
    np.testing.assert_allclose(offsets[:, 3:], states[:, 14:17] - tools[:, 3:])
    np.testing.assert_allclose(model_state(states[2], FEATURES), out[2])  # one observation as a batch row
    assert model_state(states, ()) is states


def test_joint_offsets_bring_each_tool_to_a_nearby_object() -> None:
    rng = np.random.default_rng(2)
    states = aloha_states(rng, 6)
    tools = aloha_tool_points(states[:, list(ALOHA_ARM_COLUMNS)])
    for side in (0, 1):
        delta = rng.uniform(-0.02, 0.02, (6, 3))
        states[:, 14:17] = tools[:, 3 * side : 3 * side + 3] + delta  # the object 2 cm or less from this tool
        out = model_state(states, ("aloha_joint_offsets",))
        assert out.shape == (6, 21 + 12)
        moved = states[:, list(ALOHA_ARM_COLUMNS)].copy()
        moved[:, 6 * side : 6 * side + 6] += out[:, 21 + 6 * side : 27 + 6 * side]
        reached = aloha_tool_points(moved)[:, 3 * side : 3 * side + 3]
        miss = np.linalg.norm(reached - states[:, 14:17], axis=1)
        assert np.all(miss < 0.25 * np.linalg.norm(delta, axis=1))  # first order: far closer than before


@pytest.mark.parametrize("dims", [{"action_dim": 4, "state_dim": 4}, {"action_dim": 14, "state_dim": 20}])
def test_a_feature_that_does_not_fit_the_robot_is_refused(dims: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="aloha_tool_offsets"):
        AfilModelConfig.model_validate({**MODEL.model_dump(), **dims})


def test_a_model_trained_with_features_computes_them_at_run_time(tmp_path) -> None:
    rng = np.random.default_rng(2)
    episodes = []
    for k in range(4):
        states = aloha_states(rng, 20)
        episodes.append(EpisodeArrays(states[:, :14], states[:, :14], "reach", k < 2, object_state=states[:, 14:]))
    norm = ChunkDataset.fit_norm(episodes, MODEL)
    assert norm.state_mean.shape == (MODEL.input_state_dim,)
    batch = ChunkDataset(episodes, MODEL, norm).collate(np.array([[1, 3]]))
    np.testing.assert_allclose(
        batch.state[0], norm.normalize_state(model_state(episodes[1].state[3], FEATURES)), atol=1e-6
    )

    config = TrainConfig(model=MODEL, out_dir=tmp_path / "run", steps=2, batch_size=4, rtc_max_delay=0)
    export_checkpoint(train(config, episodes, progress=False).checkpoint, tmp_path / "model")
    policy = make_backend(BackendConfig(backend="onnxruntime", model_dir=tmp_path / "model", seed=0))
    state = episodes[1].state[3]
    obs = Observation(0.0, state[:14], np.zeros(14), object_state=state[14:])
    inputs = policy.encoder.encode(obs, "reach")
    np.testing.assert_allclose(inputs["state"][0], batch.state[0], atol=1e-6)
    assert policy.infer(obs, prompt="reach").actions.shape == (MODEL.horizon, 14)


def test_robust_state_norm_keeps_the_scale_of_a_dimension_that_is_sometimes_parked() -> None:
    rng = np.random.default_rng(3)
    episodes = []
    for k in range(6):
        states = aloha_states(rng, 30)
        if k < 2:  # the object is absent: parked far away, as the plug strip parks a missing plug
            states[:, 14:21] = [0.0, 1.6, -0.5, 1.0, 0.0, 0.0, 0.0]
        episodes.append(EpisodeArrays(states[:, :14], states[:, :14], "reach", True, object_state=states[:, 14:]))
    plain = ChunkDataset.fit_norm(episodes, MODEL)
    robust = ChunkDataset.fit_norm(episodes, MODEL.model_copy(update={"state_norm": "robust"}))
    present = np.concatenate([e.object_state[:, 1] for e in episodes[2:]])  # the object's y where it is on the table
    assert plain.state_std[15] > 2 * present.std()  # the parked pose sets the scale
    assert robust.state_std[15] == pytest.approx(present.std(), rel=0.1)
    assert robust.state_mean[15] == pytest.approx(present.mean(), abs=0.1 * present.std())
    np.testing.assert_allclose(robust.state_std[:14], plain.state_std[:14], rtol=0.2)  # unimodal joints barely move


def test_socket_offsets_are_each_prong_tip_minus_each_socket_mouth_as_the_task_measures_them() -> None:
    from failforward.sim.plug_strip_layout import OBJECTS
    from failforward.sim.plug_strip_status import prong_tip, socket_mouth

    rng = np.random.default_rng(4)
    states = np.c_[aloha_states(rng, 6)[:, :14], np.zeros((6, 21))]
    for k in range(len(OBJECTS)):
        states[:, 14 + 7 * k : 17 + 7 * k] = rng.uniform([-0.3, -0.3, -0.2], 0.6, (6, 3))  # present: above parked
        states[:, 17 + 7 * k : 21 + 7 * k] = rng.normal(size=(6, 4)) * rng.uniform(0.5, 2.0, (6, 1))  # not unit
    out = model_state(states, ("plug_strip_socket_offsets",))
    assert out.shape == (6, 35 + 18)
    offsets = out[:, 35:].reshape(6, 2, 3, 3)
    for t, row in enumerate(states):
        strip, plugs = row[14:21], (row[21:28], row[28:35])
        for p, plug in enumerate(plugs):
            for i in range(3):
                np.testing.assert_allclose(offsets[t, p, i], prong_tip(plug) - socket_mouth(strip, i), atol=1e-12)


def test_socket_offsets_are_refused_for_a_state_that_is_not_the_plug_strips() -> None:
    with pytest.raises(ValueError, match="plug_strip_socket_offsets"):
        AfilModelConfig.model_validate({**MODEL.model_dump(), "state_features": ("plug_strip_socket_offsets",)})


def test_an_absent_plug_has_zero_socket_offsets() -> None:
    from failforward.sim.plug_strip_layout import PARKED

    rng = np.random.default_rng(5)
    states = np.c_[aloha_states(rng, 4)[:, :14], np.tile([0.0, 0.6, 0.02, 1, 0, 0, 0], (4, 1)), np.zeros((4, 14))]
    states[:, 21:28] = [0.1, 0.45, 0.03, 1, 0, 0, 0]  # plug_a on the table
    states[:, 28:35] = PARKED  # plug_b absent
    offsets = model_state(states, ("plug_strip_socket_offsets",))[:, 35:].reshape(4, 2, 3, 3)
    assert np.all(offsets[:, 1] == 0.0)
    assert np.all(np.abs(offsets[:, 0]).max(axis=(1, 2)) > 0.1)  # the present plug is centimetres from every socket
