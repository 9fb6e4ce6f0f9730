"""The corrective-mode interface and its registry.

A mode turns a diagnosis into intent: ``plan(diagnosis, context) -> Correction | Refusal``. It never moves
the robot and never raises into the control loop: anything it cannot follow is a :class:`Refusal` with a
reason.

Example:
    >>> mode = make_mode("pmc", config, resources)
    >>> result = mode.plan(diagnosis, context)
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from failforward.config.recovery import RecoveryConfig
from failforward.errors import FailforwardError
from failforward.recovery.context import PlanContext
from failforward.recovery.correction import PlanResult, Refusal
from failforward.registry import Registry
from failforward.supervisor.diagnosis import Diagnosis
from failforward.types import RobotFeatures

if TYPE_CHECKING:  # mink is only needed by PMC on the ALOHA
    from failforward.kinematics.aloha_ik import AlohaIK
    from failforward.recovery.grasp import GraspEstimator

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModeResources:
    """What mode builders may need besides the config.

    Attributes:
        features: the driver's joints (limits, speeds) and cameras.
        control_dt: [s] one control tick.
        ik: arm IK (``AlohaIK``) for PMC, or ``None``.
        grasp_estimator: a :class:`~failforward.recovery.grasp.GraspEstimator` for PMC, or ``None``.
    """

    features: RobotFeatures
    control_dt: float
    ik: AlohaIK | None = None
    grasp_estimator: GraspEstimator | None = None


class CorrectiveMode(abc.ABC):
    """Plans one correction from a diagnosis; ``name`` is its registry name (a ``CorrectiveModeName`` for the
    built-in modes)."""

    name: str = ""

    def plan(self, diagnosis: Diagnosis, context: PlanContext) -> PlanResult:
        """A :class:`Correction` for ``diagnosis``, or a :class:`Refusal`; never raises a failforward error."""
        try:
            return self._plan(diagnosis, context)
        except FailforwardError as exc:
            logger.debug("%s refused the diagnosis: %s", self.name, exc)  # the machine logs the refusal
            return Refusal(self.name, str(exc))

    @abc.abstractmethod
    def _plan(self, diagnosis: Diagnosis, context: PlanContext) -> PlanResult:
        """Mode-specific planning; may raise a ``FailforwardError`` that :meth:`plan` turns into a refusal."""


ModeBuilder = Callable[[RecoveryConfig, ModeResources], CorrectiveMode]
MODES: Registry[ModeBuilder] = Registry(
    "corrective mode",
    {
        "hold": "failforward.recovery.modes.hold",
        "rewind": "failforward.recovery.modes.rewind",
        "vsf": "failforward.recovery.modes.vsf",
        "pmc": "failforward.recovery.modes.pmc",
    },
)


def register_mode(name: str) -> Callable[[ModeBuilder], ModeBuilder]:
    """Decorator registering ``builder(config, resources) -> CorrectiveMode`` under ``name`` (a
    :class:`~failforward.config.recovery.CorrectiveModeName` for the built-in modes)."""
    return MODES.register(str(name))  # the plain name: the registry's messages quote it


def registered_modes() -> tuple[str, ...]:
    return MODES.names()


def make_mode(name: str, config: RecoveryConfig, resources: ModeResources) -> CorrectiveMode:
    """Build the mode registered as ``name`` (built-in modes are imported on first use)."""
    return MODES.get(name)(config, resources)
