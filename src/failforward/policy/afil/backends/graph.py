"""Backends that run exported graphs (onnxruntime, TensorRT): graph choice and the fused/split loop.

A subclass only says how to run one graph: :meth:`GraphBackend.run_graph`.
"""

from __future__ import annotations

import abc

import numpy as np

from failforward.policy.afil import signature as sig
from failforward.policy.afil.backends.base import AfilBackend
from failforward.policy.afil.backends.split import split_sample
from failforward.policy.afil.config import BackendConfig
from failforward.policy.afil.errors import ManifestError
from failforward.policy.afil.manifest import Manifest


class GraphBackend(AfilBackend):
    """Runs the fused sampler graph, or the backbone + experts graphs (split), at ``config.precision``."""

    def __init__(self, manifest: Manifest, config: BackendConfig) -> None:
        super().__init__(manifest, config)
        missing = [stem for stem in self.stems if stem not in manifest.graphs]
        if missing:
            raise ManifestError(
                f"{manifest.name} has no graph(s) {missing} (it has {sorted(manifest.graphs)}); re-export with "
                f"precisions including {config.precision!r}, or choose another precision/layout."
            )

    @property
    def stems(self) -> tuple[str, ...]:
        """Graph file stems this backend runs for its layout, guidance mode and precision."""
        if self.config.layout == "split":
            bases: tuple[str, ...] = (sig.BACKBONE, self.expert_graph)
        else:
            bases = (sig.GUIDED_SAMPLER,) if self.guided else (sig.UNGUIDED_SAMPLER,)
        if self.manifest.model.done_head:
            bases = (*bases, sig.DONE)
        return tuple(sig.graph_stem(b, self.config.precision) for b in bases)

    @property
    def expert_graph(self) -> str:
        """Per-step graph of the split layout: success head only when unguided and the export has it."""
        success_only = sig.graph_stem(sig.SUCCESS_EXPERT, self.config.precision) in self.manifest.graphs
        return sig.SUCCESS_EXPERT if success_only and not self.guided else sig.EXPERTS

    @abc.abstractmethod
    def run_graph(self, stem: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Run graph ``stem`` on ``feeds`` (a superset of its inputs); outputs in manifest order."""

    def _run_base(self, base: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.run_graph(sig.graph_stem(base, self.config.precision), feeds)

    def run_done(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        (done,) = self._run_base(sig.DONE, inputs)
        return done

    def run(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if self.config.layout == "split":
            coefficients = self.coefficients if self.guided else None
            steps = self.config.sampler.num_steps
            backbone = self.manifest.graphs[sig.graph_stem(sig.BACKBONE, self.config.precision)]
            names = tuple(spec.name for spec in backbone.outputs)
            return split_sample(
                self._run_base, inputs, steps, coefficients, experts_graph=self.expert_graph, cache_names=names
            )
        if self.guided:
            z, lam = self._run_base(sig.GUIDED_SAMPLER, {**inputs, "guidance": self.coefficients})
            return z, lam
        (z,) = self._run_base(sig.UNGUIDED_SAMPLER, inputs)
        return z, np.zeros((z.shape[0], 0), np.float32)
