"""The recovery state machine: supervisor reports in, per-tick overrides and transition events out.

::

    NOMINAL ──failure──► DIAGNOSED ──plan──► CORRECTING(pmc | vsf) ──done / success / timeout──► NOMINAL
                            │   │                 ▲ new failure during VSF: re-plan (one more attempt)
                            │   ├──hold────► HOLD ──success / other failure / timeout──► NOMINAL
                            │   └──rewind──► REWIND ──done / timeout──► NOMINAL
                            └──refused / attempts used up──► NOMINAL or HOLD (config)

Mode choice: 'human intervention', a hold-still command or a lock symbol → ``hold``; a rewind symbol →
``rewind``; anything else → ``RecoveryConfig.mode``. ``attempts`` counts corrections started since the
last success report; a failure arriving with ``attempts == max_attempts`` exhausts the machine. Times are
[s] of the driver clock. Reports arriving while a trajectory runs are ignored (they describe the scene
before the correction). While holding, a hold chunk is reported every ``hold_chunk_ticks`` so that the
supervisor keeps being asked. The machine plans through the ``plan`` its caller hands each step (bound to that
tick's observation) and never touches a driver.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from failforward.config.recovery import CorrectiveModeName, RecoveryConfig
from failforward.recovery.correction import (
    Correction,
    HoldCorrection,
    PlanResult,
    PolicyCorrection,
    Refusal,
    TrajectoryCorrection,
)
from failforward.recovery.events import EventKind, RecoveryEvent, RecoveryState
from failforward.recovery.overrides import JointOverride, Override, PolicyOverride, ResumePolicy
from failforward.supervisor.commands import HoldStill
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.questions import FailureType
from failforward.symbols.types import Lock, Rewind
from failforward.types import ActionChunk

logger = logging.getLogger(__name__)

Planner = Callable[[str, Diagnosis], PlanResult]
"""``(mode name, diagnosis) -> Correction | Refusal``."""


def select_mode(diagnosis: Diagnosis, corrective: str) -> str:
    """``hold`` for a human intervention / hold-still / lock, ``rewind`` for a rewind symbol, else ``corrective``."""
    if (
        diagnosis.failure_type == FailureType.HUMAN_INTERVENTION
        or any(isinstance(c, HoldStill) for c in diagnosis.commands)
        or any(isinstance(s, Lock) for s in diagnosis.symbols)
    ):
        return CorrectiveModeName.HOLD
    if any(isinstance(s, Rewind) for s in diagnosis.symbols):
        return CorrectiveModeName.REWIND
    return corrective


class RecoveryMachine:
    """State, attempts and timeouts of recovery (transition table in the module docstring)."""

    def __init__(self, config: RecoveryConfig, on_event: Callable[[RecoveryEvent], None] | None = None) -> None:
        self.config, self._on_event = config, on_event
        self.events: list[RecoveryEvent] = []
        self.state, self.attempts = RecoveryState.NOMINAL, 0
        self.reset(0.0, record=False)

    # ------------------------------------------------------------------ public
    def reset(self, now: float, *, record: bool = True) -> None:
        """New episode: NOMINAL, no attempts, no correction; ``events`` restarts (this episode's transitions)."""
        self.events.clear()
        if record:
            self._emit(now, "reset", RecoveryState.NOMINAL)
        self.state, self.mode, self.attempts = RecoveryState.NOMINAL, "", 0
        self._active: Correction | None = None
        self._diagnosis: Diagnosis | None = None
        self._started, self._tick, self._hold_ends_on_failure = now, 0, True
        self._resume = False

    def step(self, now: float, diagnosis: Diagnosis | None, plan: Planner) -> Override | None:
        """This tick's override (``None``: run the policy as usual) given the newest diagnosis, if any.

        ``plan`` plans a correction of a mode for a diagnosis on this tick's view of the robot (the caller binds
        the observation); it is only called within this step.
        """
        if self.state is RecoveryState.HOLD:
            return self._holding(now, diagnosis, plan)
        if isinstance(self._active, PolicyCorrection):
            return self._following(now, diagnosis, plan)
        if self._active is not None:
            return self._tracking(now, plan)
        if diagnosis is not None and diagnosis.success:
            self.attempts = 0
        elif diagnosis is not None:
            override = self._on_failure(now, diagnosis, plan)
            if override is not None:
                return override
        return self._take_resume()

    # ----------------------------------------------------------------- states
    def _on_failure(self, now: float, diagnosis: Diagnosis, plan: Planner) -> Override | None:
        self._emit(now, "diagnosed", RecoveryState.DIAGNOSED, reason=_describe(diagnosis))
        if self.attempts >= self.config.max_attempts:
            return self._fallback(
                now,
                diagnosis,
                "exhausted",
                self.config.on_exhausted,
                f"{self.attempts} corrections without success (max_attempts)",
                plan=plan,
            )
        mode = select_mode(diagnosis, self.config.mode)
        self._diagnosis = diagnosis
        result = plan(mode, diagnosis)
        if isinstance(result, Refusal):
            logger.warning("recovery: %s refused: %s", result.mode, result.reason)
            return self._fallback(now, diagnosis, "refused", self.config.on_refusal, result.reason, mode, plan=plan)
        if not isinstance(result, HoldCorrection):
            self.attempts += 1
        return self._start(now, result, "planned", _describe(diagnosis), hold_ends_on_failure=True, plan=plan)

    def _fallback(
        self,
        now: float,
        diagnosis: Diagnosis | None,
        kind: EventKind,
        where: str,
        reason: str,
        mode: str = "",
        *,
        plan: Planner,
    ) -> Override | None:
        if where == "hold" and diagnosis is not None:
            hold = plan(CorrectiveModeName.HOLD, diagnosis)
            if isinstance(hold, HoldCorrection):
                return self._start(now, hold, kind, reason, hold_ends_on_failure=False, plan=plan)
        self._emit(now, kind, RecoveryState.NOMINAL, mode, reason)
        self.state = RecoveryState.NOMINAL
        return None

    def _start(
        self,
        now: float,
        correction: Correction,
        kind: EventKind,
        reason: str,
        *,
        hold_ends_on_failure: bool,
        plan: Planner,
    ) -> Override | None:
        target = RecoveryState.REWIND if correction.mode == CorrectiveModeName.REWIND else RecoveryState.CORRECTING
        if isinstance(correction, HoldCorrection):
            target = RecoveryState.HOLD
        description = ("" if isinstance(correction, PolicyCorrection) else correction.description) or reason
        self._emit(now, kind, target, correction.mode, description)
        self.state, self.mode, self._active = target, correction.mode, correction
        self._started, self._tick, self._hold_ends_on_failure = now, 0, hold_ends_on_failure
        return self.step(now, None, plan)

    def _holding(self, now: float, diagnosis: Diagnosis | None, plan: Planner) -> Override | None:
        if diagnosis is not None and diagnosis.success:
            self.attempts = 0
            return self._finish(now, "cleared", "the supervisor reports success")
        if (
            diagnosis is not None
            and self._hold_ends_on_failure
            and select_mode(diagnosis, "") != CorrectiveModeName.HOLD
        ):
            resume = self._finish(now, "cleared", f"new failure: {_describe(diagnosis)}")
            return self._on_failure(now, diagnosis, plan) or resume
        timeout = self.config.hold_timeout_s
        if timeout is not None and now - self._started > timeout:
            return self._finish(now, "timeout", f"held for {timeout} s")
        positions = self._active.positions  # type: ignore[union-attr]
        chunk = None
        if self._tick % self.config.hold_chunk_ticks == 0:
            chunk = ActionChunk(np.tile(positions, (self.config.hold_chunk_ticks, 1)), source="hold")
        self._tick += 1
        return JointOverride(positions, CorrectiveModeName.HOLD, chunk)

    def _following(self, now: float, diagnosis: Diagnosis | None, plan: Planner) -> Override | None:
        if diagnosis is not None and diagnosis.success:
            self.attempts = 0
            return self._finish(now, "succeeded", "the supervisor reports success")
        if diagnosis is not None:
            resume = self._finish(now, "replanned", f"still failing: {_describe(diagnosis)}")
            return self._on_failure(now, diagnosis, plan) or resume
        if now - self._started > self.config.correction_timeout_s:
            return self._finish(now, "timeout", f"no success within {self.config.correction_timeout_s} s")
        active: PolicyCorrection = self._active  # type: ignore[assignment]
        restart, self._tick = self._tick == 0, self._tick + 1
        return PolicyOverride(active.prompt, active.transform, restart, active.mode)

    def _tracking(self, now: float, plan: Planner) -> Override | None:
        targets = self._active.targets  # type: ignore[union-attr]
        if now - self._started > self.config.correction_timeout_s:
            return self._finish(now, "timeout", f"trajectory unfinished after {self.config.correction_timeout_s} s")
        if self._tick >= len(targets):
            if self._active.then_replan:  # type: ignore[union-attr]
                return self._replan(now, plan)
            return self._finish(now, "completed", f"{len(targets)} ticks")
        row, self._tick = targets[self._tick], self._tick + 1
        return JointOverride(row, self.mode)

    def _replan(self, now: float, plan: Planner) -> Override | None:
        """The view is clear: plan the same diagnosis again (once; the attempt is the same one)."""
        diagnosis = self._diagnosis
        result = plan(self.mode, diagnosis) if diagnosis is not None else Refusal(self.mode, "nothing")
        if isinstance(result, TrajectoryCorrection) and result.then_replan:
            result = Refusal(result.mode, f"still hidden after clearing the view: {result.description}")
        if isinstance(result, Refusal):
            self._active, self._resume = None, True
            return (
                self._fallback(now, diagnosis, "refused", self.config.on_refusal, result.reason, self.mode, plan=plan)
                or self._take_resume()
            )
        return self._start(now, result, "replanned", "view cleared", hold_ends_on_failure=True, plan=plan)

    def _finish(self, now: float, kind: EventKind, reason: str) -> Override | None:
        self._emit(now, kind, RecoveryState.NOMINAL, self.mode, reason)
        self.state, self._active, self._resume = RecoveryState.NOMINAL, None, True
        return self._take_resume()

    def _take_resume(self) -> ResumePolicy | None:
        if not self._resume:
            return None
        self._resume = False
        return ResumePolicy()

    def _emit(self, now: float, kind: EventKind, target: RecoveryState, mode: str = "", reason: str = "") -> None:
        event = RecoveryEvent(now, kind, self.state, target, mode, reason, self.attempts)
        if kind == "diagnosed":
            self.state = RecoveryState.DIAGNOSED
        self.events.append(event)
        logger.info("recovery %s: %s -> %s %s %s", kind, event.source.value, target.value, mode, reason)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                logger.exception("recovery event subscriber failed")


def _describe(diagnosis: Diagnosis) -> str:
    return f"{diagnosis.failure_type or 'failure'}: {diagnosis.command_text}".strip()
