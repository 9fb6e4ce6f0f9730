"""supervisor_node's failure detector without DDS: with ``supervisor.detector`` set, the λ_t on ``policy/guidance`` is
the chunk event and a disagreeing chunk asks at once; a policy that gives no trace is refused at configure."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("failforward_ros.supervisor_core", reason="the ROS package is not installed")
from failforward_ros.episode import EpisodeStart
from failforward_ros.supervisor_core import SupervisorRuntime

from failforward.config import get_preset
from failforward.errors import ConfigError

RATE_HZ = 50.0
DETECTOR = {"supervisor.detector.kind": "dual_head", "supervisor.detector.threshold": 0.05}


def _queries_after(runtime: SupervisorRuntime, lambdas: list[float], chunks: int) -> int:
    """Feed ``chunks`` chunks (their guidance ``lambdas``, a chunk every 25 frames) and return the queries sent."""
    runtime.on_episode(EpisodeStart("e0", seed=0, stamp=0.0))
    frame = np.zeros((48, 64, 3), np.uint8)
    for tick in range(25 * chunks):
        if tick % 25 == 0:
            runtime.on_chunk()
            runtime.on_guidance(np.asarray(lambdas))
        runtime.on_frame(tick / RATE_HZ, frame)
    return runtime.scheduler.health().queries


@pytest.mark.parametrize(("lambdas", "queries"), [([0.01] * 10, 0), ([0.2] * 10, 1)])
def test_a_disagreeing_chunk_asks_before_the_schedule(lambdas: list[float], queries: int) -> None:
    runtime = SupervisorRuntime(get_preset("sim_transfer_cube_afil").with_overrides(DETECTOR))
    try:
        assert _queries_after(runtime, lambdas, chunks=3) == queries  # the schedule asks at the 6th chunk only
        assert runtime.health()["detector_chunks"] == 3
        assert runtime.health()["detector_trips"] == queries
    finally:
        runtime.close()


def test_without_a_detector_policy_chunk_is_the_chunk_event() -> None:
    runtime = SupervisorRuntime(get_preset("sim_transfer_cube_afil"))
    try:
        assert _queries_after(runtime, [0.2] * 10, chunks=6) == 1  # the schedule's 6th chunk, whatever λ_t says
        assert "detector_trips" not in runtime.health()
    finally:
        runtime.close()


def test_a_detector_on_a_policy_without_a_guidance_trace_is_refused() -> None:
    config = get_preset("sim_transfer_cube").with_overrides(DETECTOR)  # the scripted expert: no heads to compare
    with pytest.raises(ConfigError, match="guidance trace"):
        SupervisorRuntime(config)
