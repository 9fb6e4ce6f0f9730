"""Text encoders of the AFIL policy: prompt → the prompt inputs of the model's graphs (NumPy side, torch-free).

Chosen by ``AfilModelConfig.text_encoder`` from :data:`TEXT_ENCODERS` (see :class:`TextEncoderKind`):

    hash    tokens int64 [L] word ids (0 = padding), token_mask bool [L]   (``HashTokenizer``)
    minilm  prompt_embedding float32 [384], unit norm (all-MiniLM-L6-v2)

A ``minilm`` encoder answers from the model directory's :class:`PromptTable` first, then from its cache, and
embeds an unknown prompt with MiniLM once (when ``failforward[text]`` is installed); without it, an unknown prompt
raises :class:`UnknownPromptError`. Arrays carry no batch axis (``preprocess`` adds it).

Example:
    >>> encoder = make_text_encoder(AfilModelConfig())
    >>> sorted(encoder.encode("transfer the cube"))
    ['token_mask', 'tokens']
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar, Protocol, TypeVar

import numpy as np

from failforward.policy.afil import signature as sig
from failforward.policy.afil.config import AfilModelConfig, TextEncoderKind
from failforward.policy.afil.errors import ManifestError, TextEncoderUnavailableError, UnknownPromptError
from failforward.policy.afil.manifest import Manifest
from failforward.policy.afil.minilm import INSTALL_HINT, MINILM_DIM, shared_minilm
from failforward.policy.afil.prompt_table import PromptTable, prompt_key
from failforward.policy.afil.tokenizer import HashTokenizer
from failforward.registry import Registry

__all__ = [
    "TEXT_ENCODERS",
    "HashTextEncoder",
    "SentenceEmbedder",
    "SentenceTextEncoder",
    "TextEncoder",
    "load_text_encoder",
    "make_text_encoder",
]

SENTENCE_DIMS = {TextEncoderKind.MINILM: MINILM_DIM}  # E, embedding width per sentence encoder


class TextEncoder(abc.ABC):
    """Prompt → named arrays without batch axis; one per model (``config``), with the model's ``table``."""

    kind: ClassVar[TextEncoderKind]
    input_names: ClassVar[tuple[str, ...]]

    def __init__(self, config: AfilModelConfig, table: PromptTable | None = None) -> None:
        self.config = config

    @abc.abstractmethod
    def encode(self, prompt: str) -> dict[str, np.ndarray]:
        """The prompt inputs of ``prompt`` (module docstring); raises ``ObservationError`` subclasses."""

    def table(self, prompts: Sequence[str]) -> PromptTable | None:
        """What a model directory ships so that ``prompts`` need no text model at runtime (``None``: nothing)."""
        return None


EncoderT = TypeVar("EncoderT", bound=type[TextEncoder])
TEXT_ENCODERS: Registry[type[TextEncoder]] = Registry("AFIL text encoder")


def register_text_encoder(kind: TextEncoderKind) -> Callable[[EncoderT], EncoderT]:
    """Class decorator: register a :class:`TextEncoder` as ``kind``."""

    def decorate(cls: EncoderT) -> EncoderT:
        cls.kind = kind
        TEXT_ENCODERS.register(kind.value)(cls)
        return cls

    return decorate


@register_text_encoder(TextEncoderKind.HASH)
class HashTextEncoder(TextEncoder):
    """``tokens int64 [L]``, ``token_mask bool [L]`` from :class:`HashTokenizer` (``vocab_size`` buckets)."""

    input_names = sig.HASH_PROMPT_INPUTS

    def __init__(self, config: AfilModelConfig, table: PromptTable | None = None) -> None:
        super().__init__(config, table)
        self.tokenizer = HashTokenizer(config.vocab_size, config.max_prompt_tokens)

    def encode(self, prompt: str) -> dict[str, np.ndarray]:
        ids, mask = self.tokenizer.encode(prompt)
        return {"tokens": ids, "token_mask": mask}


class SentenceEmbedder(Protocol):
    """A sentence-embedding model: ``embed(prompts) -> float32 [N, dim]`` with unit-norm rows.

    ``embed`` raises ``TextEncoderUnavailableError`` when the model cannot be loaded here.
    """

    name: str
    dim: int

    def embed(self, prompts: Sequence[str]) -> np.ndarray: ...


@register_text_encoder(TextEncoderKind.MINILM)
class SentenceTextEncoder(TextEncoder):
    """``prompt_embedding float32 [E]``: table, then cache, then ``embedder`` (MiniLM by default), once per prompt.

    Args:
        config: model shape (``text_encoder`` gives E).
        table: the model directory's known prompts (``None``: none known).
        embedder: the sentence model for unknown prompts; default the process-wide MiniLM, loaded on first need.
    """

    input_names = sig.SENTENCE_PROMPT_INPUTS

    def __init__(
        self, config: AfilModelConfig, table: PromptTable | None = None, embedder: SentenceEmbedder | None = None
    ) -> None:
        super().__init__(config, table)
        self.dim = SENTENCE_DIMS[config.text_encoder]
        self.known = table if table is not None else PromptTable.empty(self.dim)
        if self.known.dim != self.dim:
            raise ManifestError(f"prompt table is {self.known.dim}-d, the {config.text_encoder} encoder {self.dim}-d.")
        self.embedder = embedder if embedder is not None else shared_minilm()
        self.cache: dict[str, np.ndarray] = dict(self.known)

    def encode(self, prompt: str) -> dict[str, np.ndarray]:
        key = prompt_key(prompt)
        if key not in self.cache:
            self.cache[key] = self._embed(key)
        return {"prompt_embedding": self.cache[key]}

    def table(self, prompts: Sequence[str]) -> PromptTable:
        """The embeddings of ``prompts`` (distinct by :func:`prompt_key`, sorted), for the model directory."""
        keys = sorted({prompt_key(p) for p in prompts})
        rows = [self.encode(k)["prompt_embedding"] for k in keys]
        return PromptTable(tuple(keys), np.asarray(rows, np.float32).reshape(len(keys), self.dim))

    def _embed(self, key: str) -> np.ndarray:
        try:
            return self.embedder.embed([key])[0]
        except TextEncoderUnavailableError as exc:
            raise UnknownPromptError(_unknown_message(key, self.known, exc)) from exc


def _unknown_message(key: str, known: PromptTable, exc: Exception) -> str:
    examples = ", ".join(repr(p) for p in known.prompts[:3]) + (", …" if len(known) > 3 else "")
    listing = f"its {len(known)} known prompts are {examples}" if len(known) else "it ships no known prompts"
    return (
        f"Prompt {key!r} is not in this model's prompt table ({listing}), and no text encoder can embed it here "
        f"({exc}). Use a known prompt, or {INSTALL_HINT}."
    )


def make_text_encoder(config: AfilModelConfig, table: PromptTable | None = None) -> TextEncoder:
    """The text encoder named by ``config.text_encoder``, knowing ``table``'s prompts."""
    return TEXT_ENCODERS.get(str(config.text_encoder))(config, table)


def load_text_encoder(manifest: Manifest, model_dir: Path) -> TextEncoder:
    """The text encoder of a verified model directory, with its shipped prompt table (if any)."""
    table = PromptTable.load(Path(model_dir) / manifest.prompts.file) if manifest.prompts is not None else None
    return make_text_encoder(manifest.model, table)
