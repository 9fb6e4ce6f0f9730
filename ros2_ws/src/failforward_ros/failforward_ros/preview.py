"""Chunk preview for RViz: the core's (:mod:`failforward.viz.chunk_preview`, shared with the Foxglove live view)."""

from __future__ import annotations

from failforward.viz.chunk_preview import ARM_COLUMNS, PREVIEW_FRAME, ChunkPreview

__all__ = ["ARM_COLUMNS", "PREVIEW_FRAME", "ChunkPreview"]
