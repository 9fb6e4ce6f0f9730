"""An exponential moving average of the weights: the average's arithmetic, what a checkpoint holds, what is
exported, and an exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from failforward.learn.config import TrainConfig
from failforward.learn.ema import WeightAverage
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.trainer import export_checkpoint, train
from failforward.policy.afil import get_model_preset
from failforward.policy.afil.weights import load_weights

torch.set_num_threads(1)
TINY = get_model_preset("tiny_state")


def episodes(n: int = 4, length: int = 20) -> list[EpisodeArrays]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        q = np.linspace(0.0, 1.0, length)[:, None] * rng.normal(1.0, 0.1, 4)
        out.append(EpisodeArrays(q, np.vstack([q[1:], q[-1:]]), "move", True, {}))
    return out


def test_the_average_follows_the_weights_with_a_warmed_up_decay() -> None:
    model = torch.nn.Linear(2, 1)
    average = WeightAverage(model, decay=0.9)
    assert average.rate(0) == pytest.approx(0.1) and average.rate(1000) == 0.9  # early steps count, then 0.9
    before = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    average.update(model, step=1000)
    torch.testing.assert_close(average.state_dict()["weight"], before + 0.1)  # 0.9 · old + 0.1 · new
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(model, decay=1.0)


def _config(tmp_path, steps: int, **kw) -> TrainConfig:
    return TrainConfig(model=TINY, out_dir=tmp_path, steps=steps, batch_size=8, lr=3e-3, checkpoint_every=5,
                       rtc_max_delay=0, seed=0, **kw)  # fmt: skip


def test_a_checkpoint_exports_its_average_not_its_last_iterate(tmp_path) -> None:
    result = train(_config(tmp_path / "train", 20, ema_decay=0.9), episodes(), progress=False)
    state = torch.load(result.checkpoint, weights_only=True)
    name = next(k for k, v in state["model"].items() if v.dtype.is_floating_point and v.numel() > 1)
    assert not torch.equal(state["ema"][name], state["model"][name])
    export_checkpoint(result.checkpoint, tmp_path / "model")
    exported, _ = load_weights(tmp_path / "model" / "weights.pt")
    torch.testing.assert_close(exported.state_dict()[name], state["ema"][name])
    plain = train(_config(tmp_path / "plain", 20), episodes(), progress=False)
    assert "ema" not in torch.load(plain.checkpoint, weights_only=True)  # off by default: the last iterate


def test_a_resumed_run_continues_the_average_exactly(tmp_path) -> None:
    straight = train(_config(tmp_path / "a", 20, ema_decay=0.9), episodes(), progress=False)
    train(_config(tmp_path / "b", 10, ema_decay=0.9), episodes(), progress=False)
    resumed = train(_config(tmp_path / "b", 20, ema_decay=0.9), episodes(), progress=False)
    a, b = (torch.load(r.checkpoint, weights_only=True)["ema"] for r in (straight, resumed))
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
