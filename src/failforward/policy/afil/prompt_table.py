"""Sentence embeddings of the prompts a model knows, shipped in its model directory (NumPy only).

``prompt_embeddings.npz`` holds ``prompts`` (unicode ``[N]``, keys as :func:`prompt_key` writes them) and
``embeddings`` (float32 ``[N, E]``, unit L2 norm); it loads without pickle. With it, a deployed policy answers
its training prompts without the text model (sentence-transformers, torch) installed.

Example:
    >>> table = PromptTable(("transfer the cube",), np.eye(1, 4, dtype=np.float32))
    >>> table.get("Transfer  the CUBE").shape
    (4,)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from failforward.policy.afil.errors import ManifestError

PROMPT_TABLE_FILE = "prompt_embeddings.npz"


def prompt_key(prompt: str) -> str:
    """The table key of ``prompt``: lower case, whitespace runs collapsed (MiniLM's tokenizer is uncased and splits
    on whitespace, so prompts that differ only there embed identically)."""
    return " ".join(prompt.lower().split())


@dataclass(frozen=True)
class PromptTable:
    """``prompts`` (keys, unique) and their ``embeddings float32 [N, E]``, row i belonging to prompt i."""

    prompts: tuple[str, ...]
    embeddings: np.ndarray

    def __post_init__(self) -> None:
        keys = tuple(prompt_key(p) for p in self.prompts)
        if len(set(keys)) != len(keys):
            raise ManifestError(f"prompt table has duplicate prompts {sorted(keys)}; keep one row per prompt.")
        if self.embeddings.ndim != 2 or self.embeddings.shape[0] != len(keys):
            raise ManifestError(
                f"prompt table embeddings must be [{len(keys)}, E], got {list(self.embeddings.shape)}; re-export."
            )
        if not np.all(np.isfinite(self.embeddings)):
            raise ManifestError("prompt table embeddings contain NaN or inf; re-export the model directory.")
        object.__setattr__(self, "prompts", keys)
        object.__setattr__(self, "embeddings", np.ascontiguousarray(self.embeddings, dtype=np.float32))

    @classmethod
    def empty(cls, dim: int) -> PromptTable:
        """A table with no prompts (every prompt needs the text model) of width ``dim``."""
        return cls((), np.zeros((0, dim), np.float32))

    @property
    def dim(self) -> int:
        """E, the embedding width."""
        return int(self.embeddings.shape[1])

    def __len__(self) -> int:
        return len(self.prompts)

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        return iter(zip(self.prompts, self.embeddings, strict=True))

    def get(self, prompt: str) -> np.ndarray | None:
        """Embedding ``float32 [E]`` of ``prompt`` (matched by :func:`prompt_key`), or ``None``."""
        key = prompt_key(prompt)
        return self.embeddings[self.prompts.index(key)] if key in self.prompts else None

    def save(self, path: Path) -> None:
        """Write ``path`` (``.npz``, no pickle)."""
        np.savez(path, prompts=np.array(self.prompts, dtype=np.str_), embeddings=self.embeddings)

    @classmethod
    def load(cls, path: Path) -> PromptTable:
        """Read a table written by :meth:`save`; a malformed file raises ``ManifestError``."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(tuple(str(p) for p in data["prompts"]), data["embeddings"])
        except (OSError, KeyError, ValueError) as exc:
            raise ManifestError(f"{path} is not a prompt table ({exc}); re-export the model directory.") from exc

    def to_dict(self) -> dict[str, list]:
        """Plain lists, for checkpoints (``torch.load(weights_only=True)`` reads them)."""
        return {"prompts": list(self.prompts), "embeddings": self.embeddings.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, list]) -> PromptTable:
        embeddings = np.asarray(data["embeddings"], np.float32).reshape(len(data["prompts"]), -1)
        return cls(tuple(data["prompts"]), embeddings)
