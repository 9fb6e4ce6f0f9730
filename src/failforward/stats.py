"""Statistics shared by reports, benchmarks and evaluations."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a success rate; ``z = 1.96`` gives 95%. ``(0, 1)`` for no trials."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_text(successes: int, trials: int) -> str:
    """``"k/n = r% [low%–high%]"`` with the 95 % Wilson interval, the tables' cell; ``"–"`` for no trials."""
    if not trials:
        return "–"
    low, high = wilson_interval(successes, trials)
    return f"{successes}/{trials} = {successes / trials:.0%} [{low:.0%}–{high:.0%}]"


def auroc(positive: Sequence[float], negative: Sequence[float]) -> tuple[float, float, float]:
    """P(a positive scores above a negative) (ties count half), with its Hanley–McNeil 95 % interval."""
    if not positive or not negative:
        return math.nan, math.nan, math.nan
    pos, neg = np.asarray(positive), np.asarray(negative)
    greater = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    a, n1, n2 = float(greater), len(pos), len(neg)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = math.sqrt(max(a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n2 - 1) * (q2 - a * a), 0.0) / (n1 * n2))
    return a, max(0.0, a - 1.96 * se), min(1.0, a + 1.96 * se)


def rate_summary(outcomes: Sequence[bool]) -> dict[str, float | int | list[float]]:
    """``{"successes", "trials", "rate", "wilson95": [low, high]}`` of a list of episode outcomes (rate 0 if none)."""
    ok, n = int(sum(outcomes)), len(outcomes)
    low, high = wilson_interval(ok, n)
    return {"successes": ok, "trials": n, "rate": ok / max(n, 1), "wilson95": [low, high]}
