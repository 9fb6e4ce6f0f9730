"""Config base: immutable models that reject unknown keys, shared literal types, and string enums."""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict

SimAlohaTask = Literal["transfer_cube", "insertion", "plug_strip"]
SimSplit = Literal["seen", "unseen", "unseen_placement", "unseen_color", "unseen_shape"]
"""Which draws of a task's variations an episode takes (``plug_strip``; other tasks have only ``"seen"``)."""
AlohaCamera = Literal["top", "left_wrist", "right_wrist", "angle", "front_close"]


class FrozenModel(BaseModel):
    """Base of every config: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ValueEnum(str, Enum):
    """A ``str`` enum that reads and writes exactly as its value (Python 3.10 has no ``StrEnum``).

    Members compare and hash equal to their values, so names that were plain strings (config values, answer
    words, registry names) become members without changing a byte of output: pydantic and JSON write the value,
    and ``str()``, f-strings and ``repr()`` (in logs, error messages, dataclass reprs) give what the string gave.
    """

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return repr(self.value)
