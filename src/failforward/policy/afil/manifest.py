"""``models/<name>/manifest.json``: what a model directory contains, checked on every load.

It lists the model shape, normalization stats, sampler/guidance defaults, every graph's I/O names,
dtypes and shapes, the ONNX opset, toolchain versions and the sha256 of every file. Loading refuses a
directory whose files, hashes or graph signatures differ from it, naming what differs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from importlib import metadata
from pathlib import Path

from pydantic import Field, ValidationError

from failforward.config import FrozenModel
from failforward.policy.afil import signature as sig
from failforward.policy.afil.config import AfilModelConfig, SamplerConfig
from failforward.policy.afil.errors import ManifestError
from failforward.policy.afil.normalize import NormStats

logger = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1
_TOOLS = ("torch", "onnx", "onnxruntime", "onnxscript", "tensorrt", "numpy", "failforward")


class TensorSpec(FrozenModel):
    """One graph input or output: ``name``, NumPy ``dtype`` name and static ``shape``."""

    name: str
    dtype: str
    shape: tuple[int, ...]


class GraphSpec(FrozenModel):
    """One exported graph: its file and ordered inputs/outputs."""

    file: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


class TrainingSummary(FrozenModel):
    """What the exported weights were trained on (absent for untrained exports, e.g. benchmarks).

    ``object_aux_weight``: weight of the training-only object-position auxiliary loss (``learn.object_aux``);
    its head is not part of the model, which reads no object state. 0 (and in older manifests): none.
    """

    steps: int
    success_ticks: int
    failure_ticks: int
    object_aux_weight: float = Field(0.0, ge=0.0)


class PrefixTraining(FrozenModel):
    """The weights were trained for real-time chunking prefixes (training-time RTC, arXiv 2512.05964).

    ``max_delay``: D, the longest clean prefix [chunk rows] seen in training (delays ``d ~ U{0, …, D}``);
    the graphs then take ``prefix [B, H, A]`` and ``prefix_len [B]`` inputs. Absent in older manifests:
    those models know no prefix (backends offer inference-time RTC on torch, none elsewhere).
    """

    max_delay: int = Field(ge=1)


class PromptTableSpec(FrozenModel):
    """The model directory's table of known prompts (``prompt_table``): ``file``, the sentence model that made it
    (``encoder``, e.g. ``sentence-transformers/all-MiniLM-L6-v2``) with the versions of the packages that ran it
    (``versions``), embedding width ``dim`` and prompt ``count``. Absent for the ``hash`` text encoder and in older
    manifests."""

    file: str
    encoder: str
    versions: dict[str, str] = Field(default_factory=dict)
    dim: int = Field(ge=1)
    count: int = Field(ge=0)


class Manifest(FrozenModel):
    """Contents of ``manifest.json`` (see module docstring)."""

    format_version: int = FORMAT_VERSION
    name: str
    model: AfilModelConfig
    norm: dict[str, list[float]]
    sampler: SamplerConfig
    weights: str
    graphs: dict[str, GraphSpec]
    opset: int
    toolchain: dict[str, str]
    files: dict[str, str]
    training: TrainingSummary | None = None
    prefix_training: PrefixTraining | None = None
    prompts: PromptTableSpec | None = None

    @property
    def norm_stats(self) -> NormStats:
        return NormStats.from_dict(self.norm)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def toolchain_versions() -> dict[str, str]:
    """Versions of the packages that produced (or run) the artefacts; absent ones are omitted."""
    versions = {"python": platform.python_version()}
    for name in _TOOLS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_manifest(model_dir: Path, manifest_fields: dict) -> Manifest:
    """Hash every file listed (weights + graph files) and write ``manifest.json``; returns the manifest."""
    files = [manifest_fields["weights"], *(g.file for g in manifest_fields["graphs"].values())]
    if manifest_fields.get("prompts") is not None:
        files.append(manifest_fields["prompts"].file)
    manifest = Manifest(
        **manifest_fields, toolchain=toolchain_versions(), files={f: sha256(model_dir / f) for f in sorted(files)}
    )
    (model_dir / MANIFEST_FILE).write_text(json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")
    return manifest


def load_manifest(model_dir: Path) -> Manifest:
    """Read and verify ``model_dir/manifest.json``: schema, file presence and sha256 of every file."""
    path = Path(model_dir) / MANIFEST_FILE
    if not path.is_file():
        raise ManifestError(f"No {MANIFEST_FILE} in {model_dir}; export the model with failforward.learn.export.")
    try:
        manifest = Manifest.model_validate(json.loads(path.read_text()))
    except (ValidationError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path} is not a valid manifest: {exc}") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise ManifestError(f"{path} has format_version {manifest.format_version}, expected {FORMAT_VERSION}.")
    for name, digest in manifest.files.items():
        file = Path(model_dir) / name
        if not file.is_file():
            raise ManifestError(f"{file} is listed in {MANIFEST_FILE} but missing; re-export or copy it.")
        actual = sha256(file)
        if actual != digest:
            raise ManifestError(
                f"{file} sha256 {actual[:12]}… differs from the manifest's {digest[:12]}…: the file changed "
                "after export. Re-export the model directory."
            )
    check_expert_cache(manifest)
    _warn_toolchain(manifest)
    return manifest


def _cache_dims(config: AfilModelConfig) -> dict[str, tuple[int, int, int]]:
    """``(layers, heads stacked, width)`` of each per-chunk cache tensor the backbone graph must output."""
    s, f = config.success_expert, config.failure_expert
    if config.stacked_experts:
        return {"keys": (s.layers, 2, s.width), "values": (s.layers, 2, s.width)}
    dims = {"keys": (s.layers, 1, s.width), "values": (s.layers, 1, s.width)}
    return {**dims, **dict.fromkeys(sig.FAILURE_CACHE, (f.layers, 1, f.width))}


def check_expert_cache(manifest: Manifest) -> None:
    """Raise ``ManifestError`` when a backbone graph's cache outputs do not fit the model's expert shapes.

    Keys/values are ``[L, E, B, P, D]``: stacked heads ``E = 2`` at the success shape; a separate failure head
    adds ``failure_keys, failure_values [L_f, 1, B, P, D_f]`` (``AfilModelConfig.failure_*``).
    """
    want = _cache_dims(manifest.model)
    stems = {sig.graph_stem(sig.BACKBONE, p) for p in sig.PRECISIONS}
    for stem, spec in manifest.graphs.items():
        if stem not in stems:
            continue
        got = {o.name: o.shape for o in spec.outputs if o.name != "bias"}
        have = {name: (shape[0], shape[1], shape[-1]) for name, shape in got.items() if len(shape) == 5}
        if have != want:
            raise ManifestError(
                f"{manifest.name}: {stem} outputs (layers, heads, width) {have}, but the model config's experts "
                f"(success {tuple(manifest.model.success_expert)}, failure {tuple(manifest.model.failure_expert)}) "
                f"need {want}. The failure_* fields of the manifest's model do not match its graphs: re-export."
            )


def _warn_toolchain(manifest: Manifest) -> None:
    here = toolchain_versions()
    for tool, version in manifest.toolchain.items():
        if tool in here and here[tool] != version:
            logger.warning("%s: exported with %s %s, running with %s", manifest.name, tool, version, here[tool])


def check_signature(graph: str, spec: GraphSpec, actual: list[TensorSpec], kind: str) -> None:
    """Raise ``ManifestError`` when a runtime's view of a graph's ``kind`` ("inputs"/"outputs") differs."""
    want = list(getattr(spec, kind))
    if want != actual:
        diff = [f"{w} != {a}" for w, a in zip(want, actual, strict=False) if w != a]
        if len(want) != len(actual):
            diff.append(f"{len(want)} {kind} in manifest, {len(actual)} in the graph")
        raise ManifestError(f"{graph} ({spec.file}) {kind} differ from the manifest: {'; '.join(diff)}. Re-export.")
