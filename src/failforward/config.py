"""One config system: frozen pydantic models, invariants checked on construction, named presets.

A preset is a complete :class:`RunConfig`. Entry points start from a preset and apply overrides
(``with_overrides``); ROS parameter files (``launch/params/*.yaml``) mirror a preset and are loaded
through the same models, so a typo in either is an error that names the valid fields.

Example:
    >>> cfg = get_preset("sim_transfer_cube")
    >>> cfg.robot.task
    'transfer_cube'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from failforward.errors import ConfigError, UnknownNameError

SimAlohaTask = Literal["transfer_cube", "insertion"]
AlohaCamera = Literal["top", "left_wrist", "right_wrist", "angle", "front_close"]


class FrozenModel(BaseModel):
    """Base of every config: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SimAlohaConfig(FrozenModel):
    """The simulated ALOHA cell (gym-aloha's MuJoCo scene).

    ``cameras`` are the only cameras rendered each tick; ``depth_cameras`` also get depth [m].
    """

    kind: Literal["sim_aloha"] = "sim_aloha"
    task: SimAlohaTask = "transfer_cube"
    cameras: tuple[AlohaCamera, ...] = ("top",)
    depth_cameras: tuple[AlohaCamera, ...] = ()
    image_height: int = Field(240, ge=16, le=1080)
    image_width: int = Field(320, ge=16, le=1920)
    shadows: bool = False

    @model_validator(mode="after")
    def _depth_needs_rgb(self) -> SimAlohaConfig:
        missing = set(self.depth_cameras) - set(self.cameras)
        if missing:
            raise ValueError(f"depth_cameras {sorted(missing)} must also be listed in cameras")
        return self


class SafetyConfig(FrozenModel):
    """Safety layer: every command passes it before it reaches a driver.

    Attributes:
        joint_margin: fraction (0–0.2) of each joint's range kept clear of the hard limits.
        velocity_scale: fraction (0–1] of each joint's max velocity allowed per tick.
    """

    joint_margin: float = Field(0.02, ge=0.0, le=0.2)
    velocity_scale: float = Field(1.0, gt=0.0, le=1.0)


class BrokerConfig(FrozenModel):
    """Chunk broker: how a chunk ``[H, A]`` becomes per-tick actions.

    ``mode="chunk"`` executes the first ``execute_steps`` actions of each chunk then asks for a new one;
    ``mode="ensemble"`` asks every tick and averages overlapping chunks with weights
    ``exp(-ensemble_decay * i)`` (ACT's temporal ensembling, oldest first).
    """

    mode: Literal["chunk", "ensemble"] = "chunk"
    execute_steps: int = Field(25, ge=1)
    ensemble_decay: float = Field(0.01, ge=0.0)


class LoopConfig(FrozenModel):
    """Control loop timing. ``realtime=False`` runs as fast as possible (simulation, benchmarks)."""

    rate_hz: float = Field(50.0, gt=0.0, le=1000.0)
    max_steps: int = Field(400, ge=1)
    realtime: bool = False
    stop_on_success: bool = True


class RecordConfig(FrozenModel):
    """Episode recording (one MCAP file per episode).

    ``chunk_kib`` bounds what a crash can lose: MCAP chunks reach the disk when full, so at most the
    last ``chunk_kib`` KiB (about 0.5 s with one 240x320 camera) are missing from a killed process's file.
    """

    enabled: bool = True
    output_dir: Path = Path("runs")
    jpeg_quality: int = Field(85, ge=10, le=100)
    chunk_kib: int = Field(256, ge=16, le=65536)


class PolicyConfig(FrozenModel):
    """Which policy runs: ``expert`` (scripted demonstrator; needs privileged sim state) or ``hold``."""

    kind: Literal["expert", "hold"] = "expert"


class RunConfig(FrozenModel):
    """Everything one run needs."""

    robot: SimAlohaConfig = SimAlohaConfig()
    policy: PolicyConfig = PolicyConfig()
    broker: BrokerConfig = BrokerConfig()
    safety: SafetyConfig = SafetyConfig()
    loop: LoopConfig = LoopConfig()
    record: RecordConfig = RecordConfig()
    episodes: int = Field(3, ge=1)
    seed: int = 0

    def with_overrides(self, overrides: dict[str, Any]) -> RunConfig:
        """Return a copy with dotted-key overrides applied, e.g. ``{"robot.task": "insertion"}``."""
        data = self.model_dump()
        for dotted, value in overrides.items():
            node = data
            *parents, leaf = dotted.split(".")
            for key in parents:
                if not isinstance(node.get(key), dict):
                    raise ConfigError(f"Unknown config section {key!r} in {dotted!r}.")
                node = node[key]
            if leaf not in node:
                raise UnknownNameError("config field", dotted, _dotted_keys(self.model_dump()))
            node[leaf] = value
        return load_config(data)


def _dotted_keys(data: dict[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in data.items():
        full = f"{prefix}{key}"
        keys.extend(_dotted_keys(value, full + ".") if isinstance(value, dict) else [full])
    return keys


def load_config(data: dict[str, Any]) -> RunConfig:
    """Build a :class:`RunConfig` from plain data (YAML, ROS params), raising ``ConfigError`` on bad input."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"Invalid configuration:\n{exc}") from exc


PRESETS: dict[str, RunConfig] = {
    "sim_transfer_cube": RunConfig(robot=SimAlohaConfig(task="transfer_cube")),
    "sim_insertion": RunConfig(robot=SimAlohaConfig(task="insertion")),
}


def get_preset(name: str) -> RunConfig:
    """Return the named preset; unknown names raise with the closest valid name."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownNameError("preset", name, PRESETS) from None
