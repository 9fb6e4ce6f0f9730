"""Resumable pipeline state: ``<run_dir>/state.json`` holds the config and every finished step.

A step is recorded only once it has finished, so re-running a command skips finished steps and redoes an
interrupted one (training itself resumes from its ``last.pt``). Writes are atomic (temp file + rename).

Example:
    >>> state = RunState.open(Path("runs/learn/tc"), PipelineConfig())
    >>> if not state.done("collect"):
    ...     state.finish("collect", {"episodes": 30})
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from failforward.errors import ConfigError
from failforward.learn.pipeline import PipelineConfig


class RunState:
    """The state file of one run directory."""

    def __init__(self, path: Path, config: PipelineConfig, steps: dict[str, dict[str, Any]]) -> None:
        self.path, self.config, self.steps = path, config, steps

    @classmethod
    def open(cls, run_dir: Path, config: PipelineConfig | None = None) -> RunState:
        """Load ``run_dir/state.json``, or create it with ``config``.

        Raises:
            ConfigError: no state and no config, or a stored config that differs from ``config``.
        """
        path = Path(run_dir) / "state.json"
        if path.is_file():
            data = json.loads(path.read_text())
            data["config"].setdefault("rtc_max_delay", 0)  # runs from before training-time RTC had none
            stored = PipelineConfig.model_validate(data["config"])
            if config is not None and config != stored:
                diff = {k: (v, getattr(config, k)) for k, v in stored if getattr(config, k) != v}
                raise ConfigError(
                    f"{path} was created with other settings (stored, given): {diff}. Drop those options to "
                    "resume this run, or pass another --run-dir."
                )
            return cls(path, stored, data["steps"])
        if config is None:
            raise ConfigError(f"No run at {run_dir} (no state.json); start one with `failforward learn collect`.")
        state = cls(path, config, {})
        state._write()
        return state

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
