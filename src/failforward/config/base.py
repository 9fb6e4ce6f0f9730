"""Config base: immutable models that reject unknown keys, and shared literal types."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

SimAlohaTask = Literal["transfer_cube", "insertion"]
AlohaCamera = Literal["top", "left_wrist", "right_wrist", "angle", "front_close"]


class FrozenModel(BaseModel):
    """Base of every config: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")
