"""AFIL dual-head flow policy (seed 000, §3.2–3.3): model, failure-informed guidance, backends.

Torch-free names (configs, backends registry, manifest) import eagerly; the torch model, the
guidance functions and the exporter import on first access, so an onnxruntime-only host runs
without torch.

Example (inference from an exported model directory):
    >>> from failforward.policy.afil import BackendConfig, make_backend
    >>> policy = make_backend(BackendConfig(model_dir="models/afil_tiny_state"))  # doctest: +SKIP
    >>> chunk = policy.infer(obs, prompt="transfer the cube")  # doctest: +SKIP
    >>> chunk.actions.shape, chunk.guidance.shape  # doctest: +SKIP
    ((8, 4), (10,))
"""

from __future__ import annotations

import importlib
from typing import Any

from failforward.policy.afil.backends import AfilBackend, make_backend, register_backend, registered_backends
from failforward.policy.afil.config import (
    AfilModelConfig,
    BackendConfig,
    GuidanceConfig,
    GuidanceMode,
    SamplerConfig,
    get_model_preset,
)
from failforward.policy.afil.errors import BackendUnavailableError, ManifestError, ObservationError
from failforward.policy.afil.manifest import Manifest, load_manifest
from failforward.policy.afil.normalize import NormStats

_LAZY = {
    "DualActionGenerator": "failforward.policy.afil.model",
    "PrefixEncoder": "failforward.policy.afil.backbone",
    "SmallPrefixEncoder": "failforward.policy.afil.backbone",
    "guide": "failforward.policy.afil.guidance",
    "guided_velocity": "failforward.policy.afil.guidance",
    "euler_sample": "failforward.policy.afil.sampler",
    "export_model": "failforward.policy.afil.export",
    "load_weights": "failforward.policy.afil.weights",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AfilBackend",
    "AfilModelConfig",
    "BackendConfig",
    "BackendUnavailableError",
    "GuidanceConfig",
    "GuidanceMode",
    "Manifest",
    "ManifestError",
    "NormStats",
    "ObservationError",
    "SamplerConfig",
    "get_model_preset",
    "load_manifest",
    "make_backend",
    "register_backend",
    "registered_backends",
    *_LAZY,
]
