"""``failforward learn``: collect → train → roll out → correct failures → retrain → evaluate (AFIL §3–4).

Example (CPU, state observations, one task; about 30 min on a shared 2-core machine):
    failforward learn round --run-dir runs/learn/tc --preset sim_transfer_cube --rounds 1
    failforward learn eval  --run-dir runs/learn/tc
    failforward learn table --run-dir runs/learn/tc --out docs/afil_results.md
    failforward learn ship  --run-dir runs/learn/tc --name afil_aloha_transfer_cube

Symbol-following data (ViFailback VSF: expert prelude, then one atomic corrective motion prompted by its
sentence; the followed ones join the success data of training):
    failforward learn symbols --run-dir runs/learn/tc_sym --object-state --symbol-episodes 200

Each subcommand runs the finished-step-skipping pipeline (:class:`failforward.learn.stages.Pipeline`) up to
its stage, so ``round`` after an interruption resumes where it stopped (``<run_dir>/state.json``). GPU
configuration with images: ``--model aloha_vision`` (three 96×128 cameras are rendered and recorded; see
docs/afil_results.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from failforward.learn.models import LEARN_MODELS
from failforward.learn.pipeline import PipelineConfig
from failforward.learn.run_state import RunState

STAGES = ("collect", "symbols", "train", "rollout", "correct", "round", "eval")
# options that may change on an existing run: later rounds and evaluations are new steps
EXTENDABLE = ("rounds", "eval_configs", "eval_runs", "static_lambdas", "gammas")


# --------------------------------------------------------------------------- arguments
def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="learn_command", required=True)
    for stage in STAGES:
        p = sub.add_parser(stage, help=f"run the pipeline up to `{stage}` (finished steps are skipped)")
        p.add_argument("--run-dir", type=Path, required=True, help="run directory (state.json lives here)")
        _add_config_options(p)
        if stage in ("train", "rollout", "correct"):
            p.add_argument("--round", type=int, default=0, help="round k (0 = success-only)")
    table = sub.add_parser("table", help="regenerate tables, λ_t plot and model card from the eval files")
    table.add_argument("--run-dir", type=Path, required=True, action="append", help="repeatable (one per task)")
    table.add_argument("--out", type=Path, help="also write the markdown here (e.g. docs/afil_results.md)")
    ship = sub.add_parser("ship", help="copy the final model + generated model card to models/<name>")
    ship.add_argument("--run-dir", type=Path, required=True)
    ship.add_argument("--name", required=True)
    ship.add_argument("--models", type=Path, default=Path("models"))


def _add_config_options(p: argparse.ArgumentParser) -> None:
    """Every PipelineConfig field as an option; ``None`` means "the stored (or default) value"."""
    for name, field in PipelineConfig.model_fields.items():
        flag = "--" + name.replace("_", "-")
        if field.annotation is bool:
            p.add_argument(flag, action="store_true", default=None, help=f"(default {field.default})")
        elif name in ("static_lambdas", "gammas"):
            p.add_argument(flag, type=float, nargs="+", help=f"(default {field.default})")
        else:
            kind = type(field.default) if field.default is not None else str
            help_text = f"(default {field.default})"
            if name == "model":
                help_text = f"one of {', '.join(LEARN_MODELS)} (default {field.default})"
            p.add_argument(flag, type=kind, help=help_text)


def _open_state(args: argparse.Namespace) -> RunState:
    given = {k: getattr(args, k) for k in PipelineConfig.model_fields if getattr(args, k, None) is not None}
    if (Path(args.run_dir) / "state.json").is_file():
        state = RunState.open(args.run_dir)
        extendable = {k: v for k, v in given.items() if k in EXTENDABLE}
        if extendable:  # more rounds or another evaluation size keep every finished step valid
            state.config = PipelineConfig.model_validate({**state.config.model_dump(), **extendable})
            state.finish("config_updated", {"fields": sorted(extendable)})
        # validated (not model_copy): options arrive as lists, the stored config holds tuples
        RunState.open(args.run_dir, PipelineConfig.model_validate({**state.config.model_dump(), **given}))
        return state
    return RunState.open(args.run_dir, PipelineConfig(**given))


# --------------------------------------------------------------------------- entry
def run_learn(args: argparse.Namespace) -> int:
    if args.learn_command == "table":
        from failforward.learn.report import write_report

        for path in write_report(args.run_dir, args.out):
            print(f"wrote {path}")
        return 0
    if args.learn_command == "ship":
        from failforward.learn.model_card import ship_model

        print(f"shipped {ship_model(args.run_dir, args.models / args.name)}")
        return 0
    from failforward.learn.stages import Pipeline  # the simulator and the loop: imported only to run a stage

    state = _open_state(args)
    pipe = Pipeline(state)
    k = getattr(args, "round", 0)
    steps = {
        "collect": pipe.collect,
        "symbols": pipe.symbols,
        "train": lambda: pipe.train(k),
        "rollout": lambda: pipe.rollout(k),
        "correct": lambda: pipe.correct(k),
        "round": pipe.all_rounds,
        "eval": pipe.evaluate,
    }
    steps[args.learn_command]()
    pipe.print_report()
    return 0
