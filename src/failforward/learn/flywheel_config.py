"""The deployment flywheel's configuration, run-directory layout and resumable state (one concept: a flywheel run).

A flywheel run directory::

    <run_dir>/flywheel.json            FlywheelConfig + finished steps (atomic writes)
    <run_dir>/round_<k>/deploy*/       recordings of model k deployed on training seeds (a resumed deployment
                                       records its remaining seeds into a fresh deploy-<n>/; nothing is overwritten)
    <run_dir>/round_<k>/train/         fine-tuning checkpoints of model k (k >= 1; resumable)
    <run_dir>/round_<k>/model/         model k (k >= 1; model 0 is ``base_model``)
    <run_dir>/eval/round_<k>/run_<m>*/ held-out evaluation of model k, flow-noise seed 10 000 + m
    <run_dir>/results.json             per-round summary and every evaluation episode (``learn.flywheel_results``)

Seeds: round-k deployments ``deploy_seed + 1000 k + i`` (training seeds), evaluation ``eval_seed + i`` (held out).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field, model_validator

from failforward.config import FrozenModel
from failforward.errors import ConfigError
from failforward.learn.step_log import StepLog, refuse_other_settings


class FlywheelConfig(FrozenModel):
    """Everything that defines one flywheel run (stored in ``flywheel.json``; changing it needs a new run dir).

    Attributes:
        base_model: model directory of round 0 (``models/<name>`` or a ``failforward learn`` round's ``model/``).
        preset: the deployed RunConfig preset (an AFIL preset: its robot, supervisor and recovery).
        rounds: deploy → record → retrain rounds after the base model.
        deploy_episodes, deploy_seed, deploy_max_steps: episodes per round, first training seed, ticks per episode.
        supervised: deploy with the preset's supervisor and recovery machine (as ``failforward demo``); their
            diagnoses and corrections are recorded and a corrected success trains from its correction.
        extra_recordings: recordings added to every round's training data (e.g. the base model's expert demos).
        finetune_steps, batch_size, lr, failure_fraction: training of each round (``TrainConfig``), from the previous
            round's weights and norm stats.
        failure_head_only: every round trains a new failure head, from scratch, on every failure recorded so far,
            on the base model's frozen backbone and success head (``TrainConfig.failure_head_from``): the success head
            stays the base's bit for bit, so a round cannot degrade it, and only what guidance does changes.
            Successes and ``extra_recordings`` are not used; ``failure_fraction`` is 1 (every chunk a failure's).
        failure_width, failure_layers: the shape of that head (cross-attention + MLP blocks, as
            ``models/afil_aloha_transfer_cube_light``); used with ``failure_head_only`` only.
        gamma: adaptive guidance γ of a model whose failure head has trained (deployment and evaluation); a model
            without failure data (a success-only base) runs unguided.
        eval_configs, eval_runs, eval_seed, eval_max_steps: held-out evaluation of every round's model, the policy
            alone (no supervisor, no recovery): ``eval_configs`` configurations × ``eval_runs`` noise seeds.
        seed: seeds training (``seed + k``) and the deployments' flow noise (``seed + k``).
    """

    base_model: str
    preset: str = "sim_transfer_cube_afil"
    rounds: int = Field(3, ge=1)
    deploy_episodes: int = Field(30, ge=1, le=1000)
    deploy_seed: int = 20_000
    deploy_max_steps: int = Field(600, ge=1)
    supervised: bool = True
    extra_recordings: tuple[str, ...] = ()
    finetune_steps: int = Field(400, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-4, gt=0.0)
    failure_fraction: float = Field(0.5, ge=0.0, le=1.0)
    failure_head_only: bool = False
    failure_width: int = Field(32, ge=2, multiple_of=2)
    failure_layers: int = Field(1, ge=1)
    gamma: float = Field(1.0, ge=0.0)
    eval_configs: int = Field(50, ge=1)
    eval_runs: int = Field(3, ge=1)
    eval_seed: int = 100_000
    eval_max_steps: int = Field(400, ge=1)
    seed: int = 0

    @model_validator(mode="after")
    def _seeds_disjoint(self) -> FlywheelConfig:
        deploy_end = self.deploy_seed + 1000 * self.rounds
        if self.deploy_seed < self.eval_seed + self.eval_configs and self.eval_seed < deploy_end:
            raise ValueError(
                f"deployment seeds {self.deploy_seed}..{deploy_end} overlap the held-out evaluation seeds "
                f"{self.eval_seed}..{self.eval_seed + self.eval_configs}; move deploy_seed or eval_seed"
            )
        return self


class FlywheelLayout:
    """Paths inside one flywheel run directory (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def round_dir(self, k: int) -> Path:
        return self.root / f"round_{k}"

    def deploy_name(self, k: int) -> str:
        return f"round_{k}/deploy"

    def deploy_dirs(self, k: int) -> list[Path]:
        """Every deployment directory of round ``k`` (``deploy``, ``deploy-1``, ... after resumes)."""
        return sorted(self.round_dir(k).glob("deploy*"))

    def train(self, k: int) -> Path:
        return self.round_dir(k) / "train"

    def model(self, k: int) -> Path:
        return self.round_dir(k) / "model"

    def eval_name(self, k: int, m: int) -> str:
        return f"eval/round_{k}/run_{m}"

    @property
    def results(self) -> Path:
        return self.root / "results.json"

    def rel(self, path: Path) -> str:
        return str(Path(path).relative_to(self.root))


class FlywheelState(StepLog[FlywheelConfig]):
    """``<run_dir>/flywheel.json``: the config and every finished step (a step is stored once it has finished)."""

    @classmethod
    def open(cls, run_dir: Path, config: FlywheelConfig | None = None) -> FlywheelState:
        """Load the run's state, or create it with ``config``; a different ``config`` is refused (``ConfigError``)."""
        path = Path(run_dir) / "flywheel.json"
        if path.is_file():
            data = json.loads(path.read_text())
            stored = FlywheelConfig.model_validate(data["config"])
            fix = f"Resume with `failforward learn flywheel --run-dir {run_dir}` alone, or pass another --run-dir."
            refuse_other_settings(path, stored, config, fix)
            return cls(path, stored, data["steps"])
        if config is None:
            raise ConfigError(
                f"No flywheel run at {run_dir}; start one with `failforward learn flywheel --base-model`."
            )
        state = cls(path, config, {})
        state._write()
        return state
