"""VSF mode: the symbol-following policy runs on the masked, symbol-annotated view with the textual correction.

The observation transform is :func:`failforward.symbols.vsf.vsf_observation` (paper supplement 6.2): symbols
drawn on the head image, everything outside their ROI zeroed, the idle arm's wrist image zeroed. A tick
whose observation has no head frame (a state-only policy with the head camera sampled for the supervisor
only) passes through unchanged: that policy cannot be reading the head camera, since its encoder refuses
observations without the cameras it needs. The prompt
is the diagnosis' "low level commands" text. The machine keeps it active until the supervisor reports
success or ``RecoveryConfig.correction_timeout_s`` passes.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from failforward.config.recovery import CorrectiveModeName, RecoveryConfig
from failforward.recovery.context import PlanContext
from failforward.recovery.correction import PlanResult, PolicyCorrection, Refusal
from failforward.recovery.modes.base import CorrectiveMode, ModeResources, register_mode
from failforward.supervisor.diagnosis import Diagnosis
from failforward.symbols.vsf import vsf_observation
from failforward.types import Observation


class VsfMode(CorrectiveMode):
    """Accepts a diagnosis with a command text and at least one symbol inside the head image."""

    name = CorrectiveModeName.VSF

    def __init__(self, config: RecoveryConfig) -> None:
        self.config = config.vsf

    def _plan(self, diagnosis: Diagnosis, context: PlanContext) -> PlanResult:
        camera = self.config.head_camera
        if context.image_size is None:
            return Refusal(
                self.name,
                f"VSF needs frames of the head camera {camera!r} (none seen this episode); add "
                "it to the robot's cameras or sample it for the supervisor",
            )
        height, width = context.image_size
        symbols = tuple(s for s in diagnosis.symbols if s.inside(width, height))
        if not symbols:
            return Refusal(self.name, f"no symbol inside the {width}x{height} head image to follow")
        if not diagnosis.command_text.strip():
            return Refusal(self.name, "the diagnosis has no textual correction to prompt the policy with")
        transform = partial(
            _vsf_view,
            symbols=symbols,
            active_arms=diagnosis.active_grippers,
            head_camera=camera,
            margin=self.config.margin_px,
            min_size=self.config.min_size_px,
        )
        return PolicyCorrection(
            self.name, diagnosis.command_text.strip(), transform, frozenset(diagnosis.active_grippers)
        )


def _vsf_view(obs: Observation, *, head_camera: str, **kwargs: Any) -> Observation:
    """``vsf_observation`` on ticks that carry the head frame; other ticks unchanged (module docstring)."""
    if head_camera not in obs.images:
        return obs
    return vsf_observation(obs, head_camera=head_camera, **kwargs)


@register_mode(CorrectiveModeName.VSF)
def build_vsf(config: RecoveryConfig, resources: ModeResources) -> VsfMode:
    return VsfMode(config)
