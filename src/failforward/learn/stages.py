"""The learning pipeline's stages over one run directory: collect → symbols → train → roll out → correct →
retrain → evaluate (AFIL §3–4), each skipped when ``state.json`` says it is finished.

Expert demos, rollouts and evaluation episodes run through :func:`failforward.control.runtime.run` (the loop,
its safety layer and the recorder) with the preset's robot, the model's cameras and no supervisor; symbol
episodes come from :mod:`failforward.learn.symbols.generate` and failures are corrected by
:mod:`failforward.learn.correctors`. ``failforward learn`` (``failforward.cli.learn``) is its command line.

Example:
    >>> pipe = Pipeline(RunState.open("runs/learn/tc", PipelineConfig(preset="sim_transfer_cube", rounds=1)))
    >>> pipe.evaluate()          # runs every unfinished stage up to the evaluation
    >>> pipe.print_report()
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from failforward.config import RunConfig, get_preset, load_config
from failforward.config.policy import AfilPolicyConfig, GuidanceConfig, SamplerConfig
from failforward.control.loop import EpisodeResult
from failforward.control.runtime import run
from failforward.errors import ConfigError
from failforward.learn.config import TrainConfig
from failforward.learn.correctors import correct_failures
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.methods import EvalMethod, eval_methods
from failforward.learn.models import get_learn_model
from failforward.learn.pipeline import RunLayout
from failforward.learn.results import EpisodeRecord, write_results
from failforward.learn.run_state import RunState
from failforward.learn.sources import EpisodeSlice, demo_repeats, load_slices
from failforward.learn.step_log import episode_row
from failforward.record.reader import read_episode
from failforward.robots.registry import describe_robot

TRAINING_JPEG_QUALITY = 95  # low-resolution frames a vision model trains on: little JPEG loss vs the live render


class Pipeline:
    """The pipeline's steps over one run directory; every step checks ``state`` and records itself."""

    def __init__(self, state: RunState) -> None:
        self.state, self.cfg = state, state.config
        self.layout = RunLayout(state.path.parent)
        self.model = get_learn_model(self.cfg.model)
        features = describe_robot(self.run_config(policy=None, episodes=1, seed=0, max_steps=1).robot).features
        self.model = self.model.model_copy(update={"state_dim": features.state_dim})

    # ---- configs
    def run_config(
        self, *, policy: dict[str, Any] | None, episodes: int, seed: int, max_steps: int, record_objects: bool = False
    ) -> RunConfig:
        """The preset with this model's cameras, no supervisor, recording into the run directory.

        ``record_objects``: the simulated robot reports (and the recorder records) its objects' poses even when the
        model does not read them; only for the scripted expert, which reads the scene itself (the auxiliary
        loss's targets, ``PipelineConfig.object_aux_weight``).
        """
        data = get_preset(self.cfg.preset).model_dump()
        if self.cfg.object_state or record_objects:
            if "object_state" not in data["robot"]:
                flag = "--object-state" if self.cfg.object_state else "--object-aux-weight > 0"
                raise ConfigError(
                    f"{flag} needs a simulated robot that knows its objects' poses; preset "
                    f"{self.cfg.preset!r} drives {data['robot']['kind']!r}."
                )
            data["robot"]["object_state"] = True
        if "cameras" in data["robot"]:  # camera-equipped robots render exactly the model's cameras
            data["robot"].update(cameras=list(self.model.cameras), depth_cameras=[])
        if self.model.cameras:
            data["robot"].update(image_height=self.model.image_height, image_width=self.model.image_width)
            data["record"]["jpeg_quality"] = TRAINING_JPEG_QUALITY  # the frames are training data
            if "antialias" in data["robot"]:  # 2.8x faster software rendering; the model trains and runs on it
                data["robot"]["antialias"] = False
        data["supervisor"]["enabled"] = False
        if "recovery" in data:  # recovery acts on supervisor diagnoses; learning runs measure the policy alone
            data["recovery"]["enabled"] = False
        data["record"]["output_dir"] = str(self.layout.root)
        data["loop"].update(max_steps=max_steps, realtime=False, stop_on_success=True)
        data.update(episodes=episodes, seed=seed)
        if policy is not None:
            data["policy"] = policy
        return load_config(data)

    def afil_policy(self, k: int, guidance: GuidanceConfig, noise_seed: int) -> dict[str, Any]:
        policy = AfilPolicyConfig(
            model_dir=self.layout.model(k).resolve(),
            backend="onnxruntime",
            threads=1,
            sampler=SamplerConfig(guidance=guidance),
            seed=noise_seed,
        )
        return policy.model_dump()

    # ---- steps
    def collect(self) -> None:
        if self.state.done("collect"):
            return
        t0 = time.perf_counter()
        max_steps = get_preset(self.cfg.preset).loop.max_steps
        config = self.run_config(
            policy=None,
            episodes=self.cfg.demos,
            seed=self.cfg.demo_seed,
            max_steps=max_steps,
            record_objects=self.cfg.object_aux_weight > 0,
        )
        episodes = _run_with_bar(config, self.layout.rel(self.layout.demos), "collect (expert)")
        ok = [e for e in episodes if e.outcome.success]
        self.state.finish(
            "collect",
            {
                "episodes": len(episodes),
                "successes": len(ok),
                "seconds": time.perf_counter() - t0,
                "files": [self.layout.rel(f) for e in ok for f in e.files],
            },
        )

    def symbols(self) -> None:
        """Symbol-following episodes into ``symbols/`` (``failforward.learn.symbols.generate``); none by default."""
        if self.cfg.symbol_episodes == 0 or self.state.done("symbols"):
            return
        from failforward.learn.symbols.generate import generate_symbol_episodes

        t0 = time.perf_counter()
        config = self.run_config(policy=None, episodes=1, seed=0, max_steps=1)
        shutil.rmtree(self.layout.symbols, ignore_errors=True)  # redo an interrupted step
        with tqdm(total=self.cfg.symbol_episodes, desc="symbols", unit="episode") as bar:
            rows = generate_symbol_episodes(
                config,
                self.layout.rel(self.layout.symbols),
                self.cfg.symbol_episodes,
                self.cfg.symbol_seed,
                on_episode=lambda _: bar.update(),
            )
        for row in rows:
            row["file"] = self.layout.rel(Path(row["file"]))
        self.state.finish("symbols", {"seconds": time.perf_counter() - t0, "episodes": rows})

    def train(self, k: int) -> None:
        if k > 0:
            self.correct(k - 1)
        else:
            self.collect()
            self.symbols()
        step = f"train_{k}"
        if self.state.done(step):
            return
        from failforward.learn.trainer import export_checkpoint, train

        t0 = time.perf_counter()
        out = self.layout.train(k)
        total = self.cfg.train_steps + k * self.cfg.finetune_steps
        if k > 0 and not (out / "last.pt").is_file():  # round k continues from round k-1
            out.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.layout.train(k - 1) / "last.pt", out / "last.pt")
        success, failure = self.training_slices(k)
        symbols = self._symbol_episodes()
        episodes = load_slices(success + failure, load_images=bool(self.model.cameras))
        if not self.cfg.object_state:  # poses recorded for the auxiliary loss are targets, never an input
            episodes = [e.objects_as_targets() for e in episodes]
        episodes += symbols
        config = TrainConfig(
            model=self.model,
            out_dir=out,
            steps=total,
            batch_size=self.cfg.batch_size,
            lr=self.cfg.lr,
            failure_fraction=self.cfg.failure_fraction,
            failure_grad_to_backbone=self.cfg.failure_grad_to_backbone,
            seed=self.cfg.seed + k,
            checkpoint_every=250,
            rtc_max_delay=self.cfg.rtc_max_delay,
            init_weights=self._init_weights() if k == 0 else None,
            object_aux_weight=self.cfg.object_aux_weight,
            random_shift=self.cfg.random_shift,
            ema_decay=self.cfg.ema_decay,
        )
        result = train(config, episodes)
        export_checkpoint(result.checkpoint, self.layout.model(k), name=f"{self.cfg.preset}_round{k}")
        self.state.finish(
            step,
            {
                "steps": total,
                "success_episodes": len(success),
                "failure_episodes": len(failure),
                "symbol_episodes": len(symbols),
                "final_loss": float(np.mean(result.losses[-50:])) if result.losses else None,
                "seconds": time.perf_counter() - t0,
                "model": self.layout.rel(self.layout.model(k)),
            },
        )

    def _init_weights(self) -> Path | None:
        """``weights.pt`` of ``init_model`` (round 0 fine-tunes it), or ``None`` (from scratch)."""
        if self.cfg.init_model is None:
            return None
        from failforward.policy.afil.manifest import load_manifest

        model_dir = Path(self.cfg.init_model)
        return model_dir / load_manifest(model_dir).weights  # verified: hashes match the manifest

    def training_slices(self, k: int) -> tuple[list[EpisodeSlice], list[EpisodeSlice]]:
        """Round ``k``'s training data: ``(success, failure)`` slices — the demos (repeated so that the corrections
        are at most ``max_correction_share`` of the success slices, when set) and the corrections of rounds < k
        (each from its takeover tick), and the failed rollouts of rounds < k."""
        root = self.layout.root
        demos = [EpisodeSlice(root / f) for f in self.state.info("collect")["files"]]
        corrections, failure = [], []
        for j in range(k):
            corrections += [
                EpisodeSlice(root / c["file"], c["takeover"])
                for c in self.state.info(f"correct_{j}")["corrections"]
                if c["success"]
            ]
            failure += [
                EpisodeSlice(root / r["file"]) for r in self.state.info(f"rollout_{j}")["episodes"] if not r["success"]
            ]
        repeat = demo_repeats(len(demos), len(corrections), self.cfg.max_correction_share)
        return demos * repeat + corrections, failure

    def _symbol_episodes(self) -> list[EpisodeArrays]:
        """Corrective ticks of the followed symbol episodes (success data); a vision model sees them through VSF
        (symbols drawn, ROI mask, idle wrist zeroed), as the VSF mode shows them at runtime."""
        if not self.cfg.symbol_episodes:
            return []
        from failforward.learn.symbols.read import symbol_episode, vsf_arrays

        vision, out = bool(self.model.cameras), []
        for row in self.state.info("symbols")["episodes"]:
            if row["success"]:
                sample = symbol_episode(read_episode(self.layout.root / row["file"], load_images=vision))
                out.append(vsf_arrays(sample.arrays, sample.diagnosis) if vision else sample.arrays)
        return out

    def rollout(self, k: int) -> None:
        self.train(k)
        step = f"rollout_{k}"
        if self.state.done(step):
            return
        t0 = time.perf_counter()
        guidance = (
            GuidanceConfig(mode="none") if k == 0 else GuidanceConfig(mode="adaptive", gamma=self.cfg.rollout_gamma)
        )
        seed = self.cfg.rollout_seed + 1000 * k
        config = self.run_config(
            policy=self.afil_policy(k, guidance, self.cfg.seed + k),
            episodes=self.cfg.rollouts,
            seed=seed,
            max_steps=self.cfg.max_steps,
        )
        episodes = _run_with_bar(config, self.layout.rel(self.layout.rollouts(k)), f"rollout round {k}")
        self.state.finish(
            step,
            {
                "seconds": time.perf_counter() - t0,
                "guidance": guidance.model_dump(mode="json"),
                "episodes": [self._record(e) for e in episodes],
            },
        )

    def correct(self, k: int) -> None:
        self.rollout(k)
        step = f"correct_{k}"
        if self.state.done(step):
            return
        t0 = time.perf_counter()
        failures = [r for r in self.state.info(f"rollout_{k}")["episodes"] if not r["success"]]
        corrections = correct_failures(self, failures, k)
        self.state.finish(step, {"seconds": time.perf_counter() - t0, "corrections": corrections})

    def all_rounds(self) -> None:
        self.train(self.cfg.rounds)

    def evaluate(self) -> None:
        self.all_rounds()
        final = self.cfg.rounds
        has_failures = self.state.info(f"train_{final}")["failure_episodes"] > 0
        records: list[EpisodeRecord] = []
        for method in eval_methods(self.cfg, final, has_failures):
            records += self._eval_method(method)
        write_results(self.layout.eval, self.cfg, records, self._round_summary())

    def _eval_method(self, method: EvalMethod) -> list[EpisodeRecord]:
        step = f"eval_r{method.round}_{self.cfg.eval_configs}x{self.cfg.eval_runs}_{method.name}"
        if not self.state.done(step):
            t0, rows = time.perf_counter(), []
            for m in range(self.cfg.eval_runs):
                policy = self.afil_policy(method.round, method.guidance, noise_seed=10_000 + m)
                config = self.run_config(
                    policy=policy, episodes=self.cfg.eval_configs, seed=self.cfg.eval_seed, max_steps=self.cfg.max_steps
                )
                name = self.layout.rel(self.layout.eval / method.name / f"run_{m}")
                for e in _run_with_bar(config, name, f"eval {method.name} run {m}"):
                    rows.append({**self._record(e), "run": m})
            self.state.finish(step, {"seconds": time.perf_counter() - t0, "episodes": rows})
        rows = self.state.info(step)["episodes"]
        return [EpisodeRecord.from_row(method, self.cfg.preset, r) for r in rows]

    def _record(self, e: EpisodeResult) -> dict[str, Any]:
        return episode_row(e, self.layout.rel(e.files[0]) if e.files else None)

    def _round_summary(self) -> list[dict[str, Any]]:
        rows = []
        for k in range(self.cfg.rounds + 1):
            row: dict[str, Any] = {
                "round": k,
                **{
                    f"train_{key}": self.state.info(f"train_{k}").get(key)
                    for key in ("steps", "success_episodes", "failure_episodes", "seconds")
                },
            }
            if self.state.done(f"rollout_{k}"):
                eps = self.state.info(f"rollout_{k}")["episodes"]
                row.update(
                    rollouts=len(eps),
                    rollout_successes=sum(e["success"] for e in eps),
                    rollout_seconds=self.state.info(f"rollout_{k}")["seconds"],
                )
            if self.state.done(f"correct_{k}"):
                cs = self.state.info(f"correct_{k}")["corrections"]
                row.update(
                    corrections=len(cs),
                    corrected=sum(c["success"] for c in cs),
                    correct_seconds=self.state.info(f"correct_{k}")["seconds"],
                )
            rows.append(row)
        return rows

    def print_report(self) -> None:
        for name, info in self.state.steps.items():
            extra = ""
            if "episodes" in info and isinstance(info["episodes"], list):
                eps = info["episodes"]
                extra = f" {sum(e['success'] for e in eps)}/{len(eps)} succeeded"
            elif "corrections" in info:
                cs = info["corrections"]
                extra = f" {sum(c['success'] for c in cs)}/{len(cs)} corrections succeeded"
            elif "successes" in info:
                extra = f" {info['successes']}/{info['episodes']} expert successes"
            print(f"{name:28s} {info.get('seconds', 0):7.0f} s{extra}")


def _run_with_bar(config: RunConfig, run_name: str, desc: str) -> list[EpisodeResult]:
    shutil.rmtree(Path(config.record.output_dir) / run_name, ignore_errors=True)  # redo an interrupted step
    with tqdm(total=config.episodes, desc=desc, unit="episode") as bar:

        def advance(episode: EpisodeResult) -> None:
            bar.set_postfix_str("success" if episode.outcome.success else f"fail: {episode.outcome.reason}")
            bar.update()

        return run(config, run_name=run_name, on_episode=advance).episodes
