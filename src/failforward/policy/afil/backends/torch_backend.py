"""Torch eager backend: the reference every other backend is tested against."""

from __future__ import annotations

import numpy as np
import torch

from failforward.policy.afil.backends.base import AfilBackend
from failforward.policy.afil.backends.registry import register_backend
from failforward.policy.afil.config import BackendConfig
from failforward.policy.afil.errors import BackendUnavailableError, ManifestError
from failforward.policy.afil.manifest import Manifest
from failforward.policy.afil.rtc import PrefixCondition
from failforward.policy.afil.weights import load_weights


@register_backend("torch")
class TorchBackend(AfilBackend):
    """Runs ``weights.pt`` eagerly (``layout`` is ignored: eager has no graphs to split).

    The only backend with inference-time RTC (ΠGDM guidance needs a vector-Jacobian product per step).
    """

    gradients = True

    # eager sampling needs no fused graph, so any num_steps works: validate as the split layout

    def __init__(self, manifest: Manifest, config: BackendConfig) -> None:
        super().__init__(manifest, config.model_copy(update={"layout": "split"}))
        if config.device == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailableError("device='cuda' but torch sees no CUDA device; use device='cpu'.")
        if config.device == "cpu":
            torch.set_num_threads(config.threads)
        self.model, norm = load_weights(config.model_dir / manifest.weights, config.device)
        if self.model.config != manifest.model or norm.to_dict() != manifest.norm:
            raise ManifestError(f"{manifest.weights}: model config or norm stats differ from the manifest; re-export.")
        if config.precision == "fp16":
            self.model.half()  # network in float16; noise, Euler state and guidance stay float32
        self.device = torch.device(config.device)

    @torch.no_grad()  # not inference_mode: inference-time RTC differentiates through the field
    def run(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        x = {k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device) for k, v in inputs.items()}
        z, lam = self.model.sample(
            x["state"],
            x,
            noise=x["noise"],
            images=x.get("images"),
            num_steps=self.config.sampler.num_steps,
            guidance=self.config.sampler.guidance,
            prefix=self._condition(x),
        )
        lam = lam if self.guided else lam[:, :0]
        return z.float().cpu().numpy(), lam.float().cpu().numpy()

    @torch.inference_mode()
    def run_done(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        x = {k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device) for k, v in inputs.items()}
        return self.model.done_probability(x["state"], x, x.get("images")).float().cpu().numpy()

    def _condition(self, x: dict[str, torch.Tensor]) -> PrefixCondition | None:
        """The prefix of ``x`` (``afil.prefix`` arrays) for :meth:`DualActionGenerator.sample`, or ``None``."""
        method = self.rtc.method
        if method == "none" or "prefix_len" not in x or (method == "inference" and "prefix_weights" not in x):
            return None
        weights = x.get("prefix_weights", torch.zeros(x["prefix"].shape[:2], device=self.device))
        return PrefixCondition(method, x["prefix"], x["prefix_len"], weights, self.config.rtc_beta)
