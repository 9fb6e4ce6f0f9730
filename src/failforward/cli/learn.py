"""``failforward learn``: collect → train → roll out → correct failures → retrain → evaluate (AFIL §3–4).

Example (CPU, state observations, one task; about 30 min on a shared 2-core machine):
    failforward learn round --run-dir runs/learn/tc --preset sim_transfer_cube --rounds 1
    failforward learn eval  --run-dir runs/learn/tc
    failforward learn table --run-dir runs/learn/tc --out docs/afil_results.md
    failforward learn ship  --run-dir runs/learn/tc --name afil_aloha_transfer_cube

Symbol-following data (ViFailback VSF: expert prelude, then one atomic corrective motion prompted by its
sentence; the followed ones join the success data of training):
    failforward learn symbols --run-dir runs/learn/tc_sym --object-state --symbol-episodes 200

Learning from recorded episodes (``failforward demo``, a deployment, the ROS policy node), read from the MCAPs
directly; outcomes from an operator label (``failforward label``), else the simulator, else the supervisor:
    failforward learn recorded runs/20261202-030750-sim_transfer_cube_afil --out runs/learn/rec \
        --init-model models/afil_aloha_transfer_cube --steps 500
    failforward learn recorded runs/<run> --out runs/learn/rec --dry-run     # what would train, what is skipped

The deployment flywheel (deploy → record → retrain, K rounds, held-out evaluation per round; resumable):
    failforward learn flywheel --run-dir runs/learn/flywheel --base-model models/afil_aloha_transfer_cube
    failforward learn table --run-dir runs/learn/flywheel --out docs/afil_flywheel.md

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
FLYWHEEL_EXTENDABLE = ("rounds", "eval_runs")  # a flywheel run may grow by these on resume


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
    _add_recorded(sub)
    _add_flywheel(sub)
    ship = sub.add_parser("ship", help="copy the final model + generated model card to models/<name>")
    ship.add_argument("--run-dir", type=Path, required=True)
    ship.add_argument("--name", required=True)
    ship.add_argument("--models", type=Path, default=Path("models"))


def _add_recorded(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recorded", help="train on recorded episodes (MCAP files or directories), read directly")
    p.add_argument("sources", type=Path, nargs="+", help="episode .mcap files or directories (searched recursively)")
    p.add_argument("--out", type=Path, required=True, help="output: <out>/train checkpoints, <out>/model")
    p.add_argument("--init-model", type=Path, help="model directory to fine-tune (default: from scratch)")
    p.add_argument("--model", default="aloha_state_cpu", help=f"shape from scratch: one of {', '.join(LEARN_MODELS)}")
    p.add_argument("--steps", type=int, default=1000, help="total optimizer steps (a resumed run continues)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--failure-head-only",
        action="store_true",
        help="train only a new light failure head on the failures, on --init-model's frozen backbone and success head",
    )
    p.add_argument("--failure-width", type=int, default=32, help="the light failure head's width (--failure-head-only)")
    p.add_argument("--failure-layers", type=int, default=1, help="its cross-attention + MLP blocks")
    p.add_argument("--dry-run", action="store_true", help="only list each episode's outcome and source, and skips")


def _add_flywheel(sub: argparse._SubParsersAction) -> None:
    from failforward.learn.flywheel_config import FlywheelConfig

    p = sub.add_parser("flywheel", help="deploy → record → retrain rounds with held-out evaluation (resumable)")
    p.add_argument("--run-dir", type=Path, required=True, help="run directory (flywheel.json lives here)")
    for name, field in FlywheelConfig.model_fields.items():
        flag = "--" + name.replace("_", "-")
        if name == "supervised":
            p.add_argument("--unsupervised", dest="supervised", action="store_false", default=None)
        elif field.annotation is bool:
            p.add_argument(flag, action="store_true", default=None, help=f"(default {field.default})")
        elif name == "extra_recordings":
            p.add_argument(flag, nargs="+", help="recordings added to every round's training data")
        else:
            kind = type(field.default) if field.default is not None and name != "base_model" else str
            p.add_argument(flag, type=kind, help=f"(default {field.default})")


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
            elif name == "rtc_max_delay":
                help_text = f"training-time RTC prefix bound [rows] (default {field.default}; 0 on ManiSkill presets)"
            p.add_argument(flag, type=kind, help=help_text)


def _open_state(args: argparse.Namespace) -> RunState:
    given = {k: getattr(args, k) for k in PipelineConfig.model_fields if getattr(args, k, None) is not None}
    if (Path(args.run_dir) / "state.json").is_file():
        state = RunState.open(args.run_dir)
        stored = state.config.model_dump()
        extendable = {k: v for k, v in given.items() if k in EXTENDABLE and _differs(v, stored[k])}
        if extendable:  # more rounds or another evaluation size keep every finished step valid
            state.config = PipelineConfig.model_validate({**state.config.model_dump(), **extendable})
            state.finish("config_updated", {"fields": sorted(extendable)})
        # validated (not model_copy): options arrive as lists, the stored config holds tuples
        RunState.open(args.run_dir, PipelineConfig.model_validate({**state.config.model_dump(), **given}))
        return state
    return RunState.open(args.run_dir, PipelineConfig(**given))


def _differs(given: object, stored: object) -> bool:
    """A command-line value (lists for tuples) that changes the stored one; the same value records nothing."""
    as_tuple = lambda v: tuple(v) if isinstance(v, list | tuple) else v  # noqa: E731
    return as_tuple(given) != as_tuple(stored)


# --------------------------------------------------------------------------- entry
def run_learn(args: argparse.Namespace) -> int:
    if args.learn_command == "table":
        from failforward.learn.flywheel_results import is_flywheel_run, write_flywheel_report
        from failforward.learn.report import write_report

        flywheel = all(is_flywheel_run(d) for d in args.run_dir)
        for path in (write_flywheel_report if flywheel else write_report)(args.run_dir, args.out):
            print(f"wrote {path}")
        return 0
    if args.learn_command == "recorded":
        return _run_recorded(args)
    if args.learn_command == "flywheel":
        return _run_flywheel(args)
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


def _run_recorded(args: argparse.Namespace) -> int:
    if args.dry_run:
        from failforward.learn.recorded import select_recorded

        selection = select_recorded(args.sources)
        for chosen in selection.chosen:
            o = chosen.outcome
            role = "success" if o.success else "failure"
            tail = f", from tick {o.start} (corrected)" if o.corrected else ""
            print(f"{chosen.path}: {role} ({o.source}{tail})")
        for path, reason in selection.skipped:
            print(f"{path}: skipped ({reason})")
        print(selection.summary())
        return 0
    from failforward.learn.from_recordings import train_on_recordings

    info = train_on_recordings(
        args.sources,
        args.out,
        init_model=args.init_model,
        model=args.model,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        failure_head=(args.failure_width, args.failure_layers) if args.failure_head_only else None,
    )
    print(f"trained {info['steps']} steps on {info['data']}; model: {info['model']}")
    return 0


def _run_flywheel(args: argparse.Namespace) -> int:
    from failforward.learn.flywheel import Flywheel
    from failforward.learn.flywheel_config import FlywheelConfig, FlywheelState

    names = FlywheelConfig.model_fields
    given = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    stored = (Path(args.run_dir) / "flywheel.json").is_file()
    if stored:
        state = FlywheelState.open(args.run_dir)
        current = state.config.model_dump()
        extendable = {k: v for k, v in given.items() if k in FLYWHEEL_EXTENDABLE and _differs(v, current[k])}
        if extendable:  # more rounds or evaluation runs keep every finished step valid
            state.config = FlywheelConfig.model_validate({**state.config.model_dump(), **extendable})
            state.finish("config_updated", {"fields": sorted(extendable)})
        if given:  # validated: options arrive as lists, the stored config holds tuples
            FlywheelState.open(args.run_dir, FlywheelConfig.model_validate({**state.config.model_dump(), **given}))
    else:
        state = FlywheelState.open(args.run_dir, FlywheelConfig.model_validate(given))
    Flywheel(state).run_all()
    print(f"finished: {', '.join(state.steps)}; results: {Path(args.run_dir) / 'results.json'}")
    return 0
