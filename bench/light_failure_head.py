"""A light failure head vs the shipped one (issue 17, item 3): success on held-out seeds and CPU latency.

Success: both models with adaptive guidance (γ = 1) on the project's held-out protocol (the learning run's
``eval_configs`` = 50 initial configurations from ``eval_seed`` = 100000, × 3 runs with flow-noise seeds
10000 + m, as ``failforward learn``'s eval stage), interleaved model by model within each run, synchronous
inference (outcomes independent of the machine's load); 95 % Wilson intervals. One row per episode goes to
``--jsonl`` (resumable: finished (model, run) pairs are kept). Latency: ``bench/policy_latency.py`` with both
model directories side by side in the same rounds (onnxruntime CPU, one thread; unguided vs guided, fused and
split, and the parts). Then ``--doc`` is written from the results (``--json``), numbers not typed by hand.

Example:
    OMP_NUM_THREADS=1 python bench/light_failure_head.py --rounds 100
    python bench/light_failure_head.py --doc-only   # rewrite the doc from the stored results
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from failforward.config.policy import AfilPolicyConfig, GuidanceConfig, SamplerConfig
from failforward.control.runtime import run
from failforward.learn.run_state import RunState
from failforward.learn.stages import Pipeline
from failforward.policy.afil import load_manifest
from failforward.stats import rate_summary

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.25  # issue 17 item 3: guided / unguided on onnxruntime CPU


def _done(rows: list[dict], model: str, m: int, configs: int) -> bool:
    return sum(r["model"] == model and r["run"] == m for r in rows) == configs


def success_rows(args: argparse.Namespace) -> list[dict]:
    """Evaluate every (run, model) pair not yet in ``args.jsonl``; returns all rows."""
    rows = [json.loads(line) for line in args.jsonl.read_text().splitlines()] if args.jsonl.is_file() else []
    pipe = Pipeline(RunState.open(args.run))
    for m in range(args.runs):
        for model_dir in (args.base, args.light):
            if _done(rows, model_dir.name, m, args.configs):
                continue
            rows = [r for r in rows if not (r["model"] == model_dir.name and r["run"] == m)]
            guidance = GuidanceConfig(mode="adaptive", gamma=args.gamma)
            policy = AfilPolicyConfig(
                model_dir=model_dir.resolve(), backend="onnxruntime", threads=1, seed=10_000 + m,
                sampler=SamplerConfig(guidance=guidance),
            )  # fmt: skip
            config = pipe.run_config(
                policy=policy.model_dump(), episodes=args.configs, seed=pipe.cfg.eval_seed, max_steps=pipe.cfg.max_steps
            )
            config = config.model_copy(update={"broker": config.broker.model_copy(update={"inference": "synchronous"})})
            result = run(config, run_name=f"extra/light_head/{model_dir.name}_adaptive{args.gamma:g}_run{m}")
            new = [
                {"model": model_dir.name, "run": m, "seed": e.seed, "success": bool(e.outcome.success),
                 "ticks": e.steps, "reason": e.outcome.reason}
                for e in result.episodes
            ]  # fmt: skip
            rows += new
            args.jsonl.parent.mkdir(parents=True, exist_ok=True)
            args.jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
            print(f"{model_dir.name} run {m}: {sum(r['success'] for r in new)}/{len(new)}", flush=True)
    return rows


def success_summary(rows: list[dict], models: list[str]) -> dict[str, dict]:
    """Per model: successes, trials, rate and 95 % Wilson interval; the seeds and runs evaluated."""
    out = {}
    for model in models:
        mine = [r for r in rows if r["model"] == model]
        seeds = sorted({r["seed"] for r in mine})
        out[model] = rate_summary([r["success"] for r in mine])
        out[model].update(seeds=[seeds[0], seeds[-1]] if seeds else [], runs=sorted({r["run"] for r in mine}))
    return out


def latency(args: argparse.Namespace) -> dict:
    """Run ``bench/policy_latency.py`` on both models side by side; returns its JSON and keeps its printout."""
    out = args.json.with_name(args.json.stem + "_latency.json")
    cmd = [sys.executable, str(ROOT / "bench" / "policy_latency.py"), "--model-dir", str(args.base), str(args.light)]
    cmd += [
        "--backends",
        "onnxruntime",
        "--guided-target",
        str(TARGET),
        "--rounds",
        str(args.rounds),
        "--json",
        str(out),
    ]
    printed = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    lines = [line for line in printed.splitlines() if not line.startswith("skip ")]
    return {"command": " ".join(["python", *cmd[1:]]), "printout": "\n".join(lines), **json.loads(out.read_text())}


def graph_nodes(model_dir: Path) -> dict[str, int]:
    """Nodes onnxruntime runs in each fused sampler after its basic graph optimizations (constant folding etc.)."""
    import tempfile

    import onnx
    import onnxruntime as ort

    counts = {}
    for stem in ("sampler_guided", "sampler_unguided"):
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        with tempfile.TemporaryDirectory() as tmp:
            options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
            ort.InferenceSession(str(model_dir / f"{stem}.onnx"), options, providers=["CPUExecutionProvider"])
            counts[stem] = len(onnx.load(options.optimized_model_filepath).graph.node)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=Path("models/afil_aloha_transfer_cube"))
    parser.add_argument("--light", type=Path, default=Path("models/afil_aloha_transfer_cube_light"))
    parser.add_argument("--run", type=Path, default=Path("runs/learn/tc_obj_rtc"), help="the held-out protocol's run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--configs", type=int, default=50)
    parser.add_argument("--gamma", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=100, help="latency rounds")
    parser.add_argument("--jsonl", type=Path, default=Path("docs/afil_light_failure_head_episodes.jsonl"))
    parser.add_argument("--json", type=Path, default=Path("docs/afil_light_failure_head.json"))
    parser.add_argument("--doc", type=Path, default=Path("docs/afil_light_failure_head.md"))
    parser.add_argument("--doc-only", action="store_true", help="rewrite the doc from --json")
    parser.add_argument("--keep-latency", action="store_true", help="keep the latency run stored in --json")
    args = parser.parse_args()
    if not args.doc_only:
        models = [args.base.name, args.light.name]
        success = success_summary(success_rows(args), models)
        shapes = {d.name: load_manifest(d).model.model_dump(mode="json") for d in (args.base, args.light)}
        nodes = {d.name: graph_nodes(d) for d in (args.base, args.light)}
        timed = json.loads(args.json.read_text())["latency"] if args.keep_latency else latency(args)
        result = {"gamma": args.gamma, "target": TARGET, "success": success, "models": shapes, "latency": timed}
        args.json.write_text(json.dumps({**result, "graph_nodes": nodes}, indent=2) + "\n")
    sys.path.insert(0, str(ROOT / "bench"))
    from light_failure_head_doc import write_doc

    write_doc(json.loads(args.json.read_text()), args.doc)
    print(args.doc.read_text())


if __name__ == "__main__":
    main()
