"""AFIL-specific errors (all ``PolicyError``s, so callers can catch one family)."""

from __future__ import annotations

from failforward.errors import PolicyError


class ManifestError(PolicyError):
    """A model directory does not match its ``manifest.json`` (missing file, hash, shape, config)."""


class ObservationError(PolicyError):
    """An observation or prompt cannot be fed to the model (missing camera, wrong shape, NaN, too long)."""


class BackendUnavailableError(PolicyError):
    """A backend's runtime (onnxruntime, TensorRT, CUDA) is not installed or has no device here."""


class UnknownPromptError(ObservationError):
    """A prompt is not in the model's prompt table and no text encoder is installed here to embed it."""


class TextEncoderUnavailableError(BackendUnavailableError):
    """The sentence-embedding text encoder (``failforward[text]``: sentence-transformers + the MiniLM wheel) is
    not installed or cannot load."""


class PrefixError(PolicyError):
    """A real-time chunking prefix the policy cannot honour (delay beyond what it was trained for)."""
