"""AFIL policy latency per chunk (batch 1): torch eager vs onnxruntime, guided vs unguided.

Every variant runs once per round, round-robin, so all see the same machine load; the table gives
p50/p99 per chunk [ms] and ratios to torch eager (guided) and to the same backend unguided. In the same
rounds the parts are timed on their own (backbone once per chunk; one expert step with both heads and
with the success head only), which explains the guided/unguided ratio: ``(B + N·e₂) / (B + N·e₁)``.
One CPU thread everywhere (ENVIRONMENT.md). CUDA / TensorRT rows are added when they can run.

Example:
    python bench/policy_latency.py --preset aloha_state --rounds 50
    python bench/policy_latency.py --preset aloha_vision --rounds 20 --json runs/bench/policy_latency.json
    python bench/policy_latency.py --preset aloha_vision_cpu --rounds 30   # the CPU image model (conv encoder)
    python bench/policy_latency.py --precisions fp32 fp16   # on a GPU machine: CUDA and TensorRT rows
    # a π0-like proportion (large backbone, small experts): the presets stay as they are
    python bench/policy_latency.py --preset aloha_vision --set backbone_layers=12 image_height=224 image_width=224
    # trained models side by side in the same rounds (e.g. a light failure head, issue 17 item 3), onnxruntime only
    python bench/policy_latency.py --model-dir models/afil_aloha_transfer_cube models/afil_aloha_transfer_cube_light \
        --backends onnxruntime --guided-target 1.25 --rounds 100
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from failforward.learn.models import get_learn_model
from failforward.policy.afil import (
    BackendConfig,
    BackendUnavailableError,
    DualActionGenerator,
    GuidanceConfig,
    GuidanceMode,
    ManifestError,
    NormStats,
    SamplerConfig,
    load_manifest,
    make_backend,
)
from failforward.policy.afil import signature as sig
from failforward.policy.afil.backbone import SmallPrefixEncoder
from failforward.policy.afil.config import AfilModelConfig
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


NUM_STEPS = 10
GUIDED_TARGET, BACKEND_TARGET = 1.10, 1.5  # issue 3: guided/unguided <= 1.10x, onnxruntime vs torch >= 1.5x


def model_config(preset: str, overrides: list[str]) -> AfilModelConfig:
    """The preset (an AFIL preset or a learning model such as ``aloha_vision_cpu``) with ``key=value`` overrides
    (ints, or comma-separated camera names for ``cameras``)."""
    fields: dict[str, object] = {}
    for item in overrides:
        key, _, value = item.partition("=")
        fields[key] = tuple(v for v in value.split(",") if v) if key == "cameras" else int(value)
    return AfilModelConfig.model_validate({**get_learn_model(preset).model_dump(), **fields})


def model_dir(args: argparse.Namespace, tmp: Path) -> Path:
    if args.model_dir:
        return args.model_dir
    torch.manual_seed(0)
    cfg = model_config(args.preset, args.set)
    out = tmp / f"afil_{args.preset}"
    norm = NormStats.identity(cfg.state_dim, cfg.action_dim)
    export_model(DualActionGenerator(cfg), norm, out, precisions=tuple(args.precisions))
    return out


def backends(directory: Path, kinds: tuple[str, ...] | None = None) -> dict[tuple[str, bool], object]:
    """Every variant that can run here (of backend ``kinds`` only, when given), keyed by (label, guided)."""
    built = {}
    for label, kind, device, layout, guided in VARIANTS:
        if kinds is not None and kind not in kinds:
            continue
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


Probe = Callable[[], object]


def chunk_probes(built: dict, obs: Observation) -> dict[tuple[str, bool], Probe]:
    """One full ``infer`` per backend variant (what the robot loop pays per chunk)."""
    noise = np.random.default_rng(1).standard_normal(
        next(iter(built.values())).encoder.noise(None, np.random.default_rng()).shape[1:]
    )
    return {
        key: (lambda p=policy: p.infer(obs, prompt="transfer the cube", noise=noise)) for key, policy in built.items()
    }


def part_probes(built: dict, obs: Observation) -> dict[str, Probe]:
    """The parts of a chunk on their own: backbone (+ prefix K/V) once, one expert step with 2 heads / 1 head."""
    probes: dict[str, Probe] = {}
    split = built.get(("onnxruntime split", True))
    if split is not None:
        inputs = {**split.encoder.encode(obs, "transfer the cube"), "noise": split.encoder.noise(None, split.rng)}
        names = [o.name for o in split.manifest.graphs[sig.BACKBONE].outputs]  # + failure_keys/values: light head
        cache = dict(zip(names, split.run_graph(sig.BACKBONE, inputs), strict=True))
        step = {"x": inputs["noise"], "tau": np.full((1,), 0.5, np.float32), **cache, **split.prefix_inputs(None, obs)}
        probes["onnxruntime backbone graph"] = lambda: split.run_graph(sig.BACKBONE, inputs)
        probes["onnxruntime expert step, 2 heads"] = lambda: split.run_graph(sig.EXPERTS, step)
        unguided = built.get(("onnxruntime split", False))
        if unguided is not None and sig.SUCCESS_EXPERT in unguided.stems:
            probes["onnxruntime expert step, 1 head"] = lambda: unguided.run_graph(sig.SUCCESS_EXPERT, step)
    eager = built.get(("torch eager", True))
    if eager is not None:
        probes.update(_torch_parts(eager, obs))
    return probes


def _torch_parts(backend, obs: Observation) -> dict[str, Probe]:
    model = backend.model
    x = {k: torch.from_numpy(v) for k, v in backend.encoder.encode(obs, "transfer the cube").items()}
    noise = torch.from_numpy(backend.encoder.noise(None, backend.rng))
    tau = torch.full((1,), 0.5)

    @torch.inference_mode()
    def encode(experts: int = 2):
        return model.experts.cache(model.encode(x["state"], x, x.get("images")), experts)

    caches = {e: encode(e) for e in (1, 2)}
    step = torch.inference_mode()(lambda e: model.experts(noise, tau, caches[e], e))
    probes: dict[str, Probe] = {
        "torch backbone + prefix K/V": encode,
        "torch expert step, 2 heads": lambda: step(2),
        "torch expert step, 1 head": lambda: step(1),
    }
    backbone = model.backbone
    if isinstance(backbone, SmallPrefixEncoder) and backbone.images is not None:  # the camera encoder alone
        encoder = backbone.images  # (part of the backbone timed above)
        probes["torch image encoder (all cameras)"] = torch.inference_mode()(lambda: encoder(x["images"]))
    return probes


class Timing(NamedTuple):
    """Per-call times [ms] of one probe: wall clock, and CPU time of the calling thread.

    At one thread both runtimes compute on the calling thread, so the CPU time is the work itself
    without the time the OS gave to other processes (a shared, loaded machine); wall p50/p99 are what
    a robot loop sees. For GPU rows the CPU time is only the host's part.
    """

    wall: np.ndarray
    cpu: np.ndarray


def measure(probes: dict, rounds: int, warmup: int) -> dict:
    """Round-robin: every probe once per round; returns its :class:`Timing`."""
    wall: dict = {key: [] for key in probes}
    cpu: dict = {key: [] for key in probes}
    for r in range(warmup + rounds):
        for key, probe in probes.items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            probe()
            if r >= warmup:
                wall[key].append(time.perf_counter() - start)
                cpu[key].append(time.thread_time() - start_cpu)
    return {key: Timing(np.asarray(wall[key]) * 1e3, np.asarray(cpu[key]) * 1e3) for key in probes}


def _p50(t: np.ndarray) -> float:
    return float(np.median(t))


def report(times: dict, preset: str, threads: int) -> list[dict]:
    eager = times.get(("torch eager", True))
    base = _p50(eager.wall) if eager is not None else float("nan")
    rows = []
    print(f"\nAFIL {preset}: per-chunk latency at batch 1, {threads} thread(s), {NUM_STEPS} Euler steps [ms]")
    print(f"{'':36s} {'wall clock':^26s} {'cpu':^17s}")
    head = f"{'backend':26s} {'guidance':9s} {'p50':>8s} {'p95':>8s} {'p99':>8s} {'p50':>8s} {'p95':>8s}"
    print(f"{head} {'vs torch (guided)':>18s} {'guided/unguided (wall, cpu)':>28s}")
    for (label, guided), t in times.items():
        p50, p95, p99 = _p50(t.wall), float(np.percentile(t.wall, 95)), float(np.percentile(t.wall, 99))
        cpu, cpu95 = _p50(t.cpu), float(np.percentile(t.cpu, 95))
        unguided = times.get((label, False))
        ratio = ""
        if guided and unguided is not None:
            ratio = f"{p50 / _p50(unguided.wall):.2f}x, {cpu / _p50(unguided.cpu):.2f}x"
        mode = "adaptive" if guided else "none"
        vs_torch = f"{base / p50:.2f}x" if eager is not None else "–"
        print(
            f"{label:26s} {mode:9s} {p50:8.2f} {p95:8.2f} {p99:8.2f} {cpu:8.2f} {cpu95:8.2f} {vs_torch:>18s}"
            f" {ratio:>28s}"
        )
        row = {"backend": label, "guided": guided, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99}
        rows.append({**row, "cpu_p50_ms": cpu, "cpu_p95_ms": cpu95, "vs_torch": base / p50})
    return rows


def report_parts(parts: dict, chunks: dict, steps: int, target: float = GUIDED_TARGET) -> dict[str, float]:
    """Print the parts' CPU-time p50 and what they imply for the guided/unguided ratio; returns them [ms].

    Per-step costs are given twice: timed alone (one graph call, including its call overhead) and
    inside the fused chunk, ``(chunk − backbone) / N``.
    """
    p50 = {key: _p50(t.cpu) for key, t in parts.items()}
    print("\nParts of a chunk, timed alone in the same rounds (p50 [ms]: cpu, wall)")
    for key, t in parts.items():
        print(f"  {key:36s} {p50[key]:8.3f} {_p50(t.wall):8.3f}")
    for prefix, chunk in (("onnxruntime", "onnxruntime fused"), ("torch", "torch eager")):
        backbone = p50.get(f"{prefix} backbone graph", p50.get(f"{prefix} backbone + prefix K/V"))
        e2, e1 = p50.get(f"{prefix} expert step, 2 heads"), p50.get(f"{prefix} expert step, 1 head")
        if None in (backbone, e2, e1) or (chunk, True) not in chunks:
            continue
        in2, in1 = ((_p50(chunks[(chunk, g)].cpu) - backbone) / steps for g in (True, False))
        needed = steps * (in2 - target * in1) / (target - 1.0)
        print(
            f"  {prefix} (cpu): backbone B = {backbone:.2f} ms; expert step alone e2 = {e2:.2f}, e1 = {e1:.2f} ms"
            f" (e2/e1 = {e2 / e1:.2f}); inside the {chunk} chunk e2 = {in2:.2f}, e1 = {in1:.2f} ms"
            f" (e2/e1 = {in2 / in1:.2f}); B = {backbone / (backbone + steps * in1):.0%} of unguided;"
            f" <= {target:.2f}x needs B >= {needed:.0f} ms ({needed / backbone:.0f}x this backbone)"
        )
    return p50


def report_targets(times: dict, target: float = GUIDED_TARGET) -> dict[str, float]:
    """The issue's two CPU ratios, p50 over p50 (wall clock; cpu time in brackets), with met / not met."""
    wall = {key: _p50(t.wall) for key, t in times.items()}
    cpu = {key: _p50(t.cpu) for key, t in times.items()}
    out = {}
    print()
    for label in ("onnxruntime fused", "onnxruntime split", "torch eager"):
        if (label, True) in wall and (label, False) in wall:
            ratio, ratio_cpu = (m[(label, True)] / m[(label, False)] for m in (wall, cpu))
            out[f"guided_over_unguided[{label}]"], out[f"guided_over_unguided_cpu[{label}]"] = ratio, ratio_cpu
            verdict = ("met" if ratio <= target else "NOT met") if label == "onnxruntime fused" else "info"
            print(
                f"guided / unguided, {label:18s}: {ratio:.2f}x [cpu {ratio_cpu:.2f}x]"
                f"  (target <= {target:.2f}x: {verdict})"
            )
    if ("onnxruntime fused", True) in wall and ("torch eager", True) in wall:
        key, ort = ("torch eager", True), ("onnxruntime fused", True)
        out["ort_fused_vs_torch"], out["ort_fused_vs_torch_cpu"] = wall[key] / wall[ort], cpu[key] / cpu[ort]
        verdict = "met" if out["ort_fused_vs_torch"] >= BACKEND_TARGET else "NOT met"
        print(
            f"onnxruntime fused vs torch eager (guided): {out['ort_fused_vs_torch']:.2f}x"
            f" [cpu {out['ort_fused_vs_torch_cpu']:.2f}x]  (target >= {BACKEND_TARGET:.1f}x: {verdict})"
        )
    return out


