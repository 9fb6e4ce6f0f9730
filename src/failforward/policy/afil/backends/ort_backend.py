"""onnxruntime backend (CPU, or CUDA with ``onnxruntime-gpu``), fused or split layout, fp32 or fp16 graphs."""

from __future__ import annotations

import logging

import numpy as np

from failforward.policy.afil.backends.graph import GraphBackend
from failforward.policy.afil.backends.registry import register_backend
from failforward.policy.afil.config import BackendConfig
from failforward.policy.afil.errors import BackendUnavailableError
from failforward.policy.afil.manifest import Manifest, TensorSpec, check_signature

logger = logging.getLogger(__name__)

_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
    "tensor(uint8)": "uint8",
}


def _specs(args: list) -> list[TensorSpec]:
    return [TensorSpec(name=a.name, dtype=_ORT_DTYPES.get(a.type, a.type), shape=tuple(a.shape)) for a in args]


@register_backend("onnxruntime")
class OnnxRuntimeBackend(GraphBackend):
    """One ``InferenceSession`` per graph, ``config.threads`` intra-op threads, sequential execution."""

    def __init__(self, manifest: Manifest, config: BackendConfig) -> None:
        super().__init__(manifest, config)
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailableError("onnxruntime is not installed: pip install 'failforward[onnx]'.") from exc
        providers = ["CPUExecutionProvider"]
        if config.device == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise BackendUnavailableError(
                    f"device='cuda' but onnxruntime offers {ort.get_available_providers()}; install onnxruntime-gpu."
                )
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # float16 graphs log one "cannot constant fold" warning per node
        self.sessions = {}
        for stem in self.stems:
            spec = manifest.graphs[stem]
            session = ort.InferenceSession(str(config.model_dir / spec.file), options, providers=providers)
            check_signature(stem, spec, _specs(session.get_inputs()), "inputs")
            check_signature(stem, spec, _specs(session.get_outputs()), "outputs")
            self.sessions[stem] = session
        logger.info("%s: onnxruntime %s %s on %s", manifest.name, config.layout, config.precision, providers[0])

    def run_graph(self, stem: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        session = self.sessions[stem]
        return session.run(None, {a.name: feeds[a.name] for a in session.get_inputs()})
