"""The demo says what System 2 did (planning cycles by reason, the slowest plan, budget cuts, ticks held) and what the
failure detector did (chunks scored, trips, queries asked at once)."""

from __future__ import annotations

from failforward.cli.demo import detector_line, planner_line
from failforward.config import get_preset
from failforward.control.loop import EpisodeResult
from failforward.supervisor.detector import DetectorStats
from failforward.types import EpisodeOutcome


def _episode(index: int, planning: dict[str, float]) -> EpisodeResult:
    return EpisodeResult(index, index, EpisodeOutcome(True, 2, "success"), 400, {}, planning=planning)


def test_the_planner_line_adds_cycles_over_episodes_and_keeps_the_slowest_plan() -> None:
    first = {"plans": 3.0, "plans_start": 1.0, "plans_subgoal_done": 2.0, "plan_seconds_max": 0.004}
    second = {"plans": 2.0, "plans_start": 1.0, "plans_deviation": 1.0, "plan_seconds_max": 0.012}
    second |= {"plans_timed_out": 1.0, "lost_node_ticks": 7.0}
    line = planner_line(get_preset("sim_plug_strip_vine"), [_episode(0, first), _episode(1, second)])
    assert line == (
        "vine: 5 plans (1 deviation, 2 start, 2 subgoal_done); slowest 12.0 ms, 1 cut by the budget; "
        "held 7 ticks without a scene graph"
    )


def test_the_planner_line_counts_the_done_heads_ends_of_edge() -> None:
    planning = {"plans": 2.0, "plans_start": 1.0, "plans_end_of_edge": 1.0, "done_signals": 4.0}
    line = planner_line(get_preset("sim_plug_strip_vine"), [_episode(0, planning)])
    assert line.endswith("held 0 ticks without a scene graph; done head: 4 ends of edge") and "1 end_of_edge" in line


def test_a_run_without_a_planner_has_no_planner_line() -> None:
    assert planner_line(get_preset("sim_transfer_cube"), [_episode(0, {})]) == ""


def test_the_detector_line_counts_scored_chunks_trips_and_early_queries() -> None:
    config = get_preset("sim_transfer_cube_afil").with_overrides(
        {"supervisor.detector": {"kind": "dual_head", "threshold": 0.0221}}
    )
    stats = DetectorStats(chunks=40, unguided_chunks=0, trips=3, requests=2)
    assert detector_line(config, stats) == (
        "dual_head (threshold 0.0221): 40 chunks scored, 3 trips, 2 asked the supervisor at once"
    )
    assert detector_line(get_preset("sim_transfer_cube_afil"), None) == ""
