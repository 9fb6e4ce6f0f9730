"""The recovery state machine on scripted diagnoses: transitions, timeouts, retries, refusals, events."""

from __future__ import annotations

import json

import numpy as np

from failforward.config.recovery import CorrectiveModeName, RecoveryConfig
from failforward.recovery import (
    HoldCorrection,
    JointOverride,
    PolicyCorrection,
    PolicyOverride,
    RecoveryMachine,
    RecoveryState,
    Refusal,
    ResumePolicy,
    TrajectoryCorrection,
    select_mode,
)
from failforward.supervisor.commands import parse_commands
from failforward.supervisor.diagnosis import Diagnosis
from failforward.symbols.types import Crosshair, Lock, Rewind

DT = 0.02  # [s]
SUCCESS = Diagnosis(question="visual_correction_cot", success=True)


def failure(
    text: str = "Move the right gripper left slightly.",
    failure_type: str = "gripper 6d-pose",
    symbols: tuple = (Crosshair(position=(10.0, 10.0)),),
) -> Diagnosis:
    return Diagnosis(
        question="visual_correction_cot",
        success=False,
        failure_type=failure_type,
        command_text=text,
        commands=parse_commands(text),
        symbols=symbols,
    )


class ScriptedPlanner:
    """Plans a 3-row trajectory (pmc, rewind), a VSF policy correction, a hold, or refuses on demand."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.refuse, self.calls = refuse, []

    def __call__(self, mode: str, diagnosis: Diagnosis):
        self.calls.append(mode)
        if mode in self.refuse:
            return Refusal(mode, "scripted refusal")
        if mode == "hold":
            return HoldCorrection(mode, np.full(2, 7.0))
        if mode == "vsf":
            return PolicyCorrection(mode, diagnosis.command_text, lambda obs: obs)
        return TrajectoryCorrection(mode, np.arange(6.0).reshape(3, 2), "right")


class Machine:
    """A :class:`RecoveryMachine` with its planner, handed to every step (as the controller does each tick)."""

    def __init__(self, config: RecoveryConfig, planner=None, on_event=None) -> None:
        self.machine, self.planner = RecoveryMachine(config, on_event), planner or ScriptedPlanner()

    def step(self, now: float, diagnosis: Diagnosis | None):
        return self.machine.step(now, diagnosis, self.planner)

    def __getattr__(self, name: str):
        return getattr(self.machine, name)


def run(machine: Machine, diagnoses: dict[int, Diagnosis], ticks: int, start: float = 0.0) -> list:
    return [machine.step(start + k * DT, diagnoses.get(k)) for k in range(ticks)]


def test_a_trajectory_correction_plays_row_by_row_then_resumes_the_policy() -> None:
    machine = Machine(RecoveryConfig(), ScriptedPlanner())
    out = run(machine, {1: failure()}, 7)
    assert out[0] is None
    assert [o.positions.tolist() for o in out[1:4]] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert all(isinstance(o, JointOverride) and o.mode == "pmc" for o in out[1:4])
    assert isinstance(out[4], ResumePolicy) and out[5] is None and out[6] is None
    kinds = [(e.kind, e.source, e.target) for e in machine.events]
    assert kinds == [
        ("diagnosed", RecoveryState.NOMINAL, RecoveryState.DIAGNOSED),
        ("planned", RecoveryState.DIAGNOSED, RecoveryState.CORRECTING),
        ("completed", RecoveryState.CORRECTING, RecoveryState.NOMINAL),
    ]
    json.dumps([e.to_dict() for e in machine.events])  # recordable as a JSON channel


def test_reports_during_a_trajectory_are_ignored() -> None:
    planner = ScriptedPlanner()
    machine = Machine(RecoveryConfig(), planner)
    out = run(machine, {0: failure(), 1: failure(), 2: SUCCESS}, 4)
    assert [type(o).__name__ for o in out] == ["JointOverride"] * 3 + ["ResumePolicy"]
    assert planner.calls == ["pmc"]


def test_human_intervention_holds_until_success_and_a_timeout_ends_a_hold() -> None:
    machine = Machine(RecoveryConfig(), ScriptedPlanner())
    intervention = failure("Hold still.", "human intervention", (Lock(position=(5.0, 5.0)),))
    out = run(machine, {0: intervention, 50: SUCCESS}, 52)
    assert all(isinstance(o, JointOverride) and o.positions.tolist() == [7.0, 7.0] for o in out[:50])
    assert [k for k, o in enumerate(out[:50]) if o.chunk is not None] == [0, 25]  # the supervisor keeps watching
    assert out[25].chunk.actions.shape == (25, 2) and out[25].chunk.source == "hold"
    assert isinstance(out[50], ResumePolicy) and machine.state is RecoveryState.NOMINAL
    assert machine.events[-1].kind == "cleared"
    timed = Machine(RecoveryConfig(hold_timeout_s=0.5), ScriptedPlanner())
    out = run(timed, {0: intervention}, 40)
    assert isinstance(out[26], ResumePolicy) and timed.events[-1].kind == "timeout"


def test_a_new_ordinary_failure_during_a_human_hold_clears_it_and_is_corrected() -> None:
    machine = Machine(RecoveryConfig(), ScriptedPlanner())
    intervention = failure("Hold still.", "human intervention", ())
    out = run(machine, {0: intervention, 10: failure()}, 12)
    assert isinstance(out[10], JointOverride) and out[10].mode == "pmc"
    assert [e.kind for e in machine.events] == ["diagnosed", "planned", "cleared", "diagnosed", "planned"]


def test_vsf_runs_the_policy_until_success_restarting_the_broker_once() -> None:
    machine = Machine(RecoveryConfig(mode="vsf"), ScriptedPlanner())
    out = run(machine, {0: failure(), 20: SUCCESS}, 22)
    assert all(isinstance(o, PolicyOverride) for o in out[:20])
    assert out[0].restart and not any(o.restart for o in out[1:20])
    assert out[0].prompt == "Move the right gripper left slightly."
    assert isinstance(out[20], ResumePolicy) and machine.events[-1].kind == "succeeded"


def test_vsf_times_out_and_a_repeated_failure_replans_as_a_new_attempt() -> None:
    machine = Machine(RecoveryConfig(mode="vsf", correction_timeout_s=0.2), ScriptedPlanner())
    out = run(machine, {0: failure()}, 13)
    assert isinstance(out[11], ResumePolicy) and machine.events[-1].kind == "timeout"
    again = Machine(RecoveryConfig(mode="vsf"), ScriptedPlanner())
    out = run(again, {0: failure(), 5: failure()}, 7)
    assert out[5].restart and again.attempts == 2
    assert [e.kind for e in again.events][-3:] == ["replanned", "diagnosed", "planned"]


def test_attempts_are_bounded_then_the_machine_holds_until_success() -> None:
    machine = Machine(RecoveryConfig(max_attempts=2), ScriptedPlanner())
    diagnoses = {0: failure(), 10: failure(), 20: failure(), 30: failure(), 40: SUCCESS, 50: failure()}
    out = run(machine, diagnoses, 52)
    assert machine.events[7].kind == "exhausted" and machine.events[7].target is RecoveryState.HOLD
    assert all(isinstance(o, JointOverride) and o.mode == "hold" for o in out[20:40])  # failures do not end it
    assert isinstance(out[40], ResumePolicy) and machine.attempts == 1  # success reset the count
    assert isinstance(out[50], JointOverride) and out[50].mode == "pmc"


def test_a_refused_diagnosis_returns_to_nominal_or_holds_as_configured() -> None:
    machine = Machine(RecoveryConfig(), ScriptedPlanner(refuse=frozenset({"pmc"})))
    out = run(machine, {0: failure()}, 3)
    assert out == [None, None, None] and machine.state is RecoveryState.NOMINAL
    assert machine.events[-1].kind == "refused" and machine.events[-1].reason == "scripted refusal"
    holding = Machine(RecoveryConfig(on_refusal="hold"), ScriptedPlanner(refuse=frozenset({"pmc"})))
    out = run(holding, {0: failure()}, 3)
    assert all(isinstance(o, JointOverride) and o.mode == "hold" for o in out)


def test_mode_choice_follows_the_failure_type_and_symbols() -> None:
    assert select_mode(failure(), "vsf") == "vsf"
    assert select_mode(failure("Hold still.", "gripper state", ()), "pmc") == "hold"
    assert (
        select_mode(failure("Move the left gripper upward.", "task planning", (Rewind(position=(1.0, 1.0)),)), "pmc")
        == "rewind"
    )
    assert select_mode(failure(failure_type="human intervention"), "pmc") == "hold"


def test_mode_names_are_an_enum_recorded_as_their_words() -> None:
    assert select_mode(failure(failure_type="human intervention"), "pmc") is CorrectiveModeName.HOLD
    assert select_mode(failure(symbols=(Rewind(position=(1.0, 1.0)),)), "pmc") is CorrectiveModeName.REWIND
    machine = Machine(RecoveryConfig(), ScriptedPlanner())
    out = run(machine, {0: failure("Hold still.", "human intervention", ())}, 2)
    assert out[1].mode is CorrectiveModeName.HOLD and machine.events[-1].mode == "hold"
    recorded = json.dumps([e.to_dict() for e in machine.events])
    assert '"mode": "hold"' in recorded and "CorrectiveModeName" not in recorded
    assert '"reason": "human intervention: Hold still."' in recorded  # the failure type reads as its words


def test_on_event_subscribers_see_every_transition_and_their_errors_do_not_escape() -> None:
    seen = []
    machine = Machine(RecoveryConfig(), ScriptedPlanner(), on_event=seen.append)
    run(machine, {0: failure()}, 5)
    assert seen == machine.events and len(seen) == 3

    def broken(event) -> None:
        raise RuntimeError("recorder down")

    machine = Machine(RecoveryConfig(), ScriptedPlanner(), on_event=broken)
    assert isinstance(machine.step(0.0, failure()), JointOverride)


def test_a_view_clearing_trajectory_is_followed_by_one_replan_of_the_same_diagnosis() -> None:
    class ClearingPlanner(ScriptedPlanner):
        def __call__(self, mode: str, diagnosis: Diagnosis):
            self.calls.append(mode)
            clear = len(self.calls) == 1 or self.always
            return TrajectoryCorrection(mode, np.zeros((2, 2)) + len(self.calls), "right", "clear", then_replan=clear)

    planner = ClearingPlanner()
    planner.always = False
    machine = Machine(RecoveryConfig(), planner)
    out = run(machine, {0: failure()}, 6)
    assert [o.positions[0] for o in out[:4]] == [1.0, 1.0, 2.0, 2.0] and isinstance(out[4], ResumePolicy)
    assert [e.kind for e in machine.events] == ["diagnosed", "planned", "replanned", "completed"]
    assert machine.attempts == 1
    stubborn = ClearingPlanner()
    stubborn.always = True
    machine = Machine(RecoveryConfig(), stubborn)
    out = run(machine, {0: failure()}, 4)
    assert isinstance(out[2], ResumePolicy) and machine.events[-1].kind == "refused"
    assert "still hidden" in machine.events[-1].reason
    assert [e.kind for e in machine.events].count("refused") == 1
