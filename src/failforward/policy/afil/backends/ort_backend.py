"""onnxruntime backend (CPU, or CUDA with ``onnxruntime-gpu``), fused or split graph layout."""

from __future__ import annotations

import logging

import numpy as np

from failforward.policy.afil import signature as sig
from failforward.policy.afil.backends.base import AfilBackend
from failforward.policy.afil.backends.registry import register_backend
from failforward.policy.afil.backends.split import split_sample
from failforward.policy.afil.config import BackendConfig
from failforward.policy.afil.errors import BackendUnavailableError
from failforward.policy.afil.manifest import Manifest, TensorSpec, check_signature

logger = logging.getLogger(__name__)

_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
    "tensor(uint8)": "uint8",
    "tensor(float16)": "float16",
}


def _specs(args: list) -> list[TensorSpec]:
    return [TensorSpec(name=a.name, dtype=_ORT_DTYPES.get(a.type, a.type), shape=tuple(a.shape)) for a in args]


@register_backend("onnxruntime")
class OnnxRuntimeBackend(AfilBackend):
    """Runs the exported ONNX graphs with one ``InferenceSession`` each (``config.threads`` intra-op threads)."""

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
        self.sessions = {}
        for stem in self._stems():
            spec = manifest.graphs[stem]
            session = ort.InferenceSession(str(config.model_dir / spec.file), options, providers=providers)
            check_signature(stem, spec, _specs(session.get_inputs()), "inputs")
            check_signature(stem, spec, _specs(session.get_outputs()), "outputs")
            self.sessions[stem] = session
        logger.info("%s: onnxruntime %s layout on %s", manifest.name, config.layout, providers[0])

    def _stems(self) -> tuple[str, ...]:
        if self.config.layout == "split":
            return (sig.BACKBONE, sig.EXPERTS)
        return (sig.GUIDED_SAMPLER,) if self.guided else (sig.UNGUIDED_SAMPLER,)

    def _run_graph(self, stem: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        session = self.sessions[stem]
        return session.run(None, {a.name: feeds[a.name] for a in session.get_inputs()})

    def run(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if self.config.layout == "split":
            coefficients = self.coefficients if self.guided else None
            return split_sample(self._run_graph, inputs, self.config.sampler.num_steps, coefficients)
        if self.guided:
            z, lam = self._run_graph(sig.GUIDED_SAMPLER, {**inputs, "guidance": self.coefficients})
            return z, lam
        (z,) = self._run_graph(sig.UNGUIDED_SAMPLER, inputs)
        return z, np.zeros((z.shape[0], 0), np.float32)
