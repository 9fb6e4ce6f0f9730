"""The learning pipeline's configuration and run-directory layout (one concept: where things go).

A run directory holds everything of one pipeline run::

    <run_dir>/state.json                  PipelineConfig + finished steps (``RunState``)
    <run_dir>/demos/*.mcap                expert successes (seeds demo_seed ...)
    <run_dir>/symbols/*.mcap              symbol-following episodes (seeds symbol_seed ..., when symbol_episodes > 0)
    <run_dir>/round_<k>/train/            training checkpoints of round k (resumable)
    <run_dir>/round_<k>/model/            exported model of round k (manifest + ONNX + weights)
    <run_dir>/round_<k>/rollouts/*.mcap   rollouts of the round-k model, labelled by the simulator
    <run_dir>/round_<k>/corrections/*.mcap  replay + expert takeover of each failed rollout
    <run_dir>/eval/<method>/*.mcap        evaluation episodes; eval/results.json, eval/summary.csv

Seeds never overlap: demos ``demo_seed + i``, round-k rollouts ``rollout_seed + 1000 k + i``,
evaluation ``eval_seed + i`` (held out; defaults 0, 10 000, 100 000), symbol episodes ``symbol_seed + i``
(default 50 000).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from failforward.config import FrozenModel, ManiSkillConfig, get_preset
from failforward.learn.correction import CutRule

RTC_DEFAULT_DELAY = 20  # [chunk rows] the training-time RTC prefix bound of models deployed asynchronously


def benchmark_only(preset: str) -> bool:
    """Whether ``preset``'s robot exists only as a benchmark simulator (ManiSkill); unknown presets raise."""
    return isinstance(get_preset(preset).robot, ManiSkillConfig)


