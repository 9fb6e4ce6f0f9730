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
from pathlib import Path

from failforward.errors import ConfigError
from failforward.learn.pipeline import PipelineConfig
from failforward.learn.step_log import StepLog, refuse_other_settings


class RunState(StepLog[PipelineConfig]):
    """The state file of one run directory."""

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
            fix = "Drop those options to resume this run, or pass another --run-dir."
            refuse_other_settings(path, stored, config, fix)
            return cls(path, stored, data["steps"])
        if config is None:
            raise ConfigError(f"No run at {run_dir} (no state.json); start one with `failforward learn collect`.")
        state = cls(path, config, {})
        state._write()
        return state
