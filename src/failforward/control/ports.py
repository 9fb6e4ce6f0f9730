"""What the control loop needs of its optional collaborators: narrow protocols, owned here.

- :class:`ReportSource`: where supervisor answers come from. In-process it is the
  :class:`~failforward.supervisor.scheduler.SupervisorScheduler`; in the ROS policy node, the inbox of
  ``supervisor/diagnosis``. The loop calls :meth:`~ReportSource.poll` after every tick and, in the
  synchronous supervisor mode, :meth:`~ReportSource.wait` before it.
- :class:`OnDemandReports`: a report source that can also be asked at once, outside its schedule (the loop asks when
  perception finds no object); a capability, tested with ``isinstance``.
- :class:`RunObserver`: a subscriber that also sees every supervisor answer the loop collects and every
  recovery event (the episode recorder, the Foxglove live view); :func:`~failforward.control.runtime.run` wires
  them.
- :class:`Corrector`: turns the answer collected on the previous tick into this tick's intent (an
  :data:`~failforward.recovery.overrides.Override`, or ``None`` for the policy as usual). It never moves the
  robot: the loop alone turns intent into motion, asks the policy and flushes the chunk queue.

Both are tick subscribers too (episode start resets them; every tick feeds them), so they are
:class:`~failforward.types.TickSubscriber` s with the methods below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from failforward.recovery.events import RecoveryEvent
from failforward.recovery.overrides import Override
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import EpisodeInfo, EpisodeOutcome, Observation, TickRecord

if TYPE_CHECKING:
    from failforward.control.plan_step import PlanCycle


@runtime_checkable
class ReportSource(Protocol):
    """Supervisor answers for the loop; every method returns at once except :meth:`wait`."""

    def on_episode_start(self, info: EpisodeInfo) -> None: ...
    def on_tick(self, tick: TickRecord) -> None: ...
    def on_episode_end(self, outcome: EpisodeOutcome) -> None: ...

    def poll(self) -> SupervisorReport | None:
        """The newest answer for the current episode not yet taken, or ``None``."""
        ...

    def wait(self, timeout_s: float) -> bool:
        """Block until no query is in flight, at most ``timeout_s`` [s]; True when none is (a source whose
        queries run elsewhere has none in flight: it returns True at once)."""
        ...


@runtime_checkable
class OnDemandReports(Protocol):
    """A report source the loop may ask at once; returns at once (the answer comes through ``poll`` as usual)."""

    def request(self, step: int, reason: str) -> bool:
        """Query the backend now about the frames so far, because of ``reason``; ``False`` when it cannot (a query
        is in flight: its answer comes first)."""
        ...


@runtime_checkable
class Corrector(Protocol):
    """Recovery as the loop sees it: one call per tick, before inference; intent out, never motion."""

    def on_episode_start(self, info: EpisodeInfo) -> None: ...
    def on_tick(self, tick: TickRecord) -> None: ...
    def on_episode_end(self, outcome: EpisodeOutcome) -> None: ...

    def step(self, observation: Observation, report: SupervisorReport | None) -> Override | None:
        """This tick's override, or ``None`` for the policy as usual; never raises on a bad diagnosis."""
        ...


@runtime_checkable
class RunObserver(Protocol):
    """Sees supervisor answers and recovery transitions besides ticks; both calls return at once (control thread)."""

    def record_report(self, report: SupervisorReport) -> None:
        """A supervisor answer the loop collected."""
        ...

    def record_event(self, event: RecoveryEvent) -> None:
        """A transition of the recovery machine."""
        ...


@runtime_checkable
class PlanObserver(Protocol):
    """Sees System 2's planning cycles (the recorder: ``/planner/plan``; the live view); returns at once."""

    def record_plan(self, cycle: PlanCycle) -> None:
        """One planning cycle (reason, node, plan and searched tree)."""
        ...
