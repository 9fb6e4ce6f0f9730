"""The training loop: seeded, resumable, checkpointed, with a progress bar.

Checkpoints (``out_dir/checkpoint_<step>.pt`` and a copy ``out_dir/last.pt``) hold the model, the
optimizer, the norm stats, the train config and both random generators, so a resumed run continues
exactly where an uninterrupted one would have been.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from failforward.errors import ConfigError
from failforward.learn.augment import random_shift
from failforward.learn.config import TrainConfig
from failforward.learn.dataset import Batch, ChunkDataset, model_action_episodes, model_states
from failforward.learn.done_loss import focal_loss
from failforward.learn.ema import WeightAverage
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.flow_loss import flow_matching_loss
from failforward.learn.object_aux import ObjectAux
from failforward.learn.widen_state import widen_state_input, widens
from failforward.policy.afil.config import AfilModelConfig, SamplerConfig
from failforward.policy.afil.export import export_model
from failforward.policy.afil.failure_head import with_new_failure_head
from failforward.policy.afil.manifest import Manifest, PrefixTraining, TrainingSummary
from failforward.policy.afil.model import DualActionGenerator
from failforward.policy.afil.normalize import NormStats
from failforward.policy.afil.prompt_table import PromptTable
from failforward.policy.afil.weights import load_weights

logger = logging.getLogger(__name__)

LAST = "last.pt"


@dataclass(frozen=True)
class TrainResult:
    """Where the final checkpoint is, the step reached and the per-step losses of this run."""

    checkpoint: Path
    step: int
    losses: list[float]


def _tensors(batch: Batch, shift: int, gen: torch.Generator, device: torch.device) -> dict[str, torch.Tensor]:
    """Batch → tensors on ``device``; camera images get the random-shift augmentation (``shift`` pixels, drawn from
    ``gen`` on the CPU)."""
    names = ("state", "images", "actions", "failure", "objects", "objects_known", "done", "done_known")
    fields = {**batch.prompt, **{k: getattr(batch, k) for k in names}}
    tensors = {k: torch.from_numpy(v) for k, v in fields.items() if v is not None}
    if "images" in tensors:
        tensors["images"] = random_shift(tensors["images"], shift, gen)
    return {k: v.to(device, non_blocking=True) for k, v in tensors.items()}


def training_device(name: str) -> torch.device:
    """``TrainConfig.device`` as a torch device; a CUDA device this machine does not have is a :class:`ConfigError`."""
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device = {name!r}, but torch sees no CUDA GPU here (torch {torch.__version__}, built for CUDA "
            f"{torch.version.cuda}); train with device = 'cpu' or install a CUDA build of torch on a GPU machine."
        )
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"device = {name!r}, but this machine has {torch.cuda.device_count()} CUDA device(s).")
    return device


def _save(
    path: Path,
    model,
    optimizer,
    data: ChunkDataset,
    config: TrainConfig,
    step: int,
    rng,
    gen,
    aux: ObjectAux | None,
    average: WeightAverage | None,
) -> None:
    tmp = path.with_suffix(".tmp")
    extra: dict = {} if average is None else {"ema": average.state_dict()}
    if aux is not None and data.object_stats is not None:  # the head and its target stats (not exported)
        extra |= {"object_aux": aux.state_dict(), "object_stats": data.object_stats.to_dict()}
    torch.save(
        {
            **extra,
            "ticks": {"success": len(data.success_index), "failure": len(data.failure_index)},
            "prompt_table": None if data.prompt_table is None else data.prompt_table.to_dict(),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "norm": data.norm.to_dict(),
            "step": step,
            "config": config.model_dump(mode="json"),
            "numpy_rng": rng.bit_generator.state,
            "torch_rng": gen.get_state(),
        },
        tmp,
    )
    tmp.replace(path)
    shutil.copyfile(path, path.with_name(LAST))


def _load_checkpoint(path: Path, model_config: AfilModelConfig) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=True)
    saved = AfilModelConfig.model_validate(state["config"]["model"])
    if saved != model_config:
        raise ConfigError(
            f"{path} was trained with a different model config ({saved}); use another out_dir or resume=False."
        )
    return state


def _initial(
    config: TrainConfig, episodes: list[EpisodeArrays], states: list[np.ndarray]
) -> tuple[DualActionGenerator, NormStats]:
    """A fresh model with norm stats fitted to ``episodes`` (model ``states``), or ``config.init_weights``
    (fine-tuning), or ``config.failure_head_from``'s backbone and success head with a new failure head."""
    if config.failure_head_from is not None:
        if config.init_weights is not None:
            raise ConfigError("failure_head_from and init_weights both initialize the model; set one of them.")
        base, norm = load_weights(config.failure_head_from)
        logger.info("new failure head on the backbone and success head of %s", config.failure_head_from)
        return with_new_failure_head(base, config.model), norm
    if config.init_weights is None:
        return DualActionGenerator(config.model), ChunkDataset.fit_norm(episodes, config.model, states)
    model, norm = load_weights(config.init_weights)
    if widens(model.config, config.model):
        logger.info("initialized from %s, widened for %s", config.init_weights, config.model.state_features)
        return widen_state_input(model, norm, config.model, ChunkDataset.fit_norm(episodes, config.model, states))
    if model.config != config.model:
        raise ConfigError(
            f"{config.init_weights} holds a {model.config} model, the run asks for {config.model}; "
            "fine-tune with the model shape of the weights (or with state features appended to its own)."
        )
    logger.info("initialized from %s", config.init_weights)
    return model, norm


