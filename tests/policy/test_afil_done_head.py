"""VINE's done head on the AFIL model: its focal loss, that training teaches it where a subgoal ends, its export as
the ``done`` graph, and every backend returning the same probability with each chunk."""

from __future__ import annotations

from pathlib import Path

import afil_helpers
import numpy as np
import pytest
import torch
from afil_helpers import tiny_state_dir  # noqa: F401 - session fixture

from failforward.learn.config import TrainConfig
from failforward.learn.dataset import ChunkDataset
from failforward.learn.done_loss import focal_loss
from failforward.learn.trainer import export_checkpoint, train
from failforward.policy.afil import signature as sig
from failforward.policy.afil.backends.registry import make_backend
from failforward.policy.afil.config import BackendConfig, GuidanceConfig, GuidanceMode, SamplerConfig, get_model_preset
from failforward.policy.afil.manifest import load_manifest
from failforward.types import Observation

DONE_MODEL = get_model_preset("tiny_state").model_copy(update={"done_head": True})
ENDED = 8  # the toy episodes' last ticks, labelled "ended"


def _labelled(episodes):
    """Success episodes: done = 1 on their last ``ENDED`` ticks (the arm at its goal), 0 before; failures: unknown."""
    out = []
    for e in episodes:
        labels = np.full(e.length, np.nan)
        if e.success:
            labels = (np.arange(e.length) >= e.length - ENDED).astype(float)
        out.append(type(e)(e.joint_positions, e.actions, e.prompt, e.success, done=labels))
    return out


def test_focal_loss_is_the_formula_and_ignores_unknown_labels():
    logits, labels = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 1.0])
    known = torch.tensor([True, True, False])
    p = torch.sigmoid(logits[:2])
    want = (-0.25 * (1 - p[0]) ** 2 * torch.log(p[0]) - 0.75 * p[1] ** 2 * torch.log(1 - p[1])) / 2
    assert torch.allclose(focal_loss(logits, labels, known), want)
    moved = logits.clone()
    moved[2] = -9.0  # the unknown sample's logit does not matter
    assert torch.equal(focal_loss(moved, labels, known), focal_loss(logits, labels, known))
    assert focal_loss(logits, labels, torch.zeros(3, dtype=torch.bool)) == 0


def test_batches_carry_done_labels_where_known():
    episodes = _labelled(afil_helpers.toy_episodes(n_success=2, n_failure=2))
    data = ChunkDataset(episodes, DONE_MODEL, ChunkDataset.fit_norm(episodes))
    picks = np.array([[0, 0], [0, episodes[0].length - 1], [2, 5]])
    batch = data.collate(picks)
    assert batch.done.tolist() == [0.0, 1.0, 0.0] and batch.done_known.tolist() == [True, True, False]


def _trained(tmp_path: Path, steps: int = 120) -> Path:
    episodes = _labelled(afil_helpers.toy_episodes(n_success=6, n_failure=2))
    config = TrainConfig(
        model=DONE_MODEL,
        out_dir=tmp_path / "run",
        steps=steps,
        batch_size=32,
        lr=3e-3,
        checkpoint_every=steps,
        rtc_max_delay=0,
        failure_fraction=0.25,
    )
    result = train(config, episodes, progress=False)
    out = tmp_path / "model"
    export_checkpoint(result.checkpoint, out, sampler=SamplerConfig(guidance=GuidanceConfig(mode=GuidanceMode.NONE)))
    return out


@pytest.fixture(scope="module")
def done_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _trained(tmp_path_factory.mktemp("done"))


def _backend(model_dir: Path, **kw):
    sampler = SamplerConfig(guidance=GuidanceConfig(mode=GuidanceMode.NONE))
    return make_backend(BackendConfig(model_dir=model_dir, threads=1, sampler=sampler, **kw))


def _at(q: float) -> Observation:
    """The toy arm at joint angle ``q`` [rad] (successes run from 0 to 1)."""
    return Observation(0.0, np.full(4, q), np.zeros(4))


def test_training_teaches_the_done_head_where_the_subgoal_ends(done_dir: Path):
    policy = _backend(done_dir, backend="torch")
    start, middle, end = (policy.infer(_at(q), prompt="move the arm").done for q in (0.0, 0.5, 1.0))
    assert start is not None and middle is not None and end is not None
    assert end > 0.5 > max(start, middle), (start, middle, end)


def test_the_done_graph_is_exported_and_every_backend_agrees(done_dir: Path):
    manifest = load_manifest(done_dir)
    assert sig.DONE in manifest.graphs and manifest.model.done_head
    assert [o.name for o in manifest.graphs[sig.DONE].outputs] == list(sig.DONE_OUTPUTS)
    eager = _backend(done_dir, backend="torch")
    for layout in ("fused", "split"):
        ort = _backend(done_dir, backend="onnxruntime", layout=layout)
        for q in (0.0, 0.7, 1.0):
            got, want = ort.infer(_at(q), prompt="move the arm"), eager.infer(_at(q), prompt="move the arm")
            assert got.done == pytest.approx(want.done, abs=1e-5)


def test_a_model_without_a_done_head_gives_no_done(tiny_state_dir: Path):  # noqa: F811
    assert sig.DONE not in load_manifest(tiny_state_dir).graphs
    chunk = _backend(tiny_state_dir, backend="onnxruntime").infer(_at(0.0), prompt="pick the cube")
    assert chunk.done is None
