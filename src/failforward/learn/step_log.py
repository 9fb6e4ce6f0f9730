"""A resumable run's state file: its config and every finished step, written atomically (temp file + rename).

A step is stored only once it has finished, so re-running a command skips finished steps and redoes an interrupted
one. :class:`~failforward.learn.run_state.RunState` (the pipeline) and
:class:`~failforward.learn.flywheel_config.FlywheelState` (the flywheel) are step logs with their own config, file
name and ``open`` rules.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from failforward.control.loop import EpisodeResult
from failforward.errors import ConfigError

ConfigT = TypeVar("ConfigT", bound=BaseModel)


class StepLog(Generic[ConfigT]):
    """The state file at ``path``: ``config`` and ``steps`` (step name → what ``finish`` stored)."""

    def __init__(self, path: Path, config: ConfigT, steps: dict[str, dict[str, Any]]) -> None:
        self.path, self.config, self.steps = path, config, steps

    def done(self, step: str) -> bool:
        return step in self.steps

    def info(self, step: str) -> dict[str, Any]:
        """What ``finish`` stored for ``step``; raises if the step has not finished."""
        if step not in self.steps:
            raise ConfigError(
                f"step {step!r} has not finished in {self.path.parent}; run it first (finished: "
                f"{', '.join(self.steps) or 'none'})."
            )
        return self.steps[step]

    def finish(self, step: str, info: dict[str, Any]) -> None:
        """Mark ``step`` finished with its ``info`` (JSON-compatible) and a timestamp."""
        self.steps[step] = {**info, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        data = {"config": self.config.model_dump(mode="json"), "steps": self.steps}
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self.path)


def refuse_other_settings(path: Path, stored: BaseModel, given: BaseModel | None, fix: str) -> None:
    """Raise ``ConfigError`` naming the fields where ``given`` differs from the ``stored`` config of ``path``."""
    if given is not None and given != stored:
        diff = {k: (v, getattr(given, k)) for k, v in stored if getattr(given, k) != v}
        raise ConfigError(f"{path} was created with other settings (stored, given): {diff}. {fix}")


def episode_row(episode: EpisodeResult, file: str | None) -> dict[str, Any]:
    """One evaluated or deployed episode as a state/result row: seed, outcome, length [ticks] and its recording."""
    return {
        "seed": episode.seed,
        "success": episode.outcome.success,
        "stage": episode.outcome.stage,
        "reason": episode.outcome.reason,
        "ticks": episode.steps,
        "file": file,
    }
