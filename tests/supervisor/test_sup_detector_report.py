"""The failure-detector benchmark's arithmetic (bench/failure_detector_report.py): latency from the onset, false
alarms, the AUROC."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "bench" / "failure_detector_report.py"


@pytest.fixture(scope="module")
def report():
    spec = importlib.util.spec_from_file_location("_failure_detector_report", PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _row(onset, reports, asked=(), trips=(), disturbance="knock_out", success=True):
    return {"onset": onset, "reports": [list(r) for r in reports], "asked": list(asked), "trips": list(trips),
            "disturbance": disturbance, "success": success, "seed": 0, "scores": []}  # fmt: skip


def test_latency_counts_the_first_flagged_answer_at_or_after_the_onset(report) -> None:
    row = _row(100, [(50, "failure"), (125, "ok"), (150, "failure"), (175, "failure")])
    assert report.diagnosis_latency(row) == 50
    assert report.diagnosis_latency(_row(100, [(100, "failure")])) == 0
    assert report.diagnosis_latency(_row(100, [(125, "ok")])) is None
    assert report.diagnosis_latency(_row(None, [(125, "failure")])) is None


def test_false_alarms_count_the_detectors_queries_that_found_nothing(report) -> None:
    rows = [
        _row(None, [(75, "ok"), (125, "ok")], asked=[75], trips=[75, 100], disturbance="none"),
        _row(None, [(125, "failure")], disturbance="none", success=False),
    ]
    alarms = report.false_alarms(rows)
    assert alarms["trips_per_episode"] == 1.0 and alarms["episodes_with_trip"] == 1
    assert alarms["detector_queries_found_nothing_per_episode"] == 0.5
    assert alarms["queries_found_nothing_per_episode"] == 1.0 and alarms["flagged_per_episode"] == 0.5


def test_auroc_is_one_for_separated_scores_and_a_half_for_identical_ones(report) -> None:
    assert report.auroc([0.5, 0.6], [0.1, 0.2, 0.3])[0] == 1.0
    a, low, high = report.auroc([0.2] * 10, [0.2] * 10)
    assert a == 0.5 and low < 0.5 < high
