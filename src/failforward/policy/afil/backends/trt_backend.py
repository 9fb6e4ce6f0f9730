"""TensorRT backend: engines built from the exported ONNX with the ``tensorrt`` Python API (FP32/FP16).

FP16 runs the ``*_fp16`` graphs (export with ``precisions=("fp32", "fp16")``): float16 weights and
activations inside, float32 inputs/outputs, Euler state and guidance.

Engines are cached next to the model as ``<graph stem>.<trt version>.<onnx sha[:12]>.engine``
so a rebuilt ONNX or another TensorRT never reuses a stale engine. Device buffers are torch CUDA
tensors (torch is on every GPU machine this runs on). Needs a CUDA GPU; tests carry the ``gpu`` marker.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from failforward.policy.afil.backends.graph import GraphBackend
from failforward.policy.afil.backends.registry import register_backend
from failforward.policy.afil.config import BackendConfig
from failforward.policy.afil.errors import BackendUnavailableError, ManifestError
from failforward.policy.afil.manifest import Manifest

logger = logging.getLogger(__name__)


def _import_runtime() -> tuple[Any, Any]:
    try:
        import tensorrt as trt
        import torch
    except ImportError as exc:
        raise BackendUnavailableError("TensorRT backend needs `pip install 'failforward[trt]'` and torch.") from exc
    if not torch.cuda.is_available():
        raise BackendUnavailableError(
            "TensorRT needs a CUDA GPU; none is visible (torch.cuda.is_available() is False)."
        )
    return trt, torch


class _Engine:
    """One deserialized engine with its execution context and torch-allocated I/O buffers."""

    def __init__(self, trt: Any, torch: Any, plan: bytes) -> None:
        self.torch = torch
        self.engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(plan)
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream()
        self.inputs, self.outputs = [], {}
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            dtype = torch.from_numpy(np.zeros(0, trt.nptype(self.engine.get_tensor_dtype(name)))).dtype
            buffer = torch.empty(tuple(self.engine.get_tensor_shape(name)), dtype=dtype, device="cuda")
            self.context.set_tensor_address(name, buffer.data_ptr())
            if self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                self.inputs.append((name, buffer))
            else:
                self.outputs[name] = buffer

    def __call__(self, feeds: dict[str, np.ndarray], names: tuple[str, ...]) -> list[np.ndarray]:
        with self.torch.cuda.stream(self.stream):
            for name, buffer in self.inputs:
                buffer.copy_(self.torch.from_numpy(np.ascontiguousarray(feeds[name])), non_blocking=False)
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise BackendUnavailableError("TensorRT execute_async_v3 failed; see the TensorRT log above.")
            out = [self.outputs[n].float().cpu().numpy() for n in names]
        self.stream.synchronize()
        return out


def build_engine(trt: Any, onnx_path: Path) -> bytes:
    """Parse ``onnx_path`` and build a strongly typed engine: precision comes from the graph's own types.

    TensorRT 11 removed the weak-typing precision flags (``BuilderFlag.FP16``); on 10.x the
    ``STRONGLY_TYPED`` creation flag gives the same behaviour, on 11.x every network is strongly typed.
    """
    log = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(log)
    strongly_typed = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    network = builder.create_network(0 if strongly_typed is None else 1 << int(strongly_typed))
    parser = trt.OnnxParser(network, log)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ManifestError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise BackendUnavailableError(f"TensorRT failed to build an engine from {onnx_path}; see its log.")
    return bytes(plan)


@register_backend("tensorrt")
class TensorRTBackend(GraphBackend):
    """Runs TensorRT engines of the fused or split graphs on the GPU (``precision`` picks fp32/fp16 graphs)."""

    def __init__(self, manifest: Manifest, config: BackendConfig) -> None:
        super().__init__(manifest, config)
        trt, torch = _import_runtime()
        self.engines = {stem: _Engine(trt, torch, self._plan(trt, stem)) for stem in self.stems}

    def _plan(self, trt: Any, stem: str) -> bytes:
        spec = self.manifest.graphs[stem]
        onnx_path = self.config.model_dir / spec.file
        digest = self.manifest.files[spec.file][:12]
        cache = onnx_path.with_name(f"{stem}.{trt.__version__}.{digest}.engine")
        if cache.is_file():
            return cache.read_bytes()
        logger.info("building TensorRT engine for %s", onnx_path)
        plan = build_engine(trt, onnx_path)
        cache.write_bytes(plan)
        return plan

    def run_graph(self, stem: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        names = tuple(o.name for o in self.manifest.graphs[stem].outputs)
        return self.engines[stem](feeds, names)