class PipelineConfig(FrozenModel):
    """Everything that defines one learning run (stored in ``state.json``; changing it needs a new run dir).

    Attributes:
        preset: RunConfig preset of the robot/task (``sim_transfer_cube``, ``sim_insertion``...).
        model: model shape name (``failforward.learn.models.LEARN_MODELS``); its ``state_dim`` is set to
            the robot's (joints + object state).
        object_state: the simulated robot adds its task objects' ground-truth poses to every
            observation, so a state-only policy can see where the cube or peg lies.
        demos: expert success episodes collected in ``collect``.
        train_steps, finetune_steps: optimizer steps of round 0 and of each later round (which
            continues from the previous round's checkpoint with the failures and corrections added).
        batch_size, lr, failure_fraction, failure_grad_to_backbone: see ``TrainConfig``.
        rounds: K, rounds of rollout → correct → retrain after the success-only round 0.
        rollouts: rollouts of each round's model used to collect failures.
        rollout_gamma: adaptive-guidance γ of the rollouts of rounds ≥ 1 (round 0 has no failure head).
        cut_rule, cut_fraction: where a failure is handed to the expert (``learn.correction``).
        max_steps: ticks per rollout / evaluation episode [ticks at 50 Hz].
        eval_configs, eval_runs: N held-out initial configurations × M runs (flow-noise seeds) each.
        static_lambdas, gammas: guidance sweeps of the evaluation.
        symbol_episodes: symbol-following episodes generated in ``symbols`` (``failforward.learn.symbols.generate``:
            expert prelude, then one atomic corrective motion prompted by its ViFailback sentence); the corrective
            ticks of those that were followed join every round's success data. 0 (default) = none.
        symbol_seed: first seed of the symbol episodes.
        rtc_max_delay: D [chunk rows], training-time real-time chunking (``TrainConfig.rtc_max_delay``): every
            round trains with clean action prefixes of ``d ~ U{0, …, D}`` rows (capped at the horizon − 1);
            0 = off. Not given: 0 on a benchmark-only robot (ManiSkill: its loop waits for every chunk and no
            deployment overlaps inference with execution, so no prefix is ever frozen, and the prefixes cost the
            success head: PullCube-v1, 50 demos, 800 steps, 62 % of 800 rollouts without them, 11 of the first
            122 with D = 15 of 16 rows), else ``RTC_DEFAULT_DELAY`` (the ALOHA and Franka models deploy with
            asynchronous inference). Runs stored before this option existed read 0 (they trained without prefixes).
        init_model: a model directory (``models/<name>``) whose weights and norm stats initialize round 0
            (fine-tuning instead of training from scratch); ``None`` = from scratch.
        object_aux_weight: weight of the training-only auxiliary loss that regresses the task objects' positions
            (the simulator's ground truth, recorded in every expert demo) from the image encoder's camera tokens
            (``learn.object_aux``, ``TrainConfig.object_aux_weight``); needs a model with cameras. Privileged
            supervision: never a model input, not exported. 0 (default) = off.
        ema_decay: exponential moving average of the weights in every round's training (``TrainConfig.ema_decay``;
            the exported model is the average, and a later round continues it). 0 (default) = off.
        max_correction_share: cap on the corrections' share of a round's success episodes: the demos are repeated
            (``learn.sources.demo_repeats``) until the corrections are at most this fraction. ``None`` (default) =
            no cap. On PullCube-v1 (``bench/correction_round.py``) the 50 demos + 117 corrections fine-tune fell to
            23 % (EMA: 54 %) from the base's 67 %; with the demos x 4 (corrections at the paper's 0.4) 59 % (65 %).
        random_shift: pad [pixels] of the random-shift augmentation of a camera model's training images
            (``TrainConfig.random_shift``; 0 = off). Runs stored before this option existed read 4 (what they used).
    """

    preset: str = "sim_transfer_cube"
    model: str = "aloha_state_cpu"
    object_state: bool = False
    demos: int = Field(30, ge=1)
    demo_seed: int = 0
    train_steps: int = Field(2000, ge=1)
    finetune_steps: int = Field(1000, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(3e-4, gt=0.0)
    failure_fraction: float = Field(0.5, ge=0.0, le=1.0)
    failure_grad_to_backbone: bool = False
    rounds: int = Field(1, ge=0)
    rollouts: int = Field(20, ge=1)
    rollout_seed: int = 10_000
    rollout_gamma: float = Field(1.0, ge=0.0)
    cut_rule: CutRule = "last_max_stage"
    cut_fraction: float = Field(0.5, gt=0.0, le=1.0)
    max_steps: int = Field(400, ge=1)
    eval_configs: int = Field(20, ge=1)
    eval_runs: int = Field(1, ge=1)
    eval_seed: int = 100_000
    static_lambdas: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2)
    gammas: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0)
    seed: int = 0
    symbol_episodes: int = Field(0, ge=0)
    symbol_seed: int = 50_000
    rtc_max_delay: int = Field(RTC_DEFAULT_DELAY, ge=0)
    init_model: str | None = None
    object_aux_weight: float = Field(0.0, ge=0.0)
    random_shift: int = Field(4, ge=0)
    ema_decay: float = Field(0.0, ge=0.0, lt=1.0)
    max_correction_share: float | None = Field(None, gt=0.0, lt=1.0)

    @model_validator(mode="before")
    @classmethod
    def _rtc_for_the_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("rtc_max_delay") is None:
            preset = data.get("preset", cls.model_fields["preset"].default)
            return {**data, "rtc_max_delay": 0 if benchmark_only(preset) else RTC_DEFAULT_DELAY}
        return data

    @model_validator(mode="after")
    def _seeds_disjoint(self) -> PipelineConfig:
        ranges = sorted(
            [
                (self.demo_seed, self.demo_seed + self.demos),
                (self.rollout_seed, self.rollout_seed + 1000 * self.rounds + self.rollouts),
                (self.eval_seed, self.eval_seed + self.eval_configs),
                (self.symbol_seed, self.symbol_seed + self.symbol_episodes),
            ]
        )
        if any(a[1] > b[0] for a, b in itertools.pairwise(ranges)):
            raise ValueError(
                f"demo, rollout, eval and symbol seed ranges overlap: {ranges}; move demo_seed/"
                "rollout_seed/eval_seed/symbol_seed"
            )
        if self.rollouts > 1000:
            raise ValueError("rollouts per round must be <= 1000 (round k uses seeds rollout_seed + 1000 k + i)")
        return self


class RunLayout:
    """Paths inside one run directory (see the module docstring)."""

    def __init__(self, run_dir: Path) -> None:
        self.root = Path(run_dir)

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def demos(self) -> Path:
        return self.root / "demos"

    @property
    def symbols(self) -> Path:
        return self.root / "symbols"

    def round_dir(self, k: int) -> Path:
        return self.root / f"round_{k}"

    def train(self, k: int) -> Path:
        return self.round_dir(k) / "train"

    def model(self, k: int) -> Path:
        return self.round_dir(k) / "model"

    def rollouts(self, k: int) -> Path:
        return self.round_dir(k) / "rollouts"

    def corrections(self, k: int) -> Path:
        return self.round_dir(k) / "corrections"

    @property
    def eval(self) -> Path:
        return self.root / "eval"

    def rel(self, path: Path) -> str:
        """``path`` relative to the run directory (how the state file names files)."""
        return str(Path(path).relative_to(self.root))
