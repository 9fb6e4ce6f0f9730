"""Recovery: from a supervisor's diagnosis to a correction the control loop executes (ViFailback VSF / PMC).

- :class:`RecoveryController` (``runner``): called by the loop once per tick, returns an override (intent only;
  the loop turns it into motion, see :class:`failforward.control.ports.Corrector`).
- :class:`RecoveryMachine` (``machine``): NOMINAL → DIAGNOSED → CORRECTING / HOLD / REWIND → NOMINAL.
- corrective modes (``modes``): ``hold``, ``rewind``, ``vsf``, ``pmc``, registered by name; they plan
  :class:`Correction` s (intent only) or typed :class:`Refusal` s.
- PMC's geometry: ``camera`` (back-projection), ``pmc_goals`` (symbols → tool goals), ``arm_ik``, ``trajectory``;
  ``grasp`` (the :class:`GraspEstimator` interface and a geometric top-down estimator).
"""

from failforward.config.recovery import GraspConfig, PmcConfig, RecoveryConfig, VsfConfig
from failforward.recovery.correction import (
    Correction,
    HoldCorrection,
    PlanResult,
    PolicyCorrection,
    Refusal,
    TrajectoryCorrection,
)
from failforward.recovery.events import RecoveryEvent, RecoveryState
from failforward.recovery.grasp import Grasp, GraspEstimator, TopDownGraspEstimator
from failforward.recovery.machine import RecoveryMachine, select_mode
from failforward.recovery.modes.base import CorrectiveMode, ModeResources, make_mode, register_mode
from failforward.recovery.overrides import JointOverride, Override, PolicyOverride, ResumePolicy
from failforward.recovery.runner import RecoveryController

__all__ = [
    "Correction",
    "CorrectiveMode",
    "Grasp",
    "GraspConfig",
    "GraspEstimator",
    "HoldCorrection",
    "JointOverride",
    "ModeResources",
    "Override",
    "PlanResult",
    "PmcConfig",
    "PolicyCorrection",
    "PolicyOverride",
    "RecoveryConfig",
    "RecoveryController",
    "RecoveryEvent",
    "RecoveryMachine",
    "RecoveryState",
    "Refusal",
    "ResumePolicy",
    "TopDownGraspEstimator",
    "TrajectoryCorrection",
    "VsfConfig",
    "make_mode",
    "register_mode",
    "select_mode",
]
