"""The flywheel's result file (``<run_dir>/results.json``) and the tables generated from it.

``results.json``::

    {"kind": "flywheel", "config": FlywheelConfig,
     "rounds": [{"round", "model", "guidance", "deploy": {...} | null, "train": {...} | null, "eval": {...} | null}],
     "episodes": [{"round", "run", "seed", "success", "stage", "reason", "ticks", "file"}]}

``failforward learn table --run-dir <flywheel run>`` renders it (:func:`render_flywheel`); no number is typed by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from failforward.stats import wilson_interval

if TYPE_CHECKING:
    from failforward.learn.flywheel import Flywheel

KIND = "flywheel"


def write_flywheel_results(wheel: Flywheel) -> Path:
    """Summarize every finished step of ``wheel`` into ``results.json`` (atomically); returns its path."""
    state, cfg = wheel.state, wheel.cfg
    episodes, rounds = [], []
    for k in range(cfg.rounds + 1):
        rows = [
            {"round": k, "run": m, **row}
            for m in range(cfg.eval_runs)
            if state.done(f"eval_{k}_run{m}")
            for row in state.info(f"eval_{k}_run{m}")["episodes"]
        ]
        episodes += rows
        has_model = k == 0 or state.done(f"train_{k}")
        rounds.append(
            {
                "round": k,
                "model": str(wheel.model_dir(k)) if has_model else None,
                "guidance": _guidance(wheel, k) if has_model else None,
                "deploy": _strip(state.steps.get(f"deploy_{k}"), "files"),
                "train": _strip(state.steps.get(f"train_{k}"), "skipped"),
                "eval": _summary(rows, cfg.eval_runs) if rows else None,
            }
        )
    data = {"kind": KIND, "config": cfg.model_dump(mode="json"), "rounds": rounds, "episodes": episodes}
    path = wheel.layout.results
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False))
    tmp.replace(path)
    return path


def is_flywheel_run(run_dir: Path) -> bool:
    """True when ``run_dir`` holds a flywheel's ``results.json``."""
    path = Path(run_dir) / "results.json"
    return path.is_file() and json.loads(path.read_text()).get("kind") == KIND


def _guidance(wheel: Flywheel, k: int) -> str:
    g = wheel.guidance(k)
    return f"adaptive γ={g.gamma:g}" if g.mode.value == "adaptive" else "none"


