"""Configuration of symbol-following data: which corrective motions are sampled, and when one counts as done.

Frames and units: distances [m] and angles [rad] are those of :class:`~failforward.config.recovery.PmcConfig`
(moves along the head-camera robot axes, rotations about the world vertical); ticks are control ticks of
the simulated ALOHA (50 Hz).

Example:
    >>> cfg = SymbolDataConfig(prelude_ticks=(0, 200), composition_probability=0.0)
    >>> cfg.pmc.distance("significantly")
    0.06
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from failforward.config import FrozenModel
from failforward.config.base import AlohaCamera
from failforward.config.recovery import PmcConfig

CommandKind = Literal["move", "rotate", "grasp"]
_KIND_WEIGHTS: dict[CommandKind, float] = {"move": 0.7, "rotate": 0.15, "grasp": 0.15}


class SymbolDataConfig(FrozenModel):
    """How symbol-following episodes are generated and labelled.

    Attributes:
        prelude_ticks: ``(lo, hi)`` [ticks]: the scripted expert runs a uniformly drawn number of ticks in this
            range first, so the corrective motion starts from a task-relevant state (grippers near or holding
            objects); ``hi`` past the expert's episode length leaves the scene where the expert finished.
        kind_weights: relative frequency of single moves, rotations and open/close commands.
        composition_probability: chance that a move comes with a second command, as the oracle supervisor
            writes them: a move along another axis, or "open" before the move.
        head_camera: camera the symbols are drawn in (pixels of the driver's configured image size).
        pmc: distances, rotation step, speeds, IK tolerances and workspace box of the motion (PMC's own).
        position_tolerance_m: [m] largest distance of the measured tool point from its target at the end.
        rotation_tolerance_rad: [rad] largest error of the measured tool rotation at the end.
        gripper_tolerance: largest error of the measured normalized opening (0 closed, 1 open) at the end; a
            "close" that stops on an object (fingers blocked) counts when the opening fell by at least this much.
        max_motion_ticks: [ticks] bound on a planned motion (longer plans are refused).
    """

    prelude_ticks: tuple[int, int] = (0, 320)
    kind_weights: dict[CommandKind, float] = Field(default_factory=_KIND_WEIGHTS.copy)
    composition_probability: float = Field(0.25, ge=0.0, le=1.0)
    head_camera: AlohaCamera = "top"
    pmc: PmcConfig = PmcConfig()
    position_tolerance_m: float = Field(0.01, gt=0.0, le=0.1)
    rotation_tolerance_rad: float = Field(0.1, gt=0.0, le=1.0)
    gripper_tolerance: float = Field(0.25, gt=0.0, le=1.0)
    max_motion_ticks: int = Field(400, ge=1)

    @model_validator(mode="after")
    def _valid(self) -> SymbolDataConfig:
        lo, hi = self.prelude_ticks
        if not 0 <= lo <= hi:
            raise ValueError(f"prelude_ticks {self.prelude_ticks} must satisfy 0 <= lo <= hi [ticks]")
        if (
            not self.kind_weights
            or any(w < 0 for w in self.kind_weights.values())
            or not sum(self.kind_weights.values()) > 0
        ):
            raise ValueError(
                f"kind_weights {self.kind_weights} need non-negative weights with a positive sum, over "
                "'move', 'rotate', 'grasp'"
            )
        return self
