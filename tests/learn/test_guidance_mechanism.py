"""``bench/guidance_mechanism.py``'s windows and summary on hand-made episodes (the simulator replay is not needed)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def mechanism(load_bench):
    return load_bench("guidance_mechanism")


def _episode(success: bool, stages: list[int], d: list[float], dt: float = 0.5) -> dict:
    """Chunks every ``dt`` s with the given stage and disagreement; ``entered`` from the first chunk at each stage."""
    chunks = [[i * dt, m, v] for i, (m, v) in enumerate(zip(stages, d, strict=True))]
    entered = {m: next(t for t, s, _ in chunks if s >= m) for m in sorted(set(stages))}
    return {"success": success, "max_stage": max(stages), "entered": entered, "chunks": chunks}


def test_failed_episodes_are_compared_where_they_stopped(mechanism) -> None:
    failed = [_episode(False, [0, 0, 1, 2, 2, 2], [0.1, 0.1, 0.1, 0.9, 0.8, 0.7]) for _ in range(3)]
    passed = [_episode(True, [0, 0, 1, 2, 3, 4], [0.1, 0.1, 0.1, 0.2, 0.1, 0.1]) for _ in range(3)]
    (row,) = mechanism.summarize(failed + passed, early_s=1.0, window_s=1.0, min_chunks=1)
    assert row["stage"] == 2 and row["failed_episodes"] == 3 and row["successful_episodes"] == 3
    assert row["chunks_at_stage"] == {"failed": 6, "successful": 3}  # 1 s at 0.5 s per chunk; successes moved on
    assert row["mean_at_stage"]["failed"] == pytest.approx(0.85) and row["auroc_at_stage"][0] == 1.0
    assert row["auroc_early"][0] == 0.5  # identical before anything happened
    assert row["mean_whole_stay"]["failed"] == pytest.approx(0.8)
    (few,) = mechanism.summarize(failed + passed, early_s=1.0, window_s=1.0)  # 3 successful chunks: no AUROC
    assert few["auroc_at_stage"][0] != few["auroc_at_stage"][0]  # NaN


def test_only_adaptive_methods_carry_a_disagreement(mechanism) -> None:
    assert mechanism.method_gamma("dag_adaptive_2") == 2.0
    assert mechanism.method_gamma("dag_static_0.05") is None


def test_chunks_after_a_setback_are_set_apart(mechanism) -> None:
    dropped = _episode(False, [0, 1, 2, 0, 0], [0.1, 0.1, 0.1, 0.5, 0.6])  # grasped, then lost at 1.5 s
    clean = _episode(True, [0, 1, 2, 3], [0.1, 0.1, 0.1, 0.1])
    r = mechanism.setbacks([dropped, clean], min_chunks=1)
    assert r["episodes_with_setback"] == 1
    assert r["chunks"] == {"setback": 2, "onward": 5}  # stage-0 chunks before the first stage count for neither
    assert r["mean"]["setback"] == pytest.approx(0.55) and r["auroc"][0] == 1.0
    assert mechanism.setbacks([clean], min_chunks=1)["chunks"]["setback"] == 0