def _strip(info: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    return None if info is None else {k: v for k, v in info.items() if k != key}


def _summary(rows: list[dict[str, Any]], runs: int) -> dict[str, Any]:
    s, n = sum(r["success"] for r in rows), len(rows)
    low, high = wilson_interval(s, n)
    done = len({r["run"] for r in rows})
    return {"successes": s, "trials": n, "rate": s / n, "low": low, "high": high, "runs": done, "of_runs": runs}


def render_flywheel(run_dir: Path, result: dict[str, Any]) -> str:
    """Markdown: the setup, then one row per round (training data, deployment, held-out success with Wilson)."""
    cfg = result["config"]
    lines = [
        f"## Flywheel `{run_dir}`",
        "",
        f"- base model `{cfg['base_model']}`, preset `{cfg['preset']}`; {cfg['rounds']} round(s) of "
        f"{cfg['deploy_episodes']} deployed episodes (training seeds {cfg['deploy_seed']} + 1000·k + i, at most "
        f"{cfg['deploy_max_steps']} ticks, supervisor and recovery {'on' if cfg['supervised'] else 'off'}), "
        f"{_training_text(cfg)}.",
        f"- held-out evaluation: {cfg['eval_configs']} configurations (seeds {cfg['eval_seed']}…) × {cfg['eval_runs']} "
        f"flow-noise seeds, the policy alone (no supervisor or recovery), at most {cfg['eval_max_steps']} ticks.",
        "",
        "| round | guidance | trained on: success (of them corrected) / failure episodes, extra recordings included "
        "| deployed on training seeds: successes | held-out success % [95 % Wilson] |",
        "| --- | --- | --- | --- | --- |",
    ]
    copied = [f"round {r['round']}" for r in result["rounds"] if (r["deploy"] or {}).get("copied_from")]
    if copied:  # steps reused from another run with the same model, seeds and settings (flywheel.json says which)
        source = next(r["deploy"]["copied_from"] for r in result["rounds"] if (r["deploy"] or {}).get("copied_from"))
        lines.insert(-3, f"- {', '.join(copied)}: deployment and evaluation reused from `{source}` (same model, "
                         "seeds and settings).")  # fmt: skip
    for r in result["rounds"]:
        lines.append(
            f"| {r['round']} | {r['guidance'] or '–'} | {_train_cell(r['round'], r['train'], cfg)} "
            f"| {_deploy_cell(r['deploy'])} | {_eval_cell(r['eval'])} |"
        )
    return "\n".join(lines)


def _training_text(cfg: dict[str, Any]) -> str:
    """How each round trained (``FlywheelConfig.failure_head_only`` or fine-tuning)."""
    steps = f"{cfg['finetune_steps']} steps (batch {cfg['batch_size']}, lr {cfg['lr']:g})"
    if cfg.get("failure_head_only"):
        return (
            f"each round trained a new failure head (width {cfg['failure_width']}, {cfg['failure_layers']} "
            f"cross-attention + MLP block(s)) from scratch, {steps}, on every failure deployed so far, on the base's "
            "frozen backbone and success head (the success head is the base's in every round)"
        )
    extra = ", ".join(cfg["extra_recordings"]) or "none"
    return f"each round fine-tuned {steps} from the previous one; extra recordings in every round: {extra}"


def _train_cell(k: int, train: dict[str, Any] | None, cfg: dict[str, Any]) -> str:
    if train is None:
        return "– (base)" if k == 0 else "–"
    d = train["data"]
    if cfg.get("failure_head_only"):  # successes are recorded but not trained on
        return f"– / {d['failures']} (failure head only), {train['steps']} steps"
    return f"{d['successes']} ({d['corrected']}) / {d['failures']}, {train['steps']} steps"


def _deploy_cell(deploy: dict[str, Any] | None) -> str:
    if deploy is None:
        return "–"
    o = deploy["outcomes"]
    n = o["successes"] + o["failures"]
    return f"{o['successes']}/{n} ({o['corrected']} after a correction)"


def _eval_cell(e: dict[str, Any] | None) -> str:
    if e is None:
        return "–"
    partial = "" if e["runs"] == e["of_runs"] else f", {e['runs']} of {e['of_runs']} runs"
    cell = f"{100 * e['rate']:.0f} % [{100 * e['low']:.0f}–{100 * e['high']:.0f}] ({e['successes']}/{e['trials']}"
    return cell + partial + ")"


def flywheel_flags(cfg: dict[str, Any]) -> str:
    """The ``failforward learn flywheel`` options that recreate ``cfg`` (every field, so the command stands alone)."""
    flags = []
    for name, value in cfg.items():
        flag = "--" + name.replace("_", "-")
        if name == "supervised":
            flags += [] if value else ["--unsupervised"]
        elif isinstance(value, bool):
            flags += [flag] if value else []
        elif name == "extra_recordings":
            flags += [flag, *value] if value else []
        else:
            flags += [flag, str(value)]
    return " ".join(flags)


METHOD = """
## How the numbers were made

- **Deploy** (`failforward.learn.flywheel`): round k's model runs in the deployed preset through the same
  `failforward.control.runtime.run` as `failforward demo` (its safety layer, recorder and, when supervised, the
  ViFailback supervisor (privileged sim oracle) and the recovery machine with PMC), on training seeds, inferring
  synchronously with the loop as fast as the machine allows, so a loaded machine cannot starve an episode into failure.
  Every episode is an MCAP file under `round_<k>/deploy*/`.
- **Record → retrain**: model k + 1 is fine-tuned from model k's weights and norm stats on those MCAP files as
  recorded (`failforward.learn.recorded`, no conversion step) plus the extra recordings. Each episode's outcome comes
  from an operator label if present (`failforward label`), else the simulator's recorded outcome, else the supervisor's
  verdict; episodes with none are skipped and counted. Failures train the failure head only (AFIL's disjoint
  supervision); successes train the success head, from the first correction's start when recovery corrected them.
  With `--failure-head-only`, model k + 1 is instead the base model with a new light failure head trained from scratch
  on every failure deployed so far (backbone and success head frozen): only guidance changes between rounds.
- **Evaluate**: each model alone (no supervisor, no recovery) on held-out seeds that no deployment used, with
  adaptive guidance once its failure head has trained on failures (an untrained failure head is not used: the base
  runs unguided). Cells: success % [95 % Wilson interval] (successes/trials).
"""


def write_flywheel_report(run_dirs: list[Path], out: Path | None = None) -> list[Path]:
    """``<run_dir>/table.md`` per flywheel run and, with ``out``, one document of them all; returns what it wrote."""
    sections, written = [], []
    for run_dir in map(Path, run_dirs):
        result = json.loads((run_dir / "results.json").read_text())
        section = render_flywheel(run_dir, result)
        command = f"failforward learn flywheel --run-dir {run_dir} {flywheel_flags(result['config'])}"
        section += f"\n\nReproduce or resume (every finished step is skipped):\n\n```bash\n{command}\n```\n"
        (run_dir / "table.md").write_text(section)
        written.append(run_dir / "table.md")
        sections.append(section)
    if out is not None:
        dirs = " ".join(f"--run-dir {d}" for d in run_dirs)
        head = (
            "# The deployment flywheel: measured results\n\nGenerated by `failforward learn table "
            f"{dirs} --out {out}` from each run's `results.json`; no number below is typed by hand.\n\n"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(head + "\n".join(sections) + METHOD)
        written.append(out)
    return written
