"""Prompt tokenizer of the bundled backbone: lower-cased words hashed into ``vocab_size`` buckets.

A drop-in VLM backbone brings its own tokenizer with the same ``encode`` signature.
Id 0 is padding; word ids are ``1 + crc32(word) % (vocab_size − 1)`` (stable across processes).
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from failforward.policy.afil.errors import ObservationError

_WORD = re.compile(r"[a-z0-9]+")


class HashTokenizer:
    """``encode(prompt) -> (ids int64 [L], mask bool [L])`` with L = ``max_tokens``."""

    def __init__(self, vocab_size: int, max_tokens: int) -> None:
        self.vocab_size, self.max_tokens = vocab_size, max_tokens

    def words(self, prompt: str) -> list[str]:
        return _WORD.findall(prompt.lower())

    def encode(self, prompt: str) -> tuple[np.ndarray, np.ndarray]:
        words = self.words(prompt)
        if len(words) > self.max_tokens:
            raise ObservationError(
                f"Prompt has {len(words)} words but the model accepts at most {self.max_tokens} "
                f"(AfilModelConfig.max_prompt_tokens): shorten it, e.g. {' '.join(words[: self.max_tokens])!r}."
            )
        ids = np.zeros(self.max_tokens, dtype=np.int64)
        ids[: len(words)] = [1 + zlib.crc32(w.encode()) % (self.vocab_size - 1) for w in words]
        mask = np.zeros(self.max_tokens, dtype=bool)
        mask[: len(words)] = True
        return ids, mask
