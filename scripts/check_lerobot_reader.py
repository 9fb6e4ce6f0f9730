"""Load an exported dataset with LeRobot's own reader (the ``lerobot-dataset`` package) and compare it with pyarrow.

Run it in a separate virtual environment, not the project's (lerobot-dataset pins huggingface-hub<0.36, which
breaks sentence-transformers; see docs/lerobot_export.md):

    python -m venv /tmp/lerobot-venv
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/lerobot-venv/lib/python3.11/site-packages/zz_main.pth
    /tmp/lerobot-venv/bin/pip install lerobot-dataset torch==2.13.0
    /tmp/lerobot-venv/bin/python scripts/check_lerobot_reader.py DATASET_DIR

LeRobot's video decoders need torchvision (the PyPI wheel is a CUDA build that fails to load beside the CPU torch)
or torchcodec (needs system FFmpeg libraries), so this script stubs ``torchvision`` and decodes frames with PyAV,
at LeRobot's timestamps and tolerance; everything else is LeRobot's code, unmodified.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import torch


def _stub_torchvision() -> None:
    """Only what ledataset imports at module level (its transforms are not used here)."""
    module = types.ModuleType("torchvision")
    module.__spec__ = importlib.machinery.ModuleSpec("torchvision", None)
    module.transforms = types.SimpleNamespace(ToTensor=object)  # type: ignore[attr-defined]
    module.set_video_backend = lambda backend: None  # type: ignore[attr-defined]
    sys.modules["torchvision"] = module


def decode_with_pyav(video_path, timestamps, tolerance_s, backend=None):
    """LeRobot's contract: float32 ``[N, 3, H, W]`` in [0, 1], the frames nearest ``timestamps`` within tolerance."""
    with av.open(str(video_path)) as container:
        stream = container.streams.video[0]
        decoded = [
            (float(frame.pts * stream.time_base), frame.to_ndarray(format="rgb24"))
            for frame in container.decode(stream)
        ]
    times = np.array([t for t, _ in decoded])
    picks = [int(np.abs(times - t).argmin()) for t in timestamps]
    gaps = [abs(times[i] - t) for i, t in zip(picks, timestamps, strict=True)]
    assert max(gaps) < tolerance_s, f"no frame within {tolerance_s} s of {timestamps} (gaps {gaps})"
    return torch.from_numpy(np.stack([decoded[i][1] for i in picks])).permute(0, 3, 1, 2).float() / 255


def main(root: Path) -> None:
    _stub_torchvision()
    from ledataset.datasets import lerobot_dataset

    lerobot_dataset.decode_video_frames = decode_with_pyav
    fps = lerobot_dataset.LeRobotDatasetMetadata("failforward/check", root=root).fps
    dataset = lerobot_dataset.LeRobotDataset(
        "failforward/check", root=root, delta_timestamps={"action": [0.0, 1 / fps]}
    )
    data = pq.read_table(sorted((root / "data").rglob("*.parquet"))[0]).to_pylist()
    print(
        f"LeRobotDataset: {dataset.num_episodes} episodes, {len(dataset)} frames, fps {dataset.fps}, "
        f"tasks {list(dataset.meta.tasks.index)}, cameras {dataset.meta.video_keys}"
    )
    print("episodes:", [(e["episode_index"], e["success"], e["stage"], e["reason"]) for e in dataset.meta.episodes])
    for index in range(len(dataset)):
        item, row = dataset[index], data[index]
        assert np.array_equal(item["observation.state"].numpy(), np.float32(row["observation.state"]))
        assert item["task"] == dataset.meta.tasks.index[row["task_index"]]
        assert bool(item["next.success"]) == row["next.success"] and int(item["index"]) == row["index"]
        for key in dataset.meta.video_keys:
            assert item[key].shape == (3, *dataset.meta.features[key]["shape"][:2])
    print(f"all {len(dataset)} items match the parquet rows; stats keys {sorted(dataset.meta.stats)[:4]}...")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