def _object_aux(config: TrainConfig, model: DualActionGenerator, data: ChunkDataset) -> ObjectAux | None:
    """The object-pose auxiliary head when ``config.object_aux_weight > 0`` (``learn.object_aux``), else ``None``."""
    if config.object_aux_weight == 0:
        return None
    if data.object_stats is None:
        raise ConfigError(
            f"object_aux_weight = {config.object_aux_weight} needs episodes with object_targets (the simulator's "
            "object poses, recorded with the robot's object_state; `failforward learn` records them in the expert "
            "demos when --object-aux-weight > 0); set object_aux_weight = 0 or record them."
        )
    return ObjectAux(model, data.object_stats.size)


def _trainable(config: TrainConfig, model: DualActionGenerator) -> list[torch.nn.Parameter]:
    """Parameters the optimizer updates: all, or (``failure_head_from``) the failure head's, the rest frozen."""
    if config.failure_head_from is None:
        return list(model.parameters())
    model.requires_grad_(False)
    failure = model.experts.get_submodule("failure").requires_grad_(True)
    return list(failure.parameters())


def _step_loss(
    model: DualActionGenerator,
    batch: dict[str, torch.Tensor],
    gen: torch.Generator,
    config: TrainConfig,
    aux: ObjectAux | None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Flow-matching loss plus ``done_weight ·`` the done head's focal loss (a model with a done head) plus
    ``object_aux_weight ·`` the auxiliary object-position loss (when on)."""
    prefix = None
    if model.done is not None:
        prefix = model.encode(batch["state"], batch, batch.get("images"))
    loss, metrics = flow_matching_loss(
        model, batch, gen, config.failure_grad_to_backbone, config.prefix_delay, prefix=prefix
    )
    if model.done is not None and prefix is not None:
        done = focal_loss(model.done(prefix), batch["done"], batch["done_known"])
        loss, metrics = loss + config.done_weight * done, {**metrics, "loss_done": done.item()}
    if aux is None:
        return loss, metrics
    objects = aux.loss(batch["objects"], batch["objects_known"])
    return loss + config.object_aux_weight * objects, {**metrics, "loss_objects": objects.item()}


def train(
    config: TrainConfig,
    episodes: list[EpisodeArrays],
    *,
    states: list[np.ndarray] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train (or resume training) a Dual Action Generator on ``episodes``; ``states``: their model states when the
    caller has them (``learn.stream_file``), else computed here."""
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    last = config.out_dir / LAST
    resumed = _load_checkpoint(last, config.model) if config.resume and last.is_file() else None
    episodes = model_action_episodes(episodes, config.model)  # once: tool-space rows cost forward kinematics per row
    if states is None:
        states = model_states(episodes, config.model)  # once: derived features cost forward kinematics per tick
    if resumed is None:
        model, norm = _initial(config, episodes, states)
    else:
        model, norm = DualActionGenerator(config.model), NormStats.from_dict(resumed["norm"])
    data = ChunkDataset(episodes, config.model, norm, states)
    device = training_device(config.device)
    model = model.to(device).train()
    aux = _object_aux(config, model, data)
    if aux is not None:
        aux.to(device)
    params = _trainable(config, model) + (list(aux.parameters()) if aux is not None else [])
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    rng, gen = np.random.default_rng(config.seed), torch.Generator().manual_seed(config.seed)
    start = 0
    if resumed:
        if (aux is not None) != ("object_aux" in resumed):
            raise ConfigError(
                f"{last} was trained {'without' if aux is not None else 'with'} the object-pose auxiliary loss; "
                "resume with its object_aux_weight or use another out_dir."
            )
        if aux is not None:
            aux.load_state_dict(resumed["object_aux"])
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        rng.bit_generator.state, start = resumed["numpy_rng"], int(resumed["step"])
        gen.set_state(resumed["torch_rng"])
        logger.info("resumed %s at step %d", last, start)
    average = WeightAverage(model, config.ema_decay) if config.ema_decay > 0 else None
    if average is not None and resumed and "ema" in resumed:
        average.load_state_dict(resumed["ema"])  # a checkpoint without one starts its average here
    logger.info("training on %d success / %d failure ticks", len(data.success_index), len(data.failure_index))
    losses: list[float] = []
    bar = tqdm(range(start, config.steps), initial=start, total=config.steps, disable=not progress, desc="afil")
    path = last
    for step in bar:
        batch = _tensors(data.sample(rng, config.batch_size, config.failure_fraction), config.random_shift, gen, device)
        loss, metrics = _step_loss(model, batch, gen, config, aux)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        optimizer.step()
        if average is not None:
            average.update(model, step)
        losses.append(loss.item())
        bar.set_postfix({k: f"{v:.3f}" for k, v in metrics.items()}, refresh=False)
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
            path = config.out_dir / f"checkpoint_{step + 1:07d}.pt"
            _save(path, model, optimizer, data, config, step + 1, rng, gen, aux, average)
    if aux is not None:
        aux.close()
    return TrainResult(path, max(start, config.steps), losses)


def checkpoint_prefix_delay(config: dict) -> int:
    """The largest training-time RTC prefix [chunk rows] of a checkpoint's stored ``TrainConfig`` (0: none). Checkpoints
    from before training-time RTC have no ``rtc_max_delay``: they were trained without prefixes."""
    return TrainConfig.model_validate({"rtc_max_delay": 0, **config}).prefix_delay


def export_checkpoint(
    checkpoint: Path,
    model_dir: Path,
    *,
    sampler: SamplerConfig | None = None,
    name: str | None = None,
    precisions: tuple[str, ...] = ("fp32",),
) -> Manifest:
    """Export a training checkpoint to a runtime model directory (weights, ONNX graphs, manifest); a checkpoint
    trained with ``ema_decay`` exports its averaged weights."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model = DualActionGenerator(AfilModelConfig.model_validate(state["config"]["model"]))
    model.load_state_dict(state["ema"] if "ema" in state else state["model"])
    norm = NormStats.from_dict(state["norm"])
    ticks = state["ticks"]
    training = TrainingSummary(
        steps=state["step"],
        success_ticks=ticks["success"],
        failure_ticks=ticks["failure"],
        object_aux_weight=state["config"].get("object_aux_weight", 0.0),
    )
    delay = checkpoint_prefix_delay(state["config"])
    return export_model(
        model.eval(),
        norm,
        model_dir,
        name=name,
        sampler=sampler,
        precisions=precisions,
        training=training,
        prefix_training=PrefixTraining(max_delay=delay) if delay else None,
        prompts=PromptTable.from_dict(state["prompt_table"]) if state.get("prompt_table") else None,
    )
