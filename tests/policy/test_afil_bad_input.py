"""Bad input gets a typed error naming what is wrong, never a chunk of garbage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import afil_helpers
import numpy as np
import pytest

from failforward.errors import PolicyError, ShapeError
from failforward.policy.afil import BackendConfig, ManifestError, ObservationError, SamplerConfig, make_backend
from failforward.symbols.types import Crosshair
from failforward.symbols.vsf import vsf_observation
from failforward.types import Observation

tiny_state_dir = afil_helpers.tiny_state_dir  # session fixtures: exported tiny models
tiny_vision_dir = afil_helpers.tiny_vision_dir
tiny_vision_conv_dir = afil_helpers.tiny_vision_conv_dir


@pytest.fixture(scope="module")
def vision_policy(tiny_vision_dir):
    return make_backend(BackendConfig(backend="onnxruntime", model_dir=tiny_vision_dir))


def _obs(images: dict[str, np.ndarray], q: np.ndarray | None = None) -> Observation:
    q = np.zeros(4) if q is None else q
    return Observation(0.0, q, np.zeros_like(q), images=images)


def _images(*names: str, shape=(32, 32, 3)) -> dict[str, np.ndarray]:
    """Valid (mid-grey) frames; an all-black frame is refused as a dead camera."""
    return {n: np.full(shape, 100, np.uint8) for n in names}


CONV_CAMERAS = ("top", "left_wrist", "right_wrist")


@pytest.fixture(scope="module", params=["torch", "onnxruntime"])
def conv_policy(tiny_vision_conv_dir, request):
    return make_backend(BackendConfig(backend=request.param, model_dir=tiny_vision_conv_dir))


def test_conv_vision_policy_acts_on_valid_frames(conv_policy):
    chunk = conv_policy.infer(_obs(_images(*CONV_CAMERAS, shape=(24, 32, 3))), prompt="pick")
    assert chunk.actions.shape == (8, 4) and np.all(np.isfinite(chunk.actions))


@pytest.mark.parametrize("level", [0, 8])
def test_black_frame_is_refused(conv_policy, level):
    images = _images(*CONV_CAMERAS, shape=(24, 32, 3))
    images["left_wrist"] = np.full((24, 32, 3), level, np.uint8)
    with pytest.raises(ObservationError, match="'left_wrist' frame is black"):
        conv_policy.infer(_obs(images))


def test_a_camera_the_runtime_blanked_on_purpose_is_not_a_dead_camera(conv_policy):
    """VSF zeroes the idle arm's wrist camera (``vsf_observation``); the policy acts on that view, and still
    refuses a black camera that was not blanked."""
    images = _images(*CONV_CAMERAS, shape=(24, 32, 3))
    seen = vsf_observation(_obs(images), [Crosshair(position=(10.0, 10.0))], {"right"})
    assert not seen.images["left_wrist"].any()
    assert np.all(np.isfinite(conv_policy.infer(seen, prompt="move").actions))
    images["right_wrist"] = np.zeros((24, 32, 3), np.uint8)
    with pytest.raises(ObservationError, match="'right_wrist' frame is black"):
        conv_policy.infer(vsf_observation(_obs(images), [Crosshair(position=(10.0, 10.0))], {"right"}))


def test_dim_but_not_black_frame_is_accepted(conv_policy):
    images = _images(*CONV_CAMERAS, shape=(24, 32, 3))
    images["top"] = np.zeros((24, 32, 3), np.uint8)
    images["top"][5, 7, 0] = 9  # one pixel above the black level: a dark scene, not a dead camera
    assert np.all(np.isfinite(conv_policy.infer(_obs(images)).actions))


def test_conv_policy_refuses_wrong_frame_size_and_missing_camera(conv_policy):
    with pytest.raises(ShapeError, match="set the camera resolution to 32x24"):
        conv_policy.infer(_obs(_images(*CONV_CAMERAS, shape=(32, 32, 3))))
    with pytest.raises(ObservationError, match="Missing camera"):
        conv_policy.infer(_obs(_images("top", "left_wrist", shape=(24, 32, 3))))


def test_valid_observation_works(vision_policy):
    chunk = vision_policy.infer(_obs(_images("top", "left_wrist")), prompt="pick")
    assert chunk.actions.shape == (8, 4) and np.isfinite(chunk.actions).all()


def test_missing_camera_is_named(vision_policy):
    with pytest.raises(ObservationError, match=r"Missing camera\(s\) \['left_wrist'\]"):
        vision_policy.infer(_obs(_images("top")))


def test_wrong_image_shape_is_named(vision_policy):
    images = {**_images("top"), **_images("left_wrist", shape=(48, 32, 3))}
    with pytest.raises(ShapeError, match=r"'left_wrist'.*32x32"):
        vision_policy.infer(_obs(images))


def test_nan_state_names_the_joint(vision_policy):
    with pytest.raises(ObservationError, match=r"joints \[2\]"):
        vision_policy.infer(_obs(_images("top", "left_wrist"), np.array([0, 0, np.nan, 0.0])))


def test_wrong_state_length(vision_policy):
    with pytest.raises(ShapeError, match=r"\[4\]"):
        vision_policy.infer(_obs(_images("top", "left_wrist"), np.zeros(5)))


def test_too_long_prompt_says_the_limit(vision_policy):
    with pytest.raises(ObservationError, match="at most 6"):
        vision_policy.infer(_obs(_images("top", "left_wrist")), prompt="one two three four five six seven")


def test_bad_noise(vision_policy):
    with pytest.raises(ShapeError, match=r"\[8, 4\]"):
        vision_policy.infer(_obs(_images("top", "left_wrist")), noise=np.zeros((8, 5)))
    with pytest.raises(ObservationError):
        vision_policy.infer(_obs(_images("top", "left_wrist")), noise=np.full((8, 4), np.nan))


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("kind", ["torch", "onnxruntime"])
def test_changed_file_is_refused(tiny_state_dir, tmp_path, kind):
    model_dir = _copy(tiny_state_dir, tmp_path)
    with (model_dir / "weights.pt").open("ab") as f:
        f.write(b"\0")
    with pytest.raises(ManifestError, match=r"weights.pt sha256"):
        make_backend(BackendConfig(backend=kind, model_dir=model_dir))


def test_missing_file_is_refused(tiny_state_dir, tmp_path):
    model_dir = _copy(tiny_state_dir, tmp_path)
    (model_dir / "sampler_guided.onnx").unlink()
    with pytest.raises(ManifestError, match=r"sampler_guided.onnx is listed"):
        make_backend(BackendConfig(model_dir=model_dir))


def test_manifest_signature_mismatch_names_the_tensor(tiny_state_dir, tmp_path):
    model_dir = _copy(tiny_state_dir, tmp_path)
    data = json.loads((model_dir / "manifest.json").read_text())
    data["graphs"]["sampler_guided"]["inputs"][3]["shape"] = [1, 8, 5]
    (model_dir / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=r"sampler_guided .*inputs.*name='noise'.*shape=\(1, 8, 5\)"):
        make_backend(BackendConfig(model_dir=model_dir))


def test_manifest_config_mismatch_is_refused_by_torch(tiny_state_dir, tmp_path):
    model_dir = _copy(tiny_state_dir, tmp_path)
    data = json.loads((model_dir / "manifest.json").read_text())
    data["norm"]["action_std"][0] = 9.0
    (model_dir / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="norm stats differ"):
        make_backend(BackendConfig(backend="torch", model_dir=model_dir))


def test_no_manifest(tmp_path):
    with pytest.raises(ManifestError, match=r"No manifest.json"):
        make_backend(BackendConfig(model_dir=tmp_path))


def test_fused_layout_needs_matching_steps(tiny_state_dir):
    with pytest.raises(ManifestError, match=r"num_steps=10.*asks for 4.*split"):
        make_backend(BackendConfig(model_dir=tiny_state_dir, sampler=SamplerConfig(num_steps=4)))
    split = make_backend(BackendConfig(model_dir=tiny_state_dir, layout="split", sampler=SamplerConfig(num_steps=4)))
    assert split.infer(_obs({})).guidance.shape == (4,)


def test_all_errors_are_policy_errors():
    assert issubclass(ManifestError, PolicyError) and issubclass(ObservationError, PolicyError)
