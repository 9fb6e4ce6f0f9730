"""Training configuration (frozen pydantic, like every config in the project)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from failforward.config import FrozenModel
from failforward.learn.episodes import ActionSource
from failforward.policy.afil.config import AfilModelConfig


class TrainConfig(FrozenModel):
    """How to train a Dual Action Generator.

    Attributes:
        model: model shape (``get_model_preset(...)`` or a custom one).
        out_dir: checkpoints go to ``out_dir/checkpoint_<step>.pt`` and ``out_dir/last.pt``.
        steps: total optimizer steps (a resumed run continues up to this number).
        batch_size: chunks per step.
        lr, weight_decay, grad_clip: AdamW and global-norm gradient clipping.
        failure_fraction: share of each batch drawn from failure episodes (when there are any).
        failure_grad_to_backbone: if False (default, AFIL's disjoint supervision), failure samples
            train only the failure head: their prefix is detached, so the backbone learns from
            success data alone. If True, failure samples also shape the shared backbone.
        action_source: train on the ``sent`` (executed, after safety) or ``policy`` actions.
        checkpoint_every: steps between checkpoints (the last step is always saved).
        resume: continue from ``out_dir/last.pt`` if it exists.
        seed: seeds torch and the batch sampler.
        threads: torch CPU threads (1 on shared machines).
        ema_decay: exponential moving average of the weights (``learn.ema``, decay warmed up from 0); the export
            takes the average. 0 (default) = off, the last iterate is exported.
        rtc_max_delay: D [chunk rows], training-time real-time chunking (arXiv 2512.05964): each sample is
            conditioned on a clean prefix of ``d ~ U{0, …, D}`` rows (see ``flow_loss``); 0 = off. A prefix
            must leave a row to predict, so training uses ``prefix_delay = min(D, H − 1)``, and the exported
            manifest records that (``Manifest.prefix_training``).
        init_weights: a ``weights.pt`` (model directory file) that initializes a fresh run, for fine-tuning:
            its parameters and norm stats are used, and its model config must equal ``model``, or be ``model``
            with fewer state features (``model``'s appended: the model is widened, ``learn.widen_state``).
        random_shift: pad [pixels] of the random-shift augmentation of camera images (``learn.augment``),
            applied to every training batch of a model with cameras; 0 = off. State-only models ignore it.
        object_aux_weight: weight of the training-only auxiliary loss that regresses the task objects' positions
            (``EpisodeArrays.object_targets``) from the image encoder's camera tokens (``learn.object_aux``); needs
            a model with cameras and episodes with targets. The head is not exported. 0 (default) = off.
        failure_head_from: a ``weights.pt`` whose backbone and success head are kept, frozen, and whose norm stats
            are used; a new failure head of ``model``'s ``failure_*`` shape (a light head) is the only part trained
            (``policy.afil.failure_head``). ``model`` must equal the weights' config except for ``failure_*``.
            Only failure samples then carry a gradient. ``None`` (default): train every part.
        done_weight: λ_eoe, weight of the done head's focal loss (``learn.done_loss``) beside the flow loss, for a
            model with ``done_head``; the labels are the episodes' ``done`` (NaN: none). Ignored without a done head.
        device: where the model and its batches live: ``cpu`` (default) or ``cuda`` / ``cuda:<index>``. Batches are
            drawn and every random number is generated on the CPU whatever the device, so a run's samples and noise
            are the same on either (its arithmetic is not bit for bit), and a checkpoint resumes on the other.
    """

    model: AfilModelConfig
    out_dir: Path = Path("runs/afil_train")
    steps: int = Field(2000, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(3e-4, gt=0.0)
    weight_decay: float = Field(1e-4, ge=0.0)
    grad_clip: float = Field(1.0, gt=0.0)
    failure_fraction: float = Field(0.5, ge=0.0, le=1.0)
    failure_grad_to_backbone: bool = False
    action_source: ActionSource = "sent"
    checkpoint_every: int = Field(500, ge=1)
    resume: bool = True
    seed: int = 0
    threads: int = Field(1, ge=1)
    ema_decay: float = Field(0.0, ge=0.0, lt=1.0)
    rtc_max_delay: int = Field(20, ge=0)
    init_weights: Path | None = None
    random_shift: int = Field(4, ge=0)
    object_aux_weight: float = Field(0.0, ge=0.0)
    failure_head_from: Path | None = None
    done_weight: float = Field(1.0, ge=0.0)
    device: str = Field("cpu", pattern=r"^(cpu|cuda(:[0-9]+)?)$")

    @property
    def prefix_delay(self) -> int:
        """The largest prefix trained [chunk rows]: ``rtc_max_delay`` capped at the horizon − 1."""
        return min(self.rtc_max_delay, self.model.horizon - 1)
