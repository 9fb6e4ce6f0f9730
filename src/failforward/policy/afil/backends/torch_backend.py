"""Torch eager backend: the reference every other backend is tested against."""

from __future__ import annotations

import numpy as np
import torch

from failforward.policy.afil.backends.base import AfilBackend
from failforward.policy.afil.backends.registry import register_backend
from failforward.policy.afil.config import BackendConfig
from failforward.policy.afil.errors import BackendUnavailableError, ManifestError
from failforward.policy.afil.manifest import Manifest
from failforward.policy.afil.weights import load_weights


@register_backend("torch")
class TorchBackend(AfilBackend):
    """Runs ``weights.pt`` eagerly (``layout`` is ignored: eager has no graphs to split)."""

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

    @torch.inference_mode()
    def run(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        x = {k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device) for k, v in inputs.items()}
        z, lam = self.model.sample(
            x["state"],
            x["tokens"],
            x["token_mask"],
            noise=x["noise"],
            images=x.get("images"),
            num_steps=self.config.sampler.num_steps,
            guidance=self.config.sampler.guidance,
        )
        lam = lam if self.guided else lam[:, :0]
        return z.float().cpu().numpy(), lam.float().cpu().numpy()
