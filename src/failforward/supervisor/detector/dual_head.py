"""The dual-head failure detector: how much AFIL's success and failure heads disagree on a chunk.

With adaptive guidance the policy reports, per denoise step, ``λ_t = γ (1 − cos(v_s, v_f)) / 2`` (AFIL Eq. 7, cosine
over the flattened chunk). ``λ_t / γ = (1 − cos) / 2`` is 0 when both heads point the same way and 1 when they are
opposite; :func:`chunk_score` reduces the ``[N]`` steps to one number
(:data:`~failforward.config.detector.ScoreStatistic`).
A chunk counts when its score is strictly above ``threshold``; ``debounce_chunks`` consecutive counting chunks trip the
detector, which then ignores the next ``cooldown_chunks`` chunks. A chunk without a trace (unguided) scores ``None``,
never counts and breaks a debounce run.
"""

from __future__ import annotations

import numpy as np

from failforward.config.detector import DualHeadDetectorConfig, ScoreStatistic
from failforward.supervisor.detector.base import FailureDetector, Verdict
from failforward.supervisor.detector.registry import DetectorContext, register_detector
from failforward.types import ActionChunk


def chunk_score(guidance: np.ndarray, gamma: float, statistic: ScoreStatistic) -> float | None:
    """``statistic`` of ``guidance / gamma`` (``guidance``: λ_t ``[N]``, one per denoise step; ``gamma`` > 0);
    ``None`` for an empty trace (an unguided chunk) or one that is not finite."""
    values = np.asarray(guidance, dtype=np.float64).reshape(-1) / gamma
    if values.size == 0 or not np.all(np.isfinite(values)):
        return None
    if statistic == "mean":
        return float(values.mean())
    if statistic == "max":
        return float(values.max())
    return float(values[-1])


class DualHeadDetector(FailureDetector):
    """Trips on ``config.debounce_chunks`` consecutive chunks scoring above ``config.threshold``."""

    def __init__(self, config: DualHeadDetectorConfig, gamma: float) -> None:
        if gamma <= 0.0:
            raise ValueError(f"gamma must be > 0 (the adaptive guidance scale), got {gamma}")
        self.config, self.gamma = config, gamma
        self._run = 0
        self._cooldown = 0

    @property
    def threshold(self) -> float:
        return self.config.threshold

    def reset(self) -> None:
        self._run = 0
        self._cooldown = 0

    def observe(self, chunk: ActionChunk) -> Verdict:
        score = chunk_score(chunk.guidance, self.gamma, self.config.statistic)
        counts = score is not None and score > self.config.threshold
        self._run = self._run + 1 if counts else 0
        if self._cooldown > 0:
            self._cooldown -= 1
            return Verdict(score, False)
        if self._run < self.config.debounce_chunks:
            return Verdict(score, False)
        self._run = 0
        self._cooldown = self.config.cooldown_chunks
        return Verdict(score, True)


@register_detector("dual_head")
def _build(config: DualHeadDetectorConfig, context: DetectorContext) -> DualHeadDetector:
    return DualHeadDetector(config, context.gamma)
