"""AFIL policy latency per chunk (batch 1): torch eager vs onnxruntime, guided vs unguided.

Every variant runs once per round, round-robin, so all see the same machine load; the table gives
p50/p99 per chunk [ms] and ratios to torch eager (guided) and to the same backend unguided.
One CPU thread everywhere (ENVIRONMENT.md). CUDA / TensorRT rows are added when they can run.

Example:
    python bench/policy_latency.py --preset aloha_state --rounds 50
    python bench/policy_latency.py --preset aloha_vision --rounds 20 --json runs/bench/policy_latency.json
    python bench/policy_latency.py --precisions fp32 fp16   # on a GPU machine: CUDA and TensorRT rows
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from failforward.policy.afil import (
    BackendConfig,
    BackendUnavailableError,
    DualActionGenerator,
    GuidanceConfig,
    GuidanceMode,
    ManifestError,
    NormStats,
    SamplerConfig,
    get_model_preset,
    load_manifest,
    make_backend,
)
from failforward.policy.afil.export import export_model
from failforward.types import Observation

VARIANTS = [  # (label, kind, device, layout, guided)
    ("torch eager", "torch", "cpu", "fused", True),
    ("torch eager", "torch", "cpu", "fused", False),
    ("onnxruntime fused", "onnxruntime", "cpu", "fused", True),
    ("onnxruntime fused", "onnxruntime", "cpu", "fused", False),
    ("onnxruntime split", "onnxruntime", "cpu", "split", True),
    ("onnxruntime split", "onnxruntime", "cpu", "split", False),
    ("onnxruntime cuda fused", "onnxruntime", "cuda", "fused", True),
    ("onnxruntime cuda fused", "onnxruntime", "cuda", "fused", False),
    ("onnxruntime cuda fp16 fused", "onnxruntime", "cuda", "fused", True),
    ("tensorrt fp32 fused", "tensorrt", "cuda", "fused", True),
    ("tensorrt fp32 fused", "tensorrt", "cuda", "fused", False),
    ("tensorrt fp16 fused", "tensorrt", "cuda", "fused", True),
    ("torch cuda eager", "torch", "cuda", "fused", True),
]


def model_dir(args: argparse.Namespace, tmp: Path) -> Path:
    if args.model_dir:
        return args.model_dir
    torch.manual_seed(0)
    cfg = get_model_preset(args.preset)
    out = tmp / f"afil_{args.preset}"
    norm = NormStats.identity(cfg.state_dim, cfg.action_dim)
    export_model(DualActionGenerator(cfg), norm, out, precisions=tuple(args.precisions))
    return out


def backends(directory: Path) -> dict[tuple[str, bool], object]:
    built = {}
    for label, kind, device, layout, guided in VARIANTS:
        mode = GuidanceMode.ADAPTIVE if guided else GuidanceMode.NONE
        precision = "fp16" if "fp16" in label else "fp32"
        config = BackendConfig(
            backend=kind,
            model_dir=directory,
            device=device,
            layout=layout,
            precision=precision,
            threads=1,
            sampler=SamplerConfig(guidance=GuidanceConfig(mode=mode)),
        )
        try:
            built[(label, guided)] = make_backend(config)
        except (BackendUnavailableError, ManifestError) as exc:
            print(f"skip {label}: {exc}")
    return built


def observation(directory: Path) -> Observation:
    cfg = load_manifest(directory).model
    rng = np.random.default_rng(0)
    images = {c: rng.integers(0, 256, (cfg.image_height, cfg.image_width, 3), dtype=np.uint8) for c in cfg.cameras}
    return Observation(0.0, rng.normal(size=cfg.state_dim), np.zeros(cfg.state_dim), images=images)


def measure(built: dict, obs: Observation, rounds: int, warmup: int) -> dict[tuple[str, bool], np.ndarray]:
    times = {key: [] for key in built}
    noise = np.random.default_rng(1).standard_normal(
        next(iter(built.values())).encoder.noise(None, np.random.default_rng()).shape[1:]
    )
    for r in range(warmup + rounds):
        for key, policy in built.items():
            start = time.perf_counter()
            policy.infer(obs, prompt="transfer the cube", noise=noise)
            if r >= warmup:
                times[key].append(time.perf_counter() - start)
    return {key: np.asarray(t) * 1e3 for key, t in times.items()}


def report(times: dict, preset: str, threads: int) -> list[dict]:
    base = np.median(times[("torch eager", True)])
    rows = []
    print(f"\nAFIL {preset}: per-chunk latency at batch 1, {threads} thread(s), 10 Euler steps [ms]")
    print(
        f"{'backend':26s} {'guidance':9s} {'p50':>8s} {'p99':>8s} {'speed-up vs torch':>18s} {'guided/unguided':>16s}"
    )
    for (label, guided), t in times.items():
        p50, p99 = float(np.median(t)), float(np.percentile(t, 99))
        unguided = times.get((label, False))
        ratio = f"{p50 / np.median(unguided):.2f}x" if guided and unguided is not None else ""
        print(
            f"{label:26s} {'adaptive' if guided else 'none':9s} {p50:8.2f} {p99:8.2f} {base / p50:17.2f}x {ratio:>16s}"
        )
        rows.append({"backend": label, "guided": guided, "p50_ms": p50, "p99_ms": p99, "speedup_vs_torch": base / p50})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="aloha_state", help="model preset to export with random weights")
    parser.add_argument("--model-dir", type=Path, help="benchmark an existing exported model instead")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--precisions", nargs="+", default=["fp32"], choices=["fp32", "fp16"], help="graphs to export")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        directory = model_dir(args, Path(tmp))
        built = backends(directory)
        times = measure(built, observation(directory), args.rounds, args.warmup)
    rows = report(times, args.model_dir.name if args.model_dir else args.preset, 1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"preset": args.preset, "rounds": args.rounds, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
