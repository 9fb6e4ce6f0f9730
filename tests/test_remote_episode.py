"""A policy server killed mid-episode: the simulated ALOHA executes what it has, then holds; the episode is recorded as
aborted with the reason; the restarted server runs the next episode. The real ``failforward serve`` (shipped model,
onnxruntime) in a child process, the real loop with asynchronous inference, the real recorder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from failforward.config import get_preset
from failforward.control.assembly import build_loop
from failforward.record.reader import read_episode
from failforward.record.recorder import EpisodeRecorder
from failforward.robots.registry import make_driver
from failforward.testing.policy_server import ServerProcess
from failforward.types import EpisodeInfo, EpisodeOutcome, TickRecord

MODEL = Path(__file__).resolve().parents[1] / "models" / "afil_aloha_transfer_cube"
KILL_AT_TICK = 40


class KillServerAt:
    """Kills the server (SIGKILL) on one tick of the first episode; remembers every command sent."""

    def __init__(self, server: ServerProcess) -> None:
        self.server, self.episode, self.sent = server, -1, []

    def on_episode_start(self, info: EpisodeInfo) -> None:
        self.episode, self.sent = info.episode_index, []

    def on_tick(self, tick: TickRecord) -> None:
        self.sent.append(tick.sent.positions)
        if self.episode == 0 and tick.step == KILL_AT_TICK:
            self.server.kill()

    def on_episode_end(self, outcome: EpisodeOutcome) -> None: ...


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    with ServerProcess.model(MODEL) as process:
        yield process


def test_a_killed_server_holds_the_robot_aborts_the_recorded_episode_and_a_restarted_one_runs_the_next(
    server: ServerProcess, tmp_path: Path
) -> None:
    config = get_preset("sim_transfer_cube_remote").with_overrides(
        {
            "policy.endpoint": server.endpoint,
            "policy.timeout_s": 0.5,
            "broker.inference": "asynchronous",
            "broker.max_starvation_s": 1.0,
            "robot.cameras": [],
            "supervisor.enabled": False,
            "recovery.enabled": False,
            "loop.max_steps": 150,
            "record.output_dir": str(tmp_path),
        }
    )
    with make_driver(config.robot) as driver:
        recorder = EpisodeRecorder(config.record, "remote")
        killer = KillServerAt(server)
        loop = build_loop(config, driver, subscribers=[recorder, killer])
        killed = loop.run_episode(0, 100_000)
        sent_killed = np.array(killer.sent)
        server.restart()
        after = loop.run_episode(1, 100_001)
        loop.policy.close()

    assert killed.error is not None and "PolicyStarvedError" in killed.error
    assert "PolicyTimeoutError" in killed.error or "PolicyUnavailableError" in killed.error
    starved = int(killed.inference["starved_ticks"])
    assert killed.steps > KILL_AT_TICK + 1 and starved == round(1.0 / 0.02) + 1
    executed = killed.steps - starved
    assert executed > KILL_AT_TICK  # the queue ran on after the kill before the robot held
    held = sent_killed[executed:]
    assert np.allclose(held, held[0])  # holding: the same command, through the safety layer
    outcome = read_episode(recorder.files[0]).outcome
    assert outcome is not None and not outcome.success and "PolicyStarvedError" in outcome.reason
    assert after.error is None and after.steps > 0 and after.inference["failed_requests"] == 0
    assert read_episode(recorder.files[1]).outcome.reason == after.outcome.reason
