"""VINE on the plug strip (issue 16): collect labelled episodes, train System 2, evaluate the paper's Table 1 rows.

System 1 is by default the scripted plug-strip expert executing the subgoal it is prompted with (``subgoal_expert``),
so the rows compare the planners alone (``eval --system1 learned``: the learned System 1, which does not yet execute
subgoals). Every episode runs through
:func:`failforward.control.runtime.run`: the loop, its safety layer, the planning step (replanning after a subgoal
ends and on a persistent deviation); the collection and each evaluation row are one run each (one simulator).

- ``collect``: ``--episodes`` recorded episodes (MCAP) on the ``seen`` split from seed 0 under the random planner
  (its draws depend on each layout, so insertion orders vary); success and failure labelled by the simulator.
- ``train``: thought paths from the recordings (:mod:`failforward.learn.vine.recorded`), then the decision model (on
  every path, as VINE's LM objective runs over its whole dataset; ``--decision-data success`` for an imitation prior
  of the successful paths), the failure-aware value (all paths) and a success-only value (successful paths only),
  saved to ``--models`` (``decision.npz``, ``value.npz``, ``value_success_only.npz``); ``--relations`` adds the
  scene graph's pairwise relations to the features (no gain offline: ``bench/vine_system2_offline.py``).
- ``eval``: held-out seeds (``seen`` from 100000, ``unseen`` from 200000), ``--trials`` per split and row:
  ``system1`` (no planner: the expert's default order, plugs in name order into the first sockets), ``random``,
  ``chain`` (top prior, no value), ``tree`` (the search scored by the success-only value), ``full`` (the search with
  the failure-aware value). Rows go to ``--out`` (jsonl); a stopped run resumes.
- ``train-system1``: VINE's System 1 from the same recordings (:mod:`failforward.learn.vine.system1`): an AFIL flow
  policy on joints + object poses, prompted with the current subgoal (hashed word embeddings by default), with a
  done head trained by focal loss, arm joints as deltas from the chunk's first observed joints, exporting the EMA
  of its weights; failed subgoal segments train its failure head. Exported to ``--models``/``system1``. The
  whole episodes under the task's prompt train it too, for the System-1-alone row. ``bench/vine_system1_offline.py``
  scores it on held-out recordings (done head, action error).
- ``dagger``: DAgger data for the learned System 1 (:mod:`failforward.learn.vine.dagger`): it drives episodes under
  the random planner on the seen split from ``--first-seed`` (layouts it was not trained on), the prompted expert
  labels every chunk boundary with its own chunk from that state, and with probability ``--beta`` the label runs
  instead (``--planner none``: System 1 alone under the task's prompt, labelled with the default order's next
  subgoal); labels go to ``--dagger-dir`` (one ``.npz`` per episode, an ``episodes.jsonl`` index; a stopped run
  resumes). ``train-system1 --dagger DIR`` adds them to the training streams (``--dagger-repeat`` times).
  ``--learner expert --beta 1 --execution-noise σ``: DART labels with no learned model (the scripted System 1 stands in
  for the learner, whose chunks never run at beta 1). ``--object-shifts K --object-shift r``: at each labelled grasp
  state, K more labels with the prompted plug moved up to r [m] per axis (moved-object labels, ``DaggerPolicy``);
  ``--shift-subgoals grasp insert``: insertion states too, with the strip moved.
- ``train-system1 --save-streams FILE``: the prepared training streams (model spaces, deduplicated ticks) and the train
  config in one HDF5 file (:mod:`failforward.learn.stream_file`), for a GPU machine without the simulator:
  ``python -m failforward.learn.train_streams FILE --device cuda``; ``train-system1 --streams FILE`` trains (or, at its
  last step, just exports) from such a file here.
- ``eval --system1 learned``: the same rows with the learned System 1 instead of the scripted one (rows go to
  ``--out``, by default ``docs/vine_results_learned_s1.jsonl``); ``--end-of-edge done_head`` lets its done head end
  each subgoal instead of the scene graph; ``--splits`` restricts the splits.
- ``table``: success per row and split with 95 % Wilson intervals, planning time, and success with the plan held
  (no replanning after a deviation or a diagnosis: a sharper test of the order's risk than success after retries);
  then how the failed episodes ended, and the done head's ends of edge per episode where System 1 has one.

Example:
    MUJOCO_GL=egl nice -n 19 ./run python bench/vine.py collect --episodes 450
    ./run python bench/vine.py train
    MUJOCO_GL=egl nice -n 19 ./run python bench/vine.py eval --trials 45
    ./run python bench/vine.py table
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MUJOCO_GL", "egl")

from failforward.cli.demo import parse_overrides
from failforward.config import RunConfig, load_config
from failforward.control.loop import EpisodeResult
from failforward.control.runtime import run
from failforward.learn.vine.paths import ThoughtPath
from failforward.sim.aloha_scene import GRIPPER_INDICES
from failforward.stats import rate_text

DATA, MODELS, RESULTS = Path("runs/vine/data"), Path("models/vine_plug_strip"), Path("docs/vine_results.jsonl")
LEARNED_RESULTS = Path("docs/vine_results_learned_s1.jsonl")  # eval --system1 learned, unless --out says otherwise
SPLIT_SEEDS = {"seen": 100_000, "unseen": 200_000}
ROWS = ("system1", "random", "chain", "tree", "full")
MAX_STEPS = 2000  # [ticks] 40 s at 50 Hz: two plugs take about 20 s
ARM_JOINTS = tuple(j for j in range(14) if j not in GRIPPER_INDICES)  # ALOHA's 12 arm joints (grippers: 6, 13)
SYSTEM1_TEXT_HELP = (
    "prompt encoder: hash (one learned embedding per word: 'plug_a' and 'plug_b' share nothing) or minilm (sentence "
    "embeddings: 'grasp plug_a' and 'grasp plug_b' are 0.96 cosine-similar, so the subgoal barely conditions the "
    "policy early in training)"
)
SYSTEM1_RTC_HELP = (
    "training-time RTC prefixes of up to this many rows; 0 (default): the evaluation's loop is synchronous and "
    "sends no prefix, and prefix training leaves the prefix-free case 1/(D+1) of the samples"
)


def episode_config(
    split: str, seed: int, planner: dict[str, Any] | None, output: Path | None, system1: Path | None = None
) -> RunConfig:
    """One plug-strip episode: no cameras, object poses in the observation, recorded when ``output`` is set.
    System 1 is the scripted expert (prompted with subgoals under a planner), or the learned model at ``system1``."""
    scripted = {"kind": "subgoal_expert" if planner else "expert"}
    learned = {"kind": "afil", "model_dir": str(system1), "seed": 0, "sampler": {"guidance": {"mode": "none"}}}
    return load_config(
        {
            "robot": {"kind": "sim_aloha", "task": "plug_strip", "split": split, "cameras": [], "object_state": True},
            "policy": scripted if system1 is None else learned,
            "planner": planner,
            "loop": {"max_steps": MAX_STEPS, "realtime": False},
            "record": {"enabled": output is not None, "output_dir": str(output or ".")},
            "episodes": 1,
            "seed": seed,
        }
    )


def row_planner(row: str, seed: int, models: Path, end_of_edge: str = "scene") -> dict[str, Any] | None:
    """The planner config of an evaluation row (``None``: System 1 alone); ``end_of_edge`` as in the planner config."""
    if row == "system1":
        return None
    if row == "random":
        return {"kind": "random", "seed": seed + 1, "end_of_edge": end_of_edge}  # another draw than the data's (0)
    if row == "chain":
        return {"kind": "chain", "decision_model": str(models / "decision.npz"), "end_of_edge": end_of_edge}
    value = "value_success_only.npz" if row == "tree" else "value.npz"
    return {
        "kind": "vine",
        "decision_model": str(models / "decision.npz"),
        "value_model": str(models / value),
        "end_of_edge": end_of_edge,
    }


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def append_row(path: Path, row: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def cmd_collect(args: argparse.Namespace) -> None:
    """Episodes from the first seed not yet in ``episodes.jsonl`` on, in one run (one simulator, one expert)."""
    index = args.data / "episodes.jsonl"
    done = {r["seed"] for r in read_rows(index)}
    first = next(s for s in range(args.first_seed, args.first_seed + args.episodes + 1) if s not in done)
    remaining = args.first_seed + args.episodes - first
    if remaining <= 0:
        return
    config = episode_config("seen", first, {"kind": "random", "seed": 0}, args.data)
    config = config.with_overrides({"episodes": remaining})

    def save(episode: EpisodeResult) -> None:
        row = {"seed": episode.seed, "split": "seen", "success": episode.outcome.success,
               "reason": episode.outcome.reason, "ticks": episode.steps,
               "file": str(episode.files[0]) if episode.files else None}  # fmt: skip
        append_row(index, row)
        print(f"seed {episode.seed}: {'success' if row['success'] else 'failed '} ({row['reason']}), "
              f"{row['ticks']} ticks", flush=True)  # fmt: skip

    run(config, run_name=f"from{first}", on_episode=save)


def recorded_paths(data: Path) -> list[tuple[dict[str, Any], ThoughtPath]]:
    """``(index row, thought path)`` of every episode recorded by ``collect`` in ``data`` that has at least one step."""
    from failforward.kinematics.aloha_ik import AlohaIK
    from failforward.learn.vine.recorded import recorded_path
    from failforward.record.reader import read_episode
    from failforward.sim.tasks import get_task

    ik = AlohaIK(get_task("plug_strip").xml_path)
    out = []
    for row in read_rows(data / "episodes.jsonl"):
        if row.get("file"):
            path = recorded_path(read_episode(row["file"], load_images=False), row["split"], ik)
            if path.steps:
                out.append((row, path))
    return out


def cmd_train(args: argparse.Namespace) -> None:
    from failforward.learn.vine.train import ValueTrainConfig, train_decision, train_value
    from failforward.planner.features import PathFeatures
    from failforward.planner.task_graph import InsertionGraph
    from failforward.sim.plug_strip_layout import PLUGS, SOCKETS

    rows = [r for r in read_rows(args.data / "episodes.jsonl") if r["file"]]
    paths = [path for _, path in recorded_paths(args.data)]
    features = PathFeatures(InsertionGraph(PLUGS, SOCKETS), max_depth=6, relations=args.relations)
    config = ValueTrainConfig(steps=args.steps)
    args.models.mkdir(parents=True, exist_ok=True)
    succeeded = [p for p in paths if p.success]
    train_decision(
        paths if args.decision_data == "all" else succeeded, features, config, out=args.models / "decision.npz"
    )
    train_value(paths, features, config, out=args.models / "value.npz")
    train_value(succeeded, features, config, out=args.models / "value_success_only.npz")
    print(f"{len(paths)} thought paths from {len(rows)} episodes ({len(succeeded)} successful; decision model on "
          f"{args.decision_data}, relations {args.relations}) -> {args.models}")  # fmt: skip


def cmd_train_system1(args: argparse.Namespace) -> None:
    """System 1 (flow + done head) from the recorded episodes (or a stream file), resumable, exported to
    ``--models``/system1; ``--save-streams`` writes the prepared streams for another machine instead of training."""
    from failforward.learn.dataset import model_action_episodes, model_states
    from failforward.learn.stream_file import load_streams, save_streams
    from failforward.learn.trainer import export_checkpoint, train
    from failforward.policy.afil.config import SamplerConfig

    if args.init_weights is not None and args.streams is None:
        raise SystemExit("--init-weights fine-tunes on a stream file: write one with --save-streams, then --streams.")
    if args.streams is not None:
        config, episodes, states = load_streams(args.streams)
        config = type(config).model_validate({**config.model_dump(), **train_overrides(args, config)})
        print(f"{len(episodes)} sample streams from {args.streams}")
    else:
        config, episodes = system1_training(args)
        states = None
    if args.save_streams is not None:
        episodes = model_action_episodes(episodes, config.model)
        save_streams(args.save_streams, config, episodes, model_states(episodes, config.model))
        size = args.save_streams.stat().st_size / 1e6
        print(f"{len(episodes)} streams in the model's spaces -> {args.save_streams} ({size:.1f} MB); train them with "
              f"python -m failforward.learn.train_streams {args.save_streams} --out-dir ... --device cuda")  # fmt: skip
        return
    result = train(config, episodes, states=states)
    out = args.models / "system1"
    sampler = SamplerConfig(guidance={"mode": "none"})
    export_checkpoint(result.checkpoint, out, sampler=sampler, name="vine_plug_strip_system1")
    print(f"System 1 at step {result.step} -> {out}")


def relative_columns(args: argparse.Namespace) -> tuple[int, ...]:
    """The model's relative action dimensions: the arm joints (joint space, ``--relative-actions``) or the tool points
    (tool space, ``--relative-tool``: each row's tool positions as displacements from the measured tool)."""
    from failforward.policy.afil.action_space import TOOL_POSITION_COLUMNS

    if args.action_space == "joints":
        return ARM_JOINTS if args.relative_actions else ()
    return TOOL_POSITION_COLUMNS if args.relative_tool else ()


def train_overrides(args: argparse.Namespace, config: Any) -> dict[str, Any]:
    """The training fields the command line sets on a config read from a stream file: the model's shape is the file's
    but for what leaves the stored streams valid (the state's normalization, the state into the experts' rows, a mean
    head, relative tool positions in a tool-space file)."""
    model = {"state_norm": args.state_norm, "state_in_rows": args.state_in_rows, "mean_head": args.mean_head}
    if args.relative_tool is not None:  # the stored rows are absolute: relative ones are made per batch
        if config.model.action_space != "aloha_tool":
            raise SystemExit(f"--relative-tool needs a tool-space stream file; {args.streams} holds joint targets")
        model["relative_actions"] = relative_columns(args)
    return {
        "model": {**config.model.model_dump(), **{k: v for k, v in model.items() if v is not None}},
        "out_dir": args.train_dir or config.out_dir,
        "steps": args.steps,
        "threads": args.threads,
        "device": args.device,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "init_weights": args.init_weights,
    }


def system1_training(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """``(TrainConfig, sample streams)`` of System 1 from the recordings in ``--data`` and the ``--dagger`` labels."""
    from failforward.learn.config import TrainConfig
    from failforward.learn.vine.system1 import system1_episodes
    from failforward.policy.afil.action_space import TOOL_ACTION_DIM
    from failforward.policy.afil.config import TextEncoderKind, get_model_preset
    from failforward.policy.afil.failure_head import light_head_config

    rows = [r for r in read_rows(args.data / "episodes.jsonl") if r["file"]]
    episodes = system1_episodes([r["file"] for r in rows], task_episodes=args.task_episodes)
    episodes += dagger_streams(args.dagger, args.dagger_repeat)
    state_dim = episodes[0].state.shape[1]
    model = get_model_preset("aloha_state").model_copy(
        update={
            "state_dim": state_dim,
            "text_encoder": TextEncoderKind(args.text_encoder),
            "width": args.width,
            "horizon": args.horizon,
            "max_prompt_tokens": args.max_prompt_tokens,
            "done_head": True,
            "relative_actions": relative_columns(args),
            "action_space": args.action_space,
            "action_dim": TOOL_ACTION_DIM if args.action_space == "aloha_tool" else 14,
            "state_features": (
                *(("aloha_tool_offsets",) if args.tool_offsets else ()),
                *(("aloha_joint_offsets",) if args.joint_offsets else ()),
                *(("plug_strip_socket_offsets",) if args.socket_offsets else ()),
            ),
            "state_norm": args.state_norm or "moments",
            "state_in_rows": bool(args.state_in_rows),
            "mean_head": bool(args.mean_head),
        }
    )
    if args.light_failure_head:
        model = light_head_config(model)
    config = TrainConfig(
        model=model,
        out_dir=args.train_dir or args.data.parent / "system1_train",
        steps=args.steps,
        failure_fraction=0.2,
        threads=args.threads,
        checkpoint_every=250,
        ema_decay=args.ema_decay,
        rtc_max_delay=args.rtc_max_delay,
        device=args.device,
        batch_size=args.batch_size,
        lr=args.lr,
    )
    done_ticks = sum(float(np.nansum(e.done)) for e in episodes)
    print(f"{len(episodes)} sample streams from {len(rows)} episodes ({sum(e.success for e in episodes)} successful, "
          f"{done_ticks:.0f} ticks labelled ended)")  # fmt: skip
    return config, episodes


def dagger_streams(dirs: list[Path], repeat: int) -> list[Any]:
    """The labelled states of ``dirs`` (``bench/vine.py dagger``) as training streams, each ``repeat`` times (their
    ticks are one chunk boundary each, the recordings' every tick: repeating them sets their share of the batches)."""
    from failforward.learn.vine.dagger import labelled_episodes

    files = [Path(r["file"]) for d in dirs for r in read_rows(d / "episodes.jsonl") if r.get("file")]
    streams = labelled_episodes(files)
    if streams:
        print(f"DAgger: {sum(e.length for e in streams)} labelled states from {len(files)} episodes, x{repeat}")
    return streams * repeat


def cmd_dagger(args: argparse.Namespace) -> None:
    """Labelled rollouts of the learned System 1 from ``--first-seed`` on, the seeds not yet in the index."""
    from failforward.learn.vine.dagger import ARM_COLUMNS, GRIPPER_COLUMNS, collect

    index = args.dagger_dir / "episodes.jsonl"
    done = {r["seed"] for r in read_rows(index)}
    todo = [s for s in range(args.first_seed, args.first_seed + args.episodes) if s not in done]
    if not todo:
        return
    if args.learner == "expert" and (args.beta != 1.0 or args.expert_columns != "all"):
        raise SystemExit("--learner expert runs the expert's labels alone (DART): use it with --beta 1 and "
                         "--expert-columns all, or name a learned model with --learner model.")  # fmt: skip
    system1 = None if args.learner == "expert" else args.system1_model or args.models / "system1"
    planner = {"kind": "random", "seed": 0} if args.planner == "random" else None
    # the run's seed is the first seed asked for, not the first left: a resumed run draws beta's coin as the whole one
    config = episode_config("seen", args.first_seed, planner, None, system1)
    config = config.with_overrides({"broker.execute_steps": args.execute_steps})

    def save(episode: EpisodeResult, file: Path | None) -> None:
        labels, moved = np.zeros(0, dtype=bool), 0
        if file is not None:
            with np.load(file) as saved:
                labels, moved = saved["expert_ran"], int(saved["moved"].sum())
        append_row(index, {
            "seed": episode.seed, "success": episode.outcome.success, "reason": episode.outcome.reason,
            "ticks": episode.steps, "labels": int(labels.size), "expert_ran": int(labels.sum()),
            "file": str(file) if file is not None else None, "beta": args.beta, "model": str(system1 or "expert"),
            "planner": args.planner, "expert_columns": args.expert_columns, "execution_noise": args.execution_noise,
            "object_shifts": args.object_shifts, "object_shift": args.object_shift,
            "shift_subgoals": args.shift_subgoals, "insert_noise": args.insert_noise,
        })  # fmt: skip
        print(f"seed {episode.seed}: {'success' if episode.outcome.success else 'failed '} ({episode.outcome.reason}), "
              f"{episode.steps} ticks, {labels.size} labels ({labels.sum()} ran, {moved} moved-object)",
              flush=True)  # fmt: skip

    columns = {"all": None, "grippers": GRIPPER_COLUMNS, "arms": ARM_COLUMNS}[args.expert_columns]
    collect(config, args.dagger_dir, todo, beta=args.beta, expert_columns=columns,
            execution_noise=args.execution_noise, object_shifts=args.object_shifts, object_shift=args.object_shift,
            shift_subgoals=tuple(args.shift_subgoals), insert_noise=args.insert_noise, on_episode=save)  # fmt: skip


def decisive(seed: int, split: str) -> bool:
    """Whether the layout of ``seed`` offers both a safe order (every insertion within ``SAFE`` of the centre line)
    and a far one (some insertion past ``FAR``): the layouts where the order decides (see
    ``bench/plug_strip_expert.py``)."""
    from failforward.sim.plug_strip_layout import sample_layout
    from failforward.sim.plug_strip_subgoals import all_orders
    from plug_strip_expert import FAR, SAFE, order_reach

    layout = sample_layout(seed, split)
    reaches = [order_reach(order, layout) for order in all_orders(layout)]
    return min(reaches) <= SAFE and max(reaches) > FAR


def trial_seeds(split: str, trials: int, layouts: str) -> list[int]:
    """The first ``trials`` held-out seeds of ``split`` (``layouts="all"``), or its first ``trials`` decisive ones."""
    first = SPLIT_SEEDS[split]
    if layouts == "all":
        return [first + k for k in range(trials)]
    seeds = (s for s in range(first, first + 100_000) if decisive(s, split))
    return [next(seeds) for _ in range(trials)]


def cmd_dagger_summary(args: argparse.Namespace) -> None:
    """Per ``bench/vine.py dagger`` directory (and all together): its rollouts' seeds, successes and runs to the time
    limit, from each directory's ``episodes.jsonl``."""
    everything: list[dict[str, Any]] = []
    lines = ["| rollouts | seeds | success [95 % Wilson] | ran to the time limit | labels (ran) |", "| --- " * 5 + "|"]
    for name, rows in [(str(d), read_rows(d / "episodes.jsonl")) for d in args.dirs] + [("all", everything)]:
        if name != "all":
            everything.extend(rows)
        if not rows:
            continue
        seeds = sorted(r["seed"] for r in rows)
        won, limit = sum(r["success"] for r in rows), sum(r["ticks"] >= MAX_STEPS for r in rows)
        labels, ran = sum(r["labels"] for r in rows), sum(r["expert_ran"] for r in rows)
        lines.append(f"| {name} | {seeds[0]}–{seeds[-1]} ({len(seeds)}) | {rate_text(won, len(rows))} | "
                     f"{limit}/{len(rows)} | {labels} ({ran}) |")  # fmt: skip
    print("\n".join(lines))


def cmd_decisive(args: argparse.Namespace) -> None:
    """How many of the first ``--layouts-count`` layouts are decisive: training seeds (seen, from 0) and each split's
    held-out seeds."""
    starts = {"seen (training seeds)": ("seen", 0), **{f"{k} (held out)": (k, v) for k, v in SPLIT_SEEDS.items()}}
    for name, (split, first) in starts.items():
        n = sum(decisive(seed, split) for seed in range(first, first + args.layouts_count))
        print(f"{name}: {n} of {args.layouts_count} layouts from seed {first} are decisive")


def cmd_eval(args: argparse.Namespace) -> None:
    """Per split and row, the trials not yet in ``--out``, one run per stretch of consecutive seeds."""
    done = {(r["row"], r["split"], r["seed"]) for r in read_rows(args.out)}
    system1 = (args.system1_model or args.models / "system1") if args.system1 == "learned" else None
    for split in args.splits:
        seeds = trial_seeds(split, args.trials, args.layouts)
        for row in args.rows:
            todo = [s for s in seeds if (row, split, s) not in done]
            if not todo:
                continue
            planner = row_planner(row, 0, args.models, args.end_of_edge)
            _eval_row(args, row, split, todo, planner, system1)


def _eval_row(
    args: argparse.Namespace,
    row: str,
    split: str,
    seeds: list[int],
    planner: dict[str, Any] | None,
    system1: Path | None,
) -> None:
    """Trials of one row and split at ``seeds``, appended to ``--out`` as they end."""

    def save(episode: EpisodeResult) -> None:
        append_row(args.out, {
            "row": row, "split": split, "seed": episode.seed, "success": episode.outcome.success,
            "reason": episode.outcome.reason, "ticks": episode.steps, "planning": episode.planning,
            "error": episode.error,
        })  # fmt: skip
        print(f"{row:>8} {split:>6} seed {episode.seed}: {'success' if episode.outcome.success else 'failed'}",
              flush=True)  # fmt: skip

    for start, count in _stretches(seeds):
        overrides = {"episodes": count, "broker.execute_steps": args.execute_steps, **parse_overrides(args.set)}
        config = episode_config(split, start, planner, None, system1).with_overrides(overrides)
        with tempfile.TemporaryDirectory() as scratch:
            run(config.with_overrides({"record.output_dir": scratch}), run_name=f"{row}-{split}", on_episode=save)


def _stretches(seeds: list[int]) -> list[tuple[int, int]]:
    """``(first seed, count)`` of each run of consecutive seeds in sorted ``seeds``."""
    out: list[tuple[int, int]] = []
    for seed in seeds:
        if out and out[-1][0] + out[-1][1] == seed:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((seed, 1))
    return out


def table(rows: list[dict[str, Any]]) -> str:
    """Success per row and split (95 % Wilson intervals) and planning time, then how often the plan held: success with
    no replanning after a deviation or a diagnosis (the first committed attempt at each subgoal worked)."""
    lines = ["| row | " + " | ".join(SPLIT_SEEDS) + " | plan time p50 / max [ms] |", "| --- " * 4 + "|"]
    held = ["| row | " + " | ".join(f"{split}: success, plan held" for split in SPLIT_SEEDS) + " |", "| --- " * 3 + "|"]
    for name in ROWS:
        sel = {split: [r for r in rows if r["row"] == name and r["split"] == split] for split in SPLIT_SEEDS}
        cells = [rate_text(sum(r["success"] for r in s), len(s)) for s in sel.values()]
        times = sorted(r["planning"].get("plan_seconds_max", 0.0) * 1000 for r in rows if r["row"] == name)
        timing = f"{times[len(times) // 2]:.1f} / {times[-1]:.1f}" if times and name != "system1" else "–"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {timing} |")
        if name != "system1":  # System 1 alone has no plan to hold
            kept = [rate_text(sum(map(plan_held, s)), len(s)) for s in sel.values()]
            held.append(f"| {name} | " + " | ".join(kept) + " |")
    return "\n".join([*lines, "", *held])


def failures(rows: list[dict[str, Any]]) -> str:
    """Per row and split with failures: how the failed episodes ended (the simulator's reasons, counted) and, where
    System 1 has a done head, the chunks per episode whose done head said the subgoal ended (mean, max)."""
    lines = []
    for name in ROWS:
        for split in SPLIT_SEEDS:
            sel = [r for r in rows if r["row"] == name and r["split"] == split]
            failed = Counter(r["reason"] for r in sel if not r["success"])
            if not failed:
                continue
            ends = [r["planning"].get("done_signals", 0.0) for r in sel]
            done = f"; done-head ends per episode {np.mean(ends):.1f} (max {max(ends):.0f})" if any(ends) else ""
            reasons = ", ".join(f"{n} {reason}" for reason, n in failed.most_common())
            lines.append(f"- {name} {split}: {sum(failed.values())} failed ({reasons}){done}")
    return "\n".join(lines)


def plan_held(row: dict[str, Any]) -> bool:
    """The episode succeeded without replanning after a deviation (a plug let go outside a socket) or a diagnosis."""
    planning = row["planning"]
    return (
        bool(row["success"]) and not planning.get("plans_deviation", 0.0) and not planning.get("plans_diagnosis", 0.0)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    collect = sub.add_parser("collect")
    collect.add_argument("--episodes", type=int, default=450)
    collect.add_argument("--first-seed", type=int, default=0)
    train = sub.add_parser("train")
    train.add_argument("--steps", type=int, default=3000)
    decision_help = (
        "the decision model's paths: every one, as VINE's LM objective over its whole dataset, or the successful ones "
        "(an imitation prior that has already selected by outcome)"
    )
    train.add_argument("--decision-data", choices=("all", "success"), default="all", help=decision_help)
    relations_help = "the scene graph's pairwise relations in the features (PathFeatures.relations)"
    train.add_argument("--relations", action=argparse.BooleanOptionalAction, default=False, help=relations_help)
    evaluate = sub.add_parser("eval")
    evaluate.add_argument("--trials", type=int, default=45)
    evaluate.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    evaluate.add_argument("--splits", nargs="+", default=list(SPLIT_SEEDS), choices=list(SPLIT_SEEDS))
    evaluate.add_argument("--system1", choices=("scripted", "learned"), default="scripted")
    evaluate.add_argument("--end-of-edge", choices=("scene", "done_head"), default="scene")
    evaluate.add_argument("--execute-steps", type=int, default=25, help="chunk rows executed before the next chunk")
    set_help = "override a run config field of every trial, e.g. --set broker.mode='\"ensemble\"' (JSON values)"
    evaluate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=set_help)
    evaluate.add_argument("--system1-model", type=Path, default=None, help="learned System 1 [--models/system1]")
    evaluate.add_argument("--layouts", choices=("all", "decisive"), default="all",
                          help="every held-out layout, or only those with both a safe and a far order")  # fmt: skip
    count = sub.add_parser("decisive", help="count the decisive layouts")
    count.add_argument("--layouts-count", type=int, default=1000)
    system1 = sub.add_parser("train-system1")
    system1.add_argument("--steps", type=int, default=6000)
    system1.add_argument("--threads", type=int, default=1, help="torch threads (2 when nothing else runs)")
    system1.add_argument("--text-encoder", choices=("hash", "minilm"), default="hash", help=SYSTEM1_TEXT_HELP)
    system1.add_argument("--width", type=int, default=128, help="token width of the backbone and experts")
    system1.add_argument("--horizon", type=int, default=50, help="rows per chunk (longer DAgger labels: their first)")
    prompt_help = "longest prompt in words (hash encoder): the backbone's prompt tokens, padded to it on every sample"
    system1.add_argument("--max-prompt-tokens", type=int, default=32, help=prompt_help)
    light_help = "a light failure head (width 32, one cross-attention + MLP block): System 1 is run unguided"
    system1.add_argument("--light-failure-head", action=argparse.BooleanOptionalAction, default=False, help=light_help)
    system1.add_argument("--ema-decay", type=float, default=0.995, help="exported weights: their EMA (0: last step)")
    system1.add_argument("--rtc-max-delay", type=int, default=0, help=SYSTEM1_RTC_HELP)
    task_help = "also train on whole episodes under the task's prompt (the System-1-alone row)"
    system1.add_argument("--task-episodes", action=argparse.BooleanOptionalAction, default=True, help=task_help)
    system1.add_argument("--train-dir", type=Path, default=None, help="checkpoints (default: next to --data)")
    relative_help = "arm joints predicted relative to the chunk's first observed joints (grippers absolute)"
    system1.add_argument("--relative-actions", action=argparse.BooleanOptionalAction, default=True, help=relative_help)
    tool_help = "append the tool points and each object's offset from them to the state (aloha_tool_offsets)"
    system1.add_argument("--tool-offsets", action=argparse.BooleanOptionalAction, default=False, help=tool_help)
    space_help = "joints: rows of joint targets; aloha_tool: tool poses + grippers, joints by IK at run time"
    system1.add_argument("--action-space", choices=("joints", "aloha_tool"), default="joints", help=space_help)
    rel_tool_help = "tool space: tool positions predicted as displacements from the measured tool point (FK)"
    rel_tool_help += " [off; with --streams: the file's]"
    system1.add_argument("--relative-tool", action=argparse.BooleanOptionalAction, default=None, help=rel_tool_help)
    joint_help = "append each arm's joint motion toward each object (aloha_joint_offsets, after any tool offsets)"
    system1.add_argument("--joint-offsets", action=argparse.BooleanOptionalAction, default=False, help=joint_help)
    socket_help = "append each plug's prong tip minus each socket's mouth (plug_strip_socket_offsets, last); with "
    socket_help += "--init-weights of a model without them, the model is widened (learn.widen_state)"
    system1.add_argument("--socket-offsets", action=argparse.BooleanOptionalAction, default=False, help=socket_help)
    norm_help = "state normalization: moments, or robust (a parked plug no longer sets its dimensions' scale) "
    norm_help += "[moments; with --streams: the file's]"
    system1.add_argument("--state-norm", choices=("moments", "robust"), default=None, help=norm_help)
    rows_help = "the state also enters every chunk row of the experts directly (AfilModelConfig.state_in_rows) [off; "
    rows_help += "with --streams: the file's]"
    system1.add_argument("--state-in-rows", action=argparse.BooleanOptionalAction, default=None, help=rows_help)
    mean_help = "a regression head for the chunk's mean, the flow around it (AfilModelConfig.mean_head) [off; with "
    mean_help += "--streams: the file's]"
    system1.add_argument("--mean-head", action=argparse.BooleanOptionalAction, default=None, help=mean_help)
    dagger_help = "DAgger label directories (bench/vine.py dagger) added to the training streams"
    system1.add_argument("--dagger", type=Path, nargs="*", default=[], help=dagger_help)
    system1.add_argument("--dagger-repeat", type=int, default=10, help="times each labelled state is repeated")
    system1.add_argument("--device", default="cpu", help="cpu, cuda or cuda:<index> (TrainConfig.device)")
    init_help = "fine-tune: a System 1 weights.pt (its model shape and norm stats) starts the run, with --streams"
    system1.add_argument("--init-weights", type=Path, default=None, help=init_help)
    system1.add_argument("--batch-size", type=int, default=64, help="chunks per optimizer step")
    system1.add_argument("--lr", type=float, default=3e-4, help="AdamW learning rate")
    save_help = "write the prepared streams and the train config to this file and stop (learn.stream_file)"
    system1.add_argument("--save-streams", type=Path, default=None, help=save_help)
    streams_help = "train from a stream file instead of --data/--dagger (its model shape; these flags: the rest)"
    system1.add_argument("--streams", type=Path, default=None, help=streams_help)
    dagger = sub.add_parser("dagger", help="labelled rollouts of the learned System 1")
    dagger.add_argument("--episodes", type=int, default=100)
    dagger.add_argument("--first-seed", type=int, default=1000, help="seen-split layouts (training: 0-449)")
    dagger.add_argument("--beta", type=float, default=0.5, help="probability that a chunk's label runs")
    dagger.add_argument("--dagger-dir", type=Path, default=Path("runs/vine/dagger"))
    dagger.add_argument("--system1-model", type=Path, default=None, help="learned System 1 [--models/system1]")
    dagger.add_argument("--execute-steps", type=int, default=25, help="chunk rows executed before the next chunk")
    planner_help = "random: subgoal prompts from the random planner; none: System 1 alone under the task's prompt"
    dagger.add_argument("--planner", choices=("random", "none"), default="random", help=planner_help)
    columns_help = "what of a label runs when it runs: all, its grippers or its arms (an ablation at beta 1)"
    dagger.add_argument("--expert-columns", choices=("all", "grippers", "arms"), default="all", help=columns_help)
    noise_help = "DART: std [rad] of a per-chunk offset on the arm joints of a label that runs (saved labels: clean)"
    dagger.add_argument("--execution-noise", type=float, default=0.0, help=noise_help)
    insert_help = "DART: the offset's std [rad] for insertion labels instead (default: --execution-noise)"
    dagger.add_argument("--insert-noise", type=float, default=None, help=insert_help)
    shifts_help = "moved-object labels per grasp (insert) state: the expert asked again with the plug (strip) moved"
    dagger.add_argument("--object-shifts", type=int, default=0, help=shifts_help)
    dagger.add_argument("--object-shift", type=float, default=0.04, help="a moved object's largest shift per axis [m]")
    subgoals_help = "the subgoals given moved-object labels: grasp (the plug moved), insert (the strip moved)"
    dagger.add_argument("--shift-subgoals", nargs="+", choices=("grasp", "insert"), default=["grasp"],
                        help=subgoals_help)  # fmt: skip
    learner_help = ("model: the learned System 1 drives (DAgger); expert: the scripted System 1 stands in for it, "
                    "so DART labels (--beta 1) need no model")  # fmt: skip
    dagger.add_argument("--learner", choices=("model", "expert"), default="model", help=learner_help)
    show = sub.add_parser("table")
    summary = sub.add_parser("dagger-summary", help="the outcomes of dagger directories' rollouts")
    summary.add_argument("dirs", type=Path, nargs="+", help="bench/vine.py dagger --dagger-dir directories")
    for p in (collect, train, evaluate, show, system1, dagger):
        p.add_argument("--data", type=Path, default=DATA)
        p.add_argument("--models", type=Path, default=MODELS)
        p.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if getattr(args, "system1", "scripted") == "learned" and args.out == RESULTS:
        args.out = LEARNED_RESULTS
    commands = {
        "decisive": cmd_decisive,
        "collect": cmd_collect,
        "train": cmd_train,
        "train-system1": cmd_train_system1,
        "dagger": cmd_dagger,
        "dagger-summary": cmd_dagger_summary,
        "eval": cmd_eval,
    }
    commands.get(args.command, lambda a: None)(args)
    if args.command in ("eval", "table"):
        rows = read_rows(args.out)
        print(table(rows), failures(rows), sep="\n\n")


if __name__ == "__main__":
    main()
