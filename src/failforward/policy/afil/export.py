"""Export a trained :class:`DualActionGenerator` to a model directory (weights, ONNX graphs, manifest).

Example:
    >>> from failforward.policy.afil import DualActionGenerator, NormStats, get_model_preset
    >>> from failforward.policy.afil.export import export_model
    >>> cfg = get_model_preset("tiny_state")
    >>> manifest = export_model(DualActionGenerator(cfg), NormStats.identity(4, 4), tmp_path / "tiny")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import logging
import warnings
from pathlib import Path

import torch

from failforward.errors import ConfigError
from failforward.policy.afil import signature as sig
from failforward.policy.afil.config import AfilModelConfig, SamplerConfig
from failforward.policy.afil.graphs import build_graphs
from failforward.policy.afil.manifest import (
    GraphSpec,
    Manifest,
    PrefixTraining,
    PromptTableSpec,
    TensorSpec,
    TrainingSummary,
    write_manifest,
)
from failforward.policy.afil.minilm import MINILM_DIM, MINILM_NAME, minilm_versions
from failforward.policy.afil.model import DualActionGenerator
from failforward.policy.afil.normalize import NormStats
from failforward.policy.afil.prompt_table import PROMPT_TABLE_FILE, PromptTable
from failforward.policy.afil.text_encoder import SENTENCE_DIMS
from failforward.policy.afil.weights import WEIGHTS_FILE, save_weights

logger = logging.getLogger(__name__)

OPSET = 17


def example_inputs(config: AfilModelConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """Batch-1 example of every graph input name (observation, noise, guidance and the split-layout cache)."""
    g = torch.Generator().manual_seed(seed)
    c = config
    x = {
        "state": torch.randn(1, c.input_state_dim, generator=g),
        "tokens": torch.randint(1, c.vocab_size, (1, c.max_prompt_tokens), generator=g),
        "token_mask": torch.arange(c.max_prompt_tokens)[None] < max(1, c.max_prompt_tokens // 2),
        "prompt_embedding": torch.nn.functional.normalize(torch.randn(1, MINILM_DIM, generator=g), dim=-1),
        "noise": torch.randn(1, c.horizon, c.action_dim, generator=g),
        "guidance": torch.tensor([0.0, 1.0, 1.0]),
        "x": torch.randn(1, c.horizon, c.action_dim, generator=g),
        "tau": torch.tensor([0.3]),
        "prefix": torch.randn(1, c.horizon, c.action_dim, generator=g),
        "prefix_len": torch.tensor([min(2, c.horizon - 1)], dtype=torch.int64),
    }
    if c.cameras:
        x["images"] = torch.randint(0, 256, (1, len(c.cameras), c.image_height, c.image_width, 3), generator=g).to(
            torch.uint8
        )
    return x


_DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


@torch.no_grad()
def _export_graphs(
    model: DualActionGenerator, num_steps: int, precision: str, out_dir: Path, prefix: bool
) -> dict[str, GraphSpec]:
    """Export every graph of ``model`` (already in ``precision``) as ``<stem>[_fp16].onnx``.

    ``prefix``: the sampler and expert graphs take the training-time RTC inputs (see ``graphs``).
    """
    if precision not in _DTYPES:
        raise ConfigError(f"Unknown precision {precision!r}; export supports {sorted(_DTYPES)}.")
    example = example_inputs(model.config)
    built = build_graphs(model, num_steps, prefix=prefix)
    cache = built[sig.BACKBONE](*[example[n] for n in built[sig.BACKBONE].inputs])
    example.update(zip(built[sig.BACKBONE].outputs, cache, strict=True))
    graphs = {}
    for base, graph in built.items():
        stem = sig.graph_stem(base, precision)
        args = tuple(example[n] for n in graph.inputs)
        outputs = graph(*args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph,
                args,
                str(out_dir / f"{stem}.onnx"),
                input_names=list(graph.inputs),
                output_names=list(graph.outputs),
                opset_version=OPSET,
                dynamo=False,
            )
        graphs[stem] = GraphSpec(
            file=f"{stem}.onnx",
            inputs=tuple(_spec(n, a) for n, a in zip(graph.inputs, args, strict=True)),
            outputs=tuple(_spec(n, o) for n, o in zip(graph.outputs, outputs, strict=True)),
        )
        logger.info("exported %s.onnx (%d inputs)", stem, len(args))
    return graphs


def _spec(name: str, t: torch.Tensor) -> TensorSpec:
    return TensorSpec(name=name, dtype=str(t.numpy().dtype), shape=tuple(t.shape))


def export_model(
    model: DualActionGenerator,
    norm: NormStats,
    out_dir: Path,
    *,
    name: str | None = None,
    sampler: SamplerConfig | None = None,
    precisions: tuple[str, ...] = ("fp32",),
    training: TrainingSummary | None = None,
    prefix_training: PrefixTraining | None = None,
    prompts: PromptTable | None = None,
) -> Manifest:
    """Write ``weights.pt``, the ONNX graphs (five; six with a done head, see ``graphs``) and ``manifest.json``
    into ``out_dir``.

    The fused graphs bake in ``sampler.num_steps``; ``sampler.guidance`` is recorded as the default.
    ``precisions`` may add ``"fp16"``: the same graphs with float16 weights and activations (stems
    ``<graph>_fp16``), for TensorRT 11 (strongly typed: precision lives in the graph) and CUDA runtimes.
    ``prefix_training`` (weights trained with clean action prefixes) gives the sampler and expert graphs
    the prefix inputs and is recorded in the manifest. ``prompts`` (a sentence text encoder's training prompts,
    ``text_encoder.SentenceTextEncoder.table``) is written as ``prompt_embeddings.npz`` (an empty table when
    ``None``); a ``hash`` model takes none.
    """
    sampler = sampler or SamplerConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    save_weights(model, norm, out_dir / WEIGHTS_FILE)
    graphs: dict[str, GraphSpec] = {}
    for precision in precisions:
        variant = model if precision == "fp32" else copy.deepcopy(model).to(_DTYPES[precision])
        graphs.update(_export_graphs(variant, sampler.num_steps, precision, out_dir, prefix_training is not None))
    fields = {
        "name": name or out_dir.name,
        "model": model.config,
        "norm": norm.to_dict(),
        "sampler": sampler,
        "weights": WEIGHTS_FILE,
        "training": training,
        "prefix_training": prefix_training,
        "graphs": graphs,
        "opset": OPSET,
        "prompts": _write_prompts(model.config, prompts, out_dir),
    }
    return write_manifest(out_dir, fields)


def _write_prompts(config: AfilModelConfig, prompts: PromptTable | None, out_dir: Path) -> PromptTableSpec | None:
    """Write the prompt table of a sentence text encoder; ``None`` (nothing written) for ``hash``."""
    if config.text_encoder not in SENTENCE_DIMS:
        if prompts is not None:
            raise ConfigError(f"a {config.text_encoder} model takes no prompt table; pass prompts=None.")
        return None
    table = prompts if prompts is not None else PromptTable.empty(SENTENCE_DIMS[config.text_encoder])
    if table.dim != SENTENCE_DIMS[config.text_encoder]:
        raise ConfigError(
            f"prompt table is {table.dim}-d, the {config.text_encoder} encoder {SENTENCE_DIMS[config.text_encoder]}-d; "
            "rebuild it with the model's text encoder."
        )
    table.save(out_dir / PROMPT_TABLE_FILE)
    spec = {"file": PROMPT_TABLE_FILE, "encoder": MINILM_NAME, "versions": minilm_versions()}
    return PromptTableSpec(**spec, dim=table.dim, count=len(table))
