"""Which failure data makes AFIL's failure head differ where it matters (issue 17): whole failed trajectories vs
the segment where they went wrong, on one frozen success head.

Setup. A `failforward learn` run's round-0 model (success only) is the base: its backbone and success head are kept,
frozen, for every variant, so the variants differ only in the failure head. Failure data: the base's own failed
rollouts (``rollout_0`` of the run, labelled by the simulator; ``--failure-rounds 0 1 …`` adds later rounds' failed
rollouts, the paper's scale after several rounds). Each failed rollout's task stage per tick comes from
replaying its sent commands in the simulator (``learn.correction.stage_trace``); it went wrong at the stage it reached
last (its highest), entered at tick ``e``. Variants (a new light failure head each, ``TrainConfig.failure_head_from``,
width 32, one cross-attention + MLP block, the same steps, batch, lr and seed):

- ``whole``: every tick of each failed rollout (what `failforward learn` trains on);
- ``failure_stage``: ticks ``e ..`` (the stay at the stage where it stopped);
- ``last_3s``: the last 3 s (150 ticks at the ALOHA's 50 Hz, 60 at ManiSkill's 20 Hz);
- ``before_failure_stage``: ticks ``.. e`` (a control: the same episodes without the part where they went wrong).

Joint variants (``--joint 0.5 0.5+backbone 0.2 …``): the whole round-0 model fine-tuned ``--joint-steps`` steps
(fresh optimizer, the base's norm stats) on the demos (success) and the whole failed rollouts (failure), with that
failure fraction per batch, the failure loss's gradients into the shared backbone or not (``+backbone``); no
corrections, so the correction round's effect stays out. Each is evaluated guided (γ) and unguided (its success head
alone, the control). ``--joint-ema-decay 0.995`` exports an average of each fine-tune's weights instead of its last
iterate (whose wander alone cost a ManiSkill base 23 points in `bench/correction_round.py`); the rows then say "EMA".

The ``whole`` head is also evaluated with AFIL's other table settings (``--static-lambdas``, ``--extra-gammas``), so
the paper's rows (success only, static λ, adaptive γ ablation) share one success head and one failure head.

Evaluation: the base unguided (success only) and each variant with adaptive guidance γ on the run's held-out protocol
(``eval_configs`` configurations from ``eval_seed``, × ``--runs`` flow-noise seeds 10000 + m, synchronous inference),
plus where the heads disagree on those episodes (``bench/guidance_mechanism.py``: 1 − cos early vs at the failure
stage, failed vs successful). Resumable: trained heads and evaluated (variant, run) pairs are kept.

Run:
    OMP_NUM_THREADS=1 nice -n 19 ./run python bench/failure_data.py --run runs/learn/tc_limited \
        --out runs/learn/tc_limited/failure_data --json docs/afil_failure_data_tc_limited.json \
        --doc docs/afil_failure_data_tc_limited.md
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from failforward.config.policy import AfilPolicyConfig, GuidanceConfig, SamplerConfig
from failforward.control.runtime import run
from failforward.learn.config import TrainConfig
from failforward.learn.correctors import CORRECTORS
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.run_state import RunState
from failforward.learn.sources import EpisodeSlice, load_slices
from failforward.learn.stages import Pipeline
from failforward.policy.afil import load_manifest
from failforward.policy.afil.failure_head import light_head_config
from failforward.robots.registry import make_driver
from failforward.stats import rate_summary

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("whole", "failure_stage", "last_3s", "before_failure_stage")


@functools.cache
def _mechanism() -> Any:
    """``bench/guidance_mechanism.py`` as a module (bench scripts are not a package)."""
    spec = importlib.util.spec_from_file_location("guidance_mechanism", ROOT / "bench" / "guidance_mechanism.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["guidance_mechanism"] = module
    spec.loader.exec_module(module)
    return module


def failed_rollouts(pipe: Pipeline, rounds: list[int]) -> list[dict[str, Any]]:
    """The failed rollouts of ``rounds`` (``[0]``: the base's own), each with the tick it entered its highest stage
    (``entered``)."""
    missing = [k for k in rounds if not pipe.state.done(f"rollout_{k}")]
    if missing:
        raise SystemExit(f"{pipe.layout.root} has no finished rollout_{missing[0]}: run its rounds first, or drop it")
    rows = [r for k in rounds for r in pipe.state.info(f"rollout_{k}")["episodes"] if not r["success"]]
    config = pipe.run_config(policy=None, episodes=1, seed=0, max_steps=pipe.cfg.max_steps)
    robot = config.robot.model_copy(update={"cameras": []})
    from failforward.record.reader import read_episode

    with make_driver(robot) as driver:
        for r in rows:
            sent = read_episode(pipe.layout.root / r["file"], load_images=False).sent_actions
            stages = CORRECTORS[robot.kind].stage_trace(driver, r["seed"], sent)
            r["entered"] = int((stages >= stages.max()).argmax())
            r["replay_matches"] = int(stages.max()) == int(r["stage"])
    return rows


def variant_episodes(pipe: Pipeline, rows: list[dict[str, Any]], variant: str) -> list[EpisodeArrays]:
    """The failure episodes of ``variant`` (ticks kept per the module docstring)."""
    episodes = load_slices([EpisodeSlice(pipe.layout.root / r["file"]) for r in rows])
    last_3s = round(3.0 * pipe.run_config(policy=None, episodes=1, seed=0, max_steps=1).loop.rate_hz)  # [ticks]
    out = []
    for r, e in zip(rows, episodes, strict=True):
        window = {
            "whole": (0, e.length),
            "failure_stage": (r["entered"], e.length),
            "last_3s": (max(e.length - last_3s, 0), e.length),
            "before_failure_stage": (0, max(r["entered"], 1)),
        }[variant]
        out.append(e.window(*window))
    return out


def train_variant(pipe: Pipeline, rows: list[dict[str, Any]], variant: str, args: argparse.Namespace) -> Path:
    """Train (or resume) the light failure head of ``variant`` on the frozen base and export it; returns its dir."""
    from failforward.learn.trainer import export_checkpoint, train

    model_dir = args.out / variant / "model"
    if (model_dir / "manifest.json").is_file():
        return model_dir
    base = pipe.layout.model(0)
    manifest = load_manifest(base)
    episodes = variant_episodes(pipe, rows, variant)
    config = TrainConfig(
        model=light_head_config(manifest.model),  # width 32, one block: the flywheel's and item 3's head
        out_dir=args.out / variant / "train",
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        failure_fraction=1.0,
        seed=args.seed,
        checkpoint_every=250,
        rtc_max_delay=manifest.prefix_training.max_delay if manifest.prefix_training else 0,
        failure_head_from=base / manifest.weights,
    )
    result = train(config, episodes, progress=False)
    export_checkpoint(result.checkpoint, model_dir, sampler=manifest.sampler, name=f"failure_data_{variant}")
    ticks = sum(e.length for e in episodes)
    (args.out / variant / "data.json").write_text(json.dumps({"episodes": len(episodes), "ticks": ticks}))
    return model_dir


def joint_name(spec: str, ema_decay: float = 0.0) -> str:
    """``"0.5+backbone"`` → ``"joint f=0.5, backbone"`` (``", EMA 0.995"`` appended when the weights are averaged)."""
    fraction, _, backbone = spec.partition("+")
    ema = f", EMA {ema_decay:g}" if ema_decay > 0 else ""
    return f"joint f={float(fraction):g}" + (", backbone" if backbone else "") + ema


def train_joint(pipe: Pipeline, failures: list[dict[str, Any]], spec: str, args: argparse.Namespace) -> Path:
    """Fine-tune the whole round-0 model on demos + whole failed rollouts per ``spec`` (``f`` or ``f+backbone``)."""
    from failforward.learn.trainer import export_checkpoint, train

    fraction, _, backbone = spec.partition("+")
    if backbone not in ("", "backbone"):
        raise SystemExit(f"--joint {spec!r}: write a failure fraction, optionally followed by '+backbone'")
    out = args.out / (f"joint_{spec}" + (f"_ema{args.joint_ema_decay:g}" if args.joint_ema_decay > 0 else ""))
    model_dir = out / "model"
    if (model_dir / "manifest.json").is_file():
        return model_dir
    base = pipe.layout.model(0)
    manifest = load_manifest(base)
    demos = [EpisodeSlice(pipe.layout.root / f) for f in pipe.state.info("collect")["files"]]
    failed = [EpisodeSlice(pipe.layout.root / r["file"]) for r in failures]
    config = TrainConfig(
        model=manifest.model,
        out_dir=out / "train",
        steps=args.joint_steps,
        batch_size=args.batch_size,
        lr=args.lr,
        failure_fraction=float(fraction),
        failure_grad_to_backbone=bool(backbone),
        seed=args.seed,
        checkpoint_every=250,
        rtc_max_delay=manifest.prefix_training.max_delay if manifest.prefix_training else 0,
        init_weights=base / manifest.weights,
        ema_decay=args.joint_ema_decay,
    )
    result = train(config, load_slices(demos + failed), progress=False)
    export_checkpoint(result.checkpoint, model_dir, sampler=manifest.sampler, name=f"failure_data_{out.name}")
    return model_dir


def evaluate(
    pipe: Pipeline, name: str, model_dir: Path, guidance: GuidanceConfig, m: int, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """One run (flow-noise seed 10000 + m) of ``model_dir`` on the held-out configurations; returns its episodes."""
    policy = AfilPolicyConfig(
        model_dir=model_dir.resolve(), backend="onnxruntime", threads=1, seed=10_000 + m,
        sampler=SamplerConfig(guidance=guidance),
    )  # fmt: skip
    cfg = pipe.cfg
    config = pipe.run_config(policy=policy.model_dump(), episodes=cfg.eval_configs, seed=cfg.eval_seed,
                             max_steps=cfg.max_steps)  # fmt: skip
    config = config.model_copy(update={"broker": config.broker.model_copy(update={"inference": "synchronous"})})
    run_name = pipe.layout.rel(args.out / "eval" / f"{name}_run{m}")
    result = run(config, run_name=run_name)
    return [
        {"variant": name, "run": m, "seed": e.seed, "success": bool(e.outcome.success), "stage": e.outcome.stage,
         "reason": e.outcome.reason, "ticks": e.steps, "file": pipe.layout.rel(e.files[0]) if e.files else None}
        for e in result.episodes
    ]  # fmt: skip


def all_rows(pipe: Pipeline, models: dict[str, tuple[Path, GuidanceConfig]], args: argparse.Namespace) -> list[dict]:
    """Every (variant, run) evaluated, resuming from ``<out>/episodes.jsonl``."""
    path = args.out / "episodes.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    for m in range(args.runs):
        for name, (model_dir, guidance) in models.items():
            if sum(r["variant"] == name and r["run"] == m for r in rows) == pipe.cfg.eval_configs:
                continue
            rows = [r for r in rows if not (r["variant"] == name and r["run"] == m)]
            new = evaluate(pipe, name, model_dir, guidance, m, args)
            rows += new
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
            print(f"{name} run {m}: {sum(r['success'] for r in new)}/{len(new)}", flush=True)
    return rows


def mechanism_rows(pipe: Pipeline, rows: list[dict], names: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Per guided model in ``names``: 1 − cos early vs at the failure stage (``bench/guidance_mechanism.py``)."""
    mech = _mechanism()
    robot = pipe.run_config(policy=None, episodes=1, seed=0, max_steps=1).robot.model_copy(update={"cameras": []})
    out = {}
    with make_driver(robot) as driver:
        for name in names:
            mine = [r for r in rows if r["variant"] == name and r["file"]]
            eps = [mech.episode_chunks(pipe.layout.root, r, args.gamma, driver, robot.kind) for r in mine]
            out[name] = mech.summarize([e for e in eps if e is not None], args.early_s, args.window_s)
    return out


def lambda_plots(pipe: Pipeline, rows: list[dict], args: argparse.Namespace) -> dict[str, str]:
    """λ_t of each guided variant's episodes, successful vs failed (``learn.lambda_plot``), next to ``--doc``."""
    from failforward.learn.lambda_plot import load_lambdas, plot_lambdas

    out = {}
    for name in args.variants:
        files = [(pipe.layout.root / r["file"], r["success"]) for r in rows if r["variant"] == name and r["file"]]
        path = args.doc.with_name(f"{args.doc.stem}_lambda_{name}.png")
        plot_lambdas(load_lambdas(files), path, f"{args.run}: failure head on {name}, adaptive γ = {args.gamma:g}")
        out[name] = str(path)
    return out


def summary(rows: list[dict], names: list[str]) -> dict[str, dict]:
    """Per variant: successes, trials, rate and 95 % Wilson interval."""
    return {name: rate_summary([r["success"] for r in rows if r["variant"] == name]) for name in names}


def render(data: dict[str, Any]) -> str:
    """The doc: setup, success per variant, where the heads disagree."""
    a = data["args"]
    lines = [
        "# Which failure data makes the failure head differ where it matters (issue 17)",
        "",
        f"Generated by `bench/failure_data.py --run {a['run']}`; no number is typed by hand. Base: `{a['run']}`'s "
        f"round-0 model (success only), its backbone and success head frozen for every variant. Failure data: the "
        f"{data['failures']['episodes']} failed rollouts of rounds {_rounds(a)} "
        f"({data['failures']['replay_matches']} of them "
        "replayed to the recorded stage). Each variant trains a new light failure head (width 32, one "
        f"cross-attention + MLP block) for {a['steps']} steps (batch {a['batch_size']}, lr {a['lr']:g}, seed "
        f"{a['seed']}); evaluated with adaptive γ = {a['gamma']:g} on {data['protocol']}.",
        "",
        "Rows `whole, …`: the `whole` failure head under the other guidance settings of AFIL's table (the variants "
        f"use adaptive γ = {a['gamma']:g}).",
        "",
        "| variant | failure data (episodes, ticks) | success % [95 % Wilson] (successes/trials) |",
        "| --- | --- | --- |",
    ]
    for name, s in data["success"].items():
        d = data["data"].get(name.split(",")[0])
        trained = f"{d['episodes']}, {d['ticks']}" if d else "– (unguided)"
        if name.startswith("joint"):  # the whole model fine-tuned on demos + whole failed rollouts
            steps = a["joint_steps"]
            trained = f"– (its success head, {steps} steps)" if name.endswith("(unguided)") else f"whole, {steps} steps"
        cell = f"{100 * s['rate']:.0f} [{100 * s['wilson95'][0]:.0f}–{100 * s['wilson95'][1]:.0f}]"
        lines.append(f"| {name} | {trained} | {cell} ({s['successes']}/{s['trials']}) |")
    if data.get("plots"):
        plots = ", ".join(f"[{name}]({Path(path).name})" for name, path in data["plots"].items())
        lines += ["", f"λ_t over the flow steps and over the episode, successful vs failed episodes: {plots}."]
    lines += [
        "",
        f"Where the heads disagree on those guided episodes (d = 1 − cos(v_s, v_f); early = first {a['early_s']} s; "
        f"at m = first {a['window_s']} s after entering stage m; failed episodes stopped at m, successful ones passed "
        "it; AUROC = P(failed chunk's d > successful chunk's d)):",
        "",
    ]
    return "\n".join(lines + _mechanism().table(data["mechanism"])) + "\n"


def _rounds(args: dict[str, Any]) -> str:
    """The rollout rounds the failure data came from, as printed (``0`` for files written before the option)."""
    return ", ".join(str(k) for k in args.get("failure_rounds", [0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a `failforward learn` run with its rollouts")
    parser.add_argument("--out", type=Path, required=True, help="heads, evaluation episodes, episodes.jsonl")
    parser.add_argument(
        "--failure-rounds", type=int, nargs="+", default=[0], help="rollout rounds whose failures are the data"
    )
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gamma", type=float, default=1.0)
    parser.add_argument("--static-lambdas", type=float, nargs="*", default=[0.05], help="rows of the whole head")
    parser.add_argument("--extra-gammas", type=float, nargs="*", default=[0.5, 2.0, 5.0], help="rows of the whole head")
    parser.add_argument("--joint", nargs="*", default=[], help="joint fine-tunes: failure fraction[+backbone]")
    parser.add_argument("--joint-steps", type=int, default=400, help="steps of each joint fine-tune")
    ema_help = "each joint fine-tune exports this EMA of its weights (0: the last iterate, as before)"
    parser.add_argument("--joint-ema-decay", type=float, default=0.0, help=ema_help)
    parser.add_argument("--runs", type=int, default=3, help="flow-noise seeds per configuration")
    parser.add_argument("--early-s", type=float, default=2.0)
    parser.add_argument("--window-s", type=float, default=1.0)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--doc", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pipe = Pipeline(RunState.open(args.run))
    failures = failed_rollouts(pipe, args.failure_rounds)
    adaptive = GuidanceConfig(mode="adaptive", gamma=args.gamma)
    models = {"base (unguided)": (pipe.layout.model(0), GuidanceConfig(mode="none"))}
    for variant in args.variants:
        models[variant] = (train_variant(pipe, failures, variant, args), adaptive)
    if "whole" in args.variants:  # AFIL's table rows on the same frozen success head and the same failure head
        whole = models["whole"][0]
        for lam in args.static_lambdas:
            models[f"whole, static λ = {lam:g}"] = (whole, GuidanceConfig(mode="static", static_lambda=lam))
        for gamma in args.extra_gammas:
            models[f"whole, adaptive γ = {gamma:g}"] = (whole, GuidanceConfig(mode="adaptive", gamma=gamma))
    for spec in args.joint:
        joint = train_joint(pipe, failures, spec, args)
        models[joint_name(spec, args.joint_ema_decay)] = (joint, adaptive)
        models[f"{joint_name(spec, args.joint_ema_decay)} (unguided)"] = (joint, GuidanceConfig(mode="none"))
    rows = all_rows(pipe, models, args)
    guided = [*args.variants, *(joint_name(spec, args.joint_ema_decay) for spec in args.joint)]
    data = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "protocol": f"{pipe.cfg.eval_configs} held-out configurations (seeds {pipe.cfg.eval_seed}…) × {args.runs} "
        "flow-noise seeds (10000 + m), at most "
        f"{pipe.cfg.max_steps} ticks, synchronous inference",
        "failures": {"episodes": len(failures), "replay_matches": sum(r["replay_matches"] for r in failures)},
        "data": {v: json.loads((args.out / v / "data.json").read_text()) for v in args.variants},
        "success": summary(rows, list(models)),
        "mechanism": mechanism_rows(pipe, rows, guided, args),
    }
    if args.doc:
        data["plots"] = lambda_plots(pipe, rows, args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=1))
    text = render(data)
    print(text)
    if args.doc:
        args.doc.write_text(text)


if __name__ == "__main__":
    main()
