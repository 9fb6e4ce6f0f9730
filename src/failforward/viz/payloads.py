"""JSON payloads of the live view's event channels (episode, supervisor answers, recovery events).

Times: ``robot_time_s`` [s] is the robot clock (restarts with each simulated episode); the Foxglove message
time is the wall clock (see :mod:`failforward.viz.messages`).
"""

from __future__ import annotations

from typing import Any

from failforward.recovery.events import RecoveryEvent
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import EpisodeInfo, EpisodeOutcome


def episode_start(info: EpisodeInfo) -> dict[str, Any]:
    """``/episode`` at the start: identity, task and prompt."""
    return {
        "event": "start",
        "episode_index": info.episode_index,
        "episode_id": info.episode_id,
        "seed": info.seed,
        "task": info.task,
        "prompt": info.prompt,
        "robot": info.robot,
    }


def episode_end(info: EpisodeInfo | None, outcome: EpisodeOutcome) -> dict[str, Any]:
    """``/episode`` at the end: the outcome (success, furthest stage, reason)."""
    return {
        "event": "end",
        "episode_index": info.episode_index if info else None,
        "episode_id": info.episode_id if info else "",
        "success": outcome.success,
        "stage": outcome.stage,
        "reason": outcome.reason,
    }


def report_payload(report: SupervisorReport) -> dict[str, Any]:
    """``/supervisor/symbols``: the answer's kind, verdict, commands and symbols (pixels of frame
    ``symbol_frame``, taken at ``symbol_frame_time_s`` on the robot clock), as the recorder writes it."""
    result = report.result
    payload: dict[str, Any] = {
        "episode_id": report.episode_id,
        "step": report.step,
        "robot_time_s": report.queried_at,
        "latency_s": report.latency_s,
        "kind": result.kind,
        "symbols": [],
    }
    if isinstance(result, Diagnosis):
        frame = result.symbol_frame
        payload.update(
            success=result.success,
            failure_type=None if result.failure_type is None else str(result.failure_type),
            commands=result.command_text,
            symbols=[s.model_dump(mode="json") for s in result.symbols],
            symbol_frame=frame,
            symbol_frame_time_s=_frame_time(report, frame),
        )
    else:
        payload["reason"] = getattr(result, "reason", "")
    return payload


def report_summary(report: SupervisorReport) -> str:
    """One readable line for the Log panel and the 3-D label."""
    result = report.result
    if not isinstance(result, Diagnosis):
        return f"supervisor: no diagnosis ({result.kind}: {getattr(result, 'reason', '')})"
    verdict = "success" if result.success else f"FAILED ({result.failure_type or 'unknown type'})"
    symbols = ", ".join(s.kind for s in result.symbols) or "no symbols"
    command = f": {result.command_text}" if result.command_text else ""
    return f"supervisor at step {report.step}: {verdict}{command} [{symbols}]"


def event_payload(event: RecoveryEvent, episode_id: str) -> dict[str, Any]:
    """``/recovery/event``: one transition of the recovery machine (``time`` on the robot clock [s])."""
    return {**event.to_dict(), "episode_id": episode_id}


def event_summary(event: RecoveryEvent) -> str:
    mode = f" [{event.mode}]" if event.mode else ""
    reason = f": {event.reason}" if event.reason else ""
    return f"recovery {event.kind}{mode}: {event.source.value} → {event.target.value}{reason}"


def _frame_time(report: SupervisorReport, frame: int | None) -> float | None:
    if frame is None or not 0 <= frame < len(report.frame_times):
        return None
    return report.frame_times[frame]