def _tagged(tag: str, probes: dict) -> dict:
    """Probe keys prefixed with the model's name (``"<tag>: <label>"``), so several models share one round."""
    if not tag:
        return probes
    return {((f"{tag}: {k[0]}", k[1]) if isinstance(k, tuple) else f"{tag}: {k}"): p for k, p in probes.items()}


def _untagged(tag: str, times: dict, keys: dict) -> dict:
    """The times of one model's probes (``keys``, untagged), under their own labels again."""
    tagged = _tagged(tag, dict.fromkeys(keys))
    return {key: times[t] for key, t in zip(keys, tagged, strict=True)}


def _report_model(args: argparse.Namespace, name: str, times: dict, chunks: dict, parts: dict, config) -> dict:
    """Print one model's tables and return its JSON result."""
    rows = report({k: times[k] for k in chunks}, name, 1)
    part_p50 = report_parts({k: times[k] for k in parts}, {k: times[k] for k in chunks}, NUM_STEPS, args.guided_target)
    targets = report_targets({k: times[k] for k in chunks}, args.guided_target)
    result = {"preset": name, "model": config.model_dump(mode="json"), "rounds": args.rounds, "rows": rows}
    return {**result, "parts_p50_ms": part_p50, "ratios": targets, "guided_target": args.guided_target}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="aloha_state", help="model preset to export with random weights")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override preset fields")
    parser.add_argument("--model-dir", type=Path, nargs="+", help="benchmark exported models instead, side by side")
    parser.add_argument("--backends", nargs="+", choices=["torch", "onnxruntime", "tensorrt"], help="only these")
    parser.add_argument("--guided-target", type=float, default=GUIDED_TARGET, help="guided/unguided target [x]")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--precisions", nargs="+", default=["fp32"], choices=["fp32", "fp16"], help="graphs to export")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        directories = args.model_dir or [model_dir(args, Path(tmp))]
        probes, per_model = {}, []
        for directory in directories:
            tag = directory.name if len(directories) > 1 else ""
            built = backends(directory, tuple(args.backends) if args.backends else None)
            obs = observation(directory)
            chunks, parts = chunk_probes(built, obs), part_probes(built, obs)
            probes.update({**_tagged(tag, chunks), **_tagged(tag, parts)})
            per_model.append((directory, tag, chunks, parts, load_manifest(directory).model))
        times = measure(probes, args.rounds, args.warmup)
    results = []
    for directory, tag, chunks, parts, config in per_model:
        name = directory.name if args.model_dir else " ".join([args.preset, *args.set])
        own = {**_untagged(tag, times, chunks), **_untagged(tag, times, parts)}
        results.append(_report_model(args, name, own, chunks, parts, config))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = results[0] if len(results) == 1 else {"side_by_side": True, "rounds": args.rounds, "models": results}
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
