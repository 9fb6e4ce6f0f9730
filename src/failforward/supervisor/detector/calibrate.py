"""A detector threshold from undisturbed episodes: the score most of them never reach.

An episode trips a debounced detector (``k`` consecutive chunks strictly above the threshold) exactly when its
:func:`episode_peak` (the largest over windows of ``k`` consecutive chunks of the window's smallest score) is above the
threshold. :func:`calibrate_threshold` sets the threshold at the ``quantile`` of the peaks of undisturbed episodes, so
about ``1 − quantile`` of such episodes trip it at least once (the cooldown only lowers the count of trips after that).

Example:
    >>> calibration = calibrate_threshold(scores_per_episode, quantile=0.9, debounce_chunks=1, statistic="mean")
    >>> calibration.write(Path("runs/detector_threshold.json")); calibration.override()
    'supervisor.detector={"kind": "dual_head", "statistic": "mean", "threshold": 0.0412, ...}'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from failforward.config.detector import ScoreStatistic


def episode_peak(scores: Sequence[float | None], debounce_chunks: int) -> float | None:
    """The largest ``v`` such that ``debounce_chunks`` consecutive chunks all score at least ``v`` (``None`` scores
    never count); ``None`` when the episode has fewer scored chunks in a row than that."""
    values = np.array([np.nan if s is None else s for s in scores], dtype=np.float64)
    if values.size < debounce_chunks:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(values, debounce_chunks).min(axis=1)
    windows = windows[np.isfinite(windows)]
    return float(windows.max()) if windows.size else None


@dataclass(frozen=True)
class Calibration:
    """A threshold and what it was computed from.

    Attributes:
        threshold: the ``quantile`` of the undisturbed episodes' peaks [score units, ``(1 − cos) / 2``].
        quantile: in (0, 1); about ``1 − quantile`` of undisturbed episodes trip the detector.
        statistic, debounce_chunks: the detector settings the peaks were computed for.
        episodes: undisturbed episodes used; chunks: their scored chunks.
    """

    threshold: float
    quantile: float
    statistic: ScoreStatistic
    debounce_chunks: int
    episodes: int
    chunks: int

    def detector_config(self, cooldown_chunks: int = 6) -> dict[str, object]:
        """The ``supervisor.detector`` section these settings give (plain data, as ``--set`` takes it)."""
        return {
            "kind": "dual_head",
            "statistic": self.statistic,
            "threshold": self.threshold,
            "debounce_chunks": self.debounce_chunks,
            "cooldown_chunks": cooldown_chunks,
        }

    def override(self, cooldown_chunks: int = 6) -> str:
        """A ``failforward demo --set`` argument that turns this detector on."""
        return f"supervisor.detector={json.dumps(self.detector_config(cooldown_chunks))}"

    def write(self, path: Path) -> None:
        """This calibration as JSON (with the ``--set`` override)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**asdict(self), "override": self.override()}, indent=1) + "\n")


def calibrate_threshold(
    episodes: Sequence[Sequence[float | None]], *, quantile: float, debounce_chunks: int, statistic: ScoreStatistic
) -> Calibration:
    """The threshold that about ``1 − quantile`` of ``episodes`` (per-chunk scores of undisturbed episodes, in order)
    exceed for ``debounce_chunks`` chunks in a row; raises ``ValueError`` when there is nothing to calibrate on."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    peaks = [p for p in (episode_peak(e, debounce_chunks) for e in episodes) if p is not None]
    if not peaks:
        raise ValueError(
            f"no undisturbed episode has {debounce_chunks} scored chunks in a row: run more or longer episodes with a "
            "guided policy (adaptive guidance)"
        )
    threshold = float(np.quantile(peaks, quantile))
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"the calibrated threshold {threshold} is outside (0, 1): the scores carry no signal")
    chunks = sum(s is not None for e in episodes for s in e)
    return Calibration(threshold, quantile, statistic, debounce_chunks, len(peaks), chunks)
