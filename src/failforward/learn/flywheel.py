"""The deployment flywheel: deploy → record → retrain, K rounds, each model evaluated on held-out seeds.

Round ``k`` deploys model ``k`` (round 0: ``base_model``) with the deployed preset, as ``failforward demo`` runs it
(the same :func:`failforward.control.runtime.run`, its supervisor and recovery machine when ``supervised``), on
training seeds, recording every episode. Model ``k + 1`` is fine-tuned from model ``k``'s weights on the recordings
themselves (``learn.recorded``: no conversion step): the failure head on their failures, the success head on their
successes and corrections, plus ``extra_recordings``. Every model is evaluated alone (no supervisor, no recovery) on
``eval_configs`` held-out configurations × ``eval_runs`` flow-noise seeds. Every step is skipped once finished
(``flywheel.json``); an interrupted deployment records its remaining seeds into a fresh directory; training resumes
from its last checkpoint. ``failforward learn flywheel`` is the command line.

Example:
    >>> wheel = Flywheel(FlywheelState.open(Path("runs/learn/flywheel"), FlywheelConfig(base_model="models/m")))
    >>> wheel.run_all()
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from failforward.config import RunConfig, get_preset
from failforward.config.policy import GuidanceConfig
from failforward.control.loop import EpisodeResult
from failforward.control.runtime import run
from failforward.learn.flywheel_config import FlywheelLayout, FlywheelState
from failforward.learn.flywheel_results import write_flywheel_results
from failforward.learn.recorded import Chosen, Selection, load_selection, select_recorded
from failforward.learn.step_log import episode_row
from failforward.policy.afil.manifest import load_manifest
from failforward.record.reader import read_episode

logger = logging.getLogger(__name__)

INTERRUPTED = "aborted: interrupted"


class Flywheel:
    """The flywheel's steps over one run directory; each checks the state and records itself when finished."""

    def __init__(self, state: FlywheelState) -> None:
        self.state, self.cfg = state, state.config
        self.layout = FlywheelLayout(state.path.parent)

    # ---- models
    def model_dir(self, k: int) -> Path:
        return Path(self.cfg.base_model) if k == 0 else self.layout.model(k)

    def guidance(self, k: int) -> GuidanceConfig:
        """Adaptive γ once the model's failure head has trained on failures, else none (an untrained head)."""
        training = load_manifest(self.model_dir(k)).training
        if training is not None and training.failure_ticks > 0:
            return GuidanceConfig(mode="adaptive", gamma=self.cfg.gamma)
        return GuidanceConfig(mode="none")

    def run_config(self, k: int, *, episodes: int, seed: int, noise_seed: int, deploy: bool) -> RunConfig:
        """The preset with model ``k``; a deployment keeps its supervisor and recovery (when ``supervised``), an
        evaluation runs the policy alone and renders no camera. Both infer synchronously and run as fast as the machine
        allows (``loop.realtime = false``), so simulated time waits for each chunk and the outcome does not depend on
        the machine's load (the demo's asynchronous inference aborts a starved episode on a loaded machine)."""
        overrides: dict[str, Any] = {
            "policy.model_dir": str(self.model_dir(k).resolve()),
            "policy.threads": 1,
            "policy.seed": noise_seed,
            "policy.sampler.guidance": self.guidance(k).model_dump(mode="json"),
            "loop.max_steps": self.cfg.deploy_max_steps if deploy else self.cfg.eval_max_steps,
            "loop.realtime": False,
            "broker.inference": "synchronous",  # the loop waits for each chunk: no load-dependent starvation
            "record.output_dir": str(self.layout.root),
            "episodes": episodes,
            "seed": seed,
        }
        if not (deploy and self.cfg.supervised):
            overrides.update({"supervisor.enabled": False, "recovery.enabled": False, "robot.cameras": []})
        return get_preset(self.cfg.preset).with_overrides(overrides)

    # ---- steps
    def run_all(self) -> None:
        """Every round: evaluate model k, deploy it, train model k + 1; then evaluate the last model."""
        for k in range(self.cfg.rounds):
            self.evaluate(k)
            self.train(k + 1)
        self.evaluate(self.cfg.rounds)

    def deploy(self, k: int) -> None:
        """Deploy model ``k`` on its training seeds; seeds already recorded whole (a resumed run) are not rerun."""
        step = f"deploy_{k}"
        if self.state.done(step):
            return
        t0 = time.perf_counter()
        first = self.cfg.deploy_seed + 1000 * k
        done = self._recorded_seeds(k)
        for block in _blocks([s for s in range(first, first + self.cfg.deploy_episodes) if s not in done]):
            config = self.run_config(k, episodes=len(block), seed=block[0], noise_seed=self.cfg.seed + k, deploy=True)
            _run_with_bar(config, self.layout.deploy_name(k), f"deploy round {k}")
        files = self._recorded_seeds(k)
        outcomes = select_recorded(files[s] for s in sorted(files)).counts()
        rel = [self.layout.rel(files[s]) for s in sorted(files)]
        self.state.finish(step, {"seconds": time.perf_counter() - t0, "outcomes": outcomes, "files": rel})

    def _recorded_seeds(self, k: int) -> dict[int, Path]:
        """Seed → file of round ``k``'s deployment episodes that finished (not interrupted)."""
        out: dict[int, Path] = {}
        for directory in self.layout.deploy_dirs(k):
            for path in sorted(directory.glob("*.mcap")):
                meta = read_episode(path, load_images=False).metadata
                if meta.get("seed") and meta.get("reason") != INTERRUPTED:
                    out[int(meta["seed"])] = path
        return out

    def selection(self, k: int) -> Selection:
        """Training data of model ``k``: deployments of rounds ``< k`` plus ``extra_recordings``."""
        files = [self.layout.root / f for j in range(k) for f in self.state.info(f"deploy_{j}")["files"]]
        extra = select_recorded(Path(p) for p in self.cfg.extra_recordings) if self.cfg.extra_recordings else None
        deployed = select_recorded(files)
        chosen: list[Chosen] = (extra.chosen if extra else []) + deployed.chosen
        skipped = (extra.skipped if extra else []) + deployed.skipped
        return Selection(chosen, skipped)

    def train(self, k: int) -> None:
        """Fine-tune model ``k`` from model ``k - 1`` on the recordings (deploying model ``k - 1`` first)."""
        self.deploy(k - 1)
        step = f"train_{k}"
        if self.state.done(step):
            return
        from failforward.learn.flywheel_train import train_round

        t0 = time.perf_counter()
        selection = self.selection(k)
        logger.info("round %d training data: %s", k, selection.summary())
        episodes = load_selection(selection)
        info = train_round(self, k, episodes)
        self.state.finish(
            step,
            {
                **info,
                "data": selection.counts(),
                "seconds": time.perf_counter() - t0,
                "skipped": [[str(p), r] for p, r in selection.skipped],
            },
        )

    def evaluate(self, k: int) -> None:
        """Model ``k`` alone on the held-out seeds, one step per noise seed; results rewritten after each."""
        if k > 0:
            self.train(k)
        for m in range(self.cfg.eval_runs):
            step = f"eval_{k}_run{m}"
            if self.state.done(step):
                continue
            t0 = time.perf_counter()
            config = self.run_config(
                k, episodes=self.cfg.eval_configs, seed=self.cfg.eval_seed, noise_seed=10_000 + m, deploy=False
            )
            episodes = _run_with_bar(config, self.layout.eval_name(k, m), f"eval round {k} run {m}")
            rows = [self._row(e) for e in episodes]
            self.state.finish(step, {"seconds": time.perf_counter() - t0, "episodes": rows})
            write_flywheel_results(self)

    def _row(self, e: EpisodeResult) -> dict[str, Any]:
        return episode_row(e, self.layout.rel(e.files[0]) if e.files else None)


def _blocks(seeds: list[int]) -> list[list[int]]:
    """Runs of consecutive seeds (one ``run`` each)."""
    blocks: list[list[int]] = []
    for s in seeds:
        if blocks and blocks[-1][-1] == s - 1:
            blocks[-1].append(s)
        else:
            blocks.append([s])
    return blocks


def _run_with_bar(config: RunConfig, run_name: str, desc: str) -> list[EpisodeResult]:
    """Run ``config`` into a fresh ``<run_dir>/<run_name>[-n]`` (an earlier directory is never written into)."""
    with tqdm(total=config.episodes, desc=desc, unit="episode") as bar:

        def advance(episode: EpisodeResult) -> None:
            bar.set_postfix_str("success" if episode.outcome.success else f"fail: {episode.outcome.reason}")
            bar.update()

        return run(config, run_name=run_name, on_episode=advance).episodes
