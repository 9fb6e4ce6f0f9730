"""Cycle timer: times each named section of a tick and counts overruns of the tick budget."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np


@dataclass
class CycleTimer:
    """Collects section durations [s] per tick and whole-tick durations.

    Example:
        >>> timer = CycleTimer(period=0.02)
        >>> timer.start_tick()
        >>> with timer.section("observe"):
        ...     pass
        >>> timer.end_tick()
    """

    period: float
    clock: Callable[[], float] = field(default=time.perf_counter, repr=False)
    tick_durations: list[float] = field(default_factory=list)
    section_durations: dict[str, list[float]] = field(default_factory=dict)
    overruns: int = 0
    _tick_start: float = 0.0
    _current: dict[str, float] = field(default_factory=dict)

    def start_tick(self) -> None:
        self._tick_start = self.clock()
        self._current = {}

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        start = self.clock()
        try:
            yield
        finally:
            elapsed = self.clock() - start
            self._current[name] = self._current.get(name, 0.0) + elapsed
            self.section_durations.setdefault(name, []).append(elapsed)

    def current_sections(self) -> dict[str, float]:
        """Durations [s] of the sections run so far in this tick."""
        return dict(self._current)

    def end_tick(self) -> float:
        """Close the tick; returns its duration [s] and counts an overrun if it exceeded ``period``."""
        duration = self.clock() - self._tick_start
        self.tick_durations.append(duration)
        if duration > self.period:
            self.overruns += 1
        return duration

    def summary(self) -> dict[str, float]:
        """p50/p99/max tick [ms], overrun count, and p50 per section [ms]."""
        ticks = np.asarray(self.tick_durations) * 1e3
        if ticks.size == 0:
            return {"ticks": 0}
        out = {
            "ticks": float(ticks.size),
            "tick_p50_ms": float(np.percentile(ticks, 50)),
            "tick_p99_ms": float(np.percentile(ticks, 99)),
            "tick_max_ms": float(ticks.max()),
            "overruns": float(self.overruns),
        }
        for name, values in self.section_durations.items():
            out[f"{name}_p50_ms"] = float(np.percentile(np.asarray(values) * 1e3, 50))
        return out
