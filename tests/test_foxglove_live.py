"""The Foxglove live view: a WebSocket client subscribes and decodes every stream of an episode; absent, stalled
or vanished viewers never hold the loop up; a taken port is a typed error naming a free one; the shipped layout
is current and names only topics the view publishes."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from websockets.sync.client import connect

from failforward.config import (
    BrokerConfig,
    FoxgloveConfig,
    LoopConfig,
    SafetyConfig,
    ScheduleConfig,
    ScriptedBackendConfig,
)
from failforward.control.assembly import assemble_loop
from failforward.policy.base import PolicyBackend
from failforward.record import topics
from failforward.recovery.events import RecoveryEvent, RecoveryState
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.scheduler import SupervisorReport, SupervisorScheduler
from failforward.symbols.render import render_symbols
from failforward.testing import FakeRobot, FakeRobotConfig
from failforward.testing.foxglove_client import SUBPROTOCOLS, FoxgloveClient, Received
from failforward.types import ActionChunk, Observation, TickRecord, TickSubscriber
from failforward.viz import LAYOUT_PATH
from failforward.viz.errors import LiveViewPortError
from failforward.viz.foxglove_live import FoxgloveLiveView
from failforward.viz.handoff import Handoff
from failforward.viz.layout import layout_json, layout_topics
from failforward.viz.publisher import ANNOTATED, CHUNK_PREVIEW, EPISODE, LOG, SCENE, SYMBOLS

EXECUTE = 10  # ticks per chunk
LAMBDA = np.array([0.0, 0.25, 0.5, 1.0])  # λ_t per denoise step of every chunk
ANSWER = (  # a failure with one symbol (a lock icon in the middle of the frame)
    "<Think>The failure type is identified as 'gripper state'.</Think>\n<Answer>\n\"success detection\": "
    '"Failed",\n"low level commands": "Close the right gripper.",\n"visual prompts": "Draw Lock: '
    "{'position': [500, 500]}\"\n</Answer>"
)
FIXED = [
    topics.JOINT_STATES,
    topics.COMMAND_SENT,
    topics.GUIDANCE,
    topics.RECOVERY_EVENT,
    ANNOTATED,
    SYMBOLS,
    SCENE,
    CHUNK_PREVIEW,
    EPISODE,
    LOG,
]


class Guided(PolicyBackend):
    """Chunks of ``EXECUTE`` rows stepping toward zero, each with the guidance trace ``LAMBDA``."""

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        rows = obs.joint_positions * np.linspace(1.0, 0.5, EXECUTE)[:, None]
        return ActionChunk(rows, guidance=LAMBDA, source="guided")


class Ticks(TickSubscriber):
    def __init__(self) -> None:
        self.ticks: list[TickRecord] = []

    def on_tick(self, tick: TickRecord) -> None:
        self.ticks.append(tick)


def _live(**fields) -> FoxgloveLiveView:
    return FoxgloveLiveView(FoxgloveConfig(enabled=True, port=0, **fields), head_camera="top", head_fps=5.0)


def _loop(driver: FakeRobot, live: FoxgloveLiveView, steps: int, *, realtime: bool, extra=(), **loop):
    scheduler = SupervisorScheduler(
        make_backend(ScriptedBackendConfig(answers=(ANSWER,))), ScheduleConfig(every_chunks=3, fps=5.0, window_s=1.0)
    )
    reports: list[SupervisorReport] = []

    def on_report(report: SupervisorReport) -> None:
        reports.append(report)
        live.record_report(report)

    built = assemble_loop(
        driver,
        Guided(),
        loop=LoopConfig(max_steps=steps, realtime=realtime, stop_on_success=False, **loop),
        safety=SafetyConfig(),
        broker=BrokerConfig(execute_steps=EXECUTE),
        prompt="reach",
        subscribers=[*extra, live],
        reports=scheduler,
        on_report=on_report,
    )
    return built, reports, scheduler


@pytest.fixture
def driver() -> Iterator[FakeRobot]:
    with FakeRobot(FakeRobotConfig(cameras=("top",), image_height=120, image_width=160)) as robot:
        yield robot


def _jpeg(received: Received) -> np.ndarray:
    assert received.message.format == "jpeg"
    image = cv2.imdecode(np.frombuffer(received.message.data, np.uint8), cv2.IMREAD_COLOR)
    return image[:, :, ::-1]  # RGB


def test_a_viewer_decodes_every_stream_of_an_episode(driver: FakeRobot) -> None:
    ticks = Ticks()
    with _live(image_hz=10.0) as live:
        client = FoxgloveClient(live.url)
        try:
            assert client.subprotocol == "foxglove.sdk.v1"
            assert client.wait_subscribed(FIXED), client.topics()
            assert client.wait_for(lambda: set(FIXED) <= live.watched_topics())  # the server registered them
            loop, reports, scheduler = _loop(
                driver, live, 100, realtime=True, extra=[ticks], supervisor_mode="synchronous"
            )
            started = time.time_ns()
            result = loop.run_episode(0, seed=1)
            scheduler.close()
            event = RecoveryEvent(2.0, "diagnosed", RecoveryState.NOMINAL, RecoveryState.DIAGNOSED, reason="gripper")
            live.record_event(event)
            assert live.flush()
            arrived = client.wait_for(lambda: len(client.get(EPISODE)) == 2 and client.get(topics.RECOVERY_EVENT))
            assert arrived, (client.closed, {t: len(client.get(t)) for t in client.topics()}, live.stats())
            assert client.wait_subscribed([topics.camera_topic("top")])
        finally:
            client.close()
        stats = live.stats()
    assert result.error is None and result.steps == 100 and reports
    assert stats.errors == 0 and stats.frames_not_found == 0, stats
    by_step = {t.step: t for t in ticks.ticks}

    states = client.get(topics.JOINT_STATES)
    assert len(states) >= 80, len(states)  # the realtime loop leaves the publisher time for every tick
    positions = {tuple(t.observation.joint_positions) for t in ticks.ticks}
    for received in states:
        assert [j.name for j in received.message.joints] == list(driver.features.joint_names)
        assert tuple(j.position for j in received.message.joints) in positions
        assert started <= received.log_time <= time.time_ns()
    sent = {tuple(t.sent.positions) for t in ticks.ticks}
    assert all(tuple(j.position for j in r.message.joints) in sent for r in client.get(topics.COMMAND_SENT))

    images = client.get(topics.camera_topic("top"))
    assert 5 <= len(images) <= 23, len(images)  # 2 s at image_hz = 10, subscribed after the start
    assert images[0].message.frame_id == "top" and _jpeg(images[0]).shape == (120, 160, 3)

    chunk_steps = [t.step for t in ticks.ticks if t.chunk is not None]
    guidance = [r.message for r in client.get(topics.GUIDANCE)]
    assert [g["step"] for g in guidance] == chunk_steps and len(chunk_steps) == 100 // EXECUTE
    assert all(g["lambda_t"] == LAMBDA.tolist() and g["mean"] == LAMBDA.mean() for g in guidance)
    assert all(
        g["source"] == "guided" and g["robot_time_s"] == by_step[g["step"]].observation.timestamp for g in guidance
    )

    symbols = [r.message for r in client.get(SYMBOLS)]
    assert len(symbols) == len(reports)
    assert all(s["kind"] == "diagnosis" and s["success"] is False for s in symbols)
    assert [s["symbols"][0]["kind"] for s in symbols] == ["lock"] * len(reports)

    annotated = client.get(ANNOTATED)
    assert len(annotated) == len(reports)
    frames = {t.observation.timestamp: t.observation.images["top"] for t in ticks.ticks}
    for received, payload, report in zip(annotated, symbols, reports, strict=True):
        raw = frames[payload["symbol_frame_time_s"]]
        drawn = render_symbols(raw, report.result.symbols)  # type: ignore[union-attr]
        shown, paint = _jpeg(received).astype(float), np.any(drawn != raw, axis=2)
        assert paint.sum() > 100  # where the symbol is painted, the viewer sees it, on that very frame:
        assert np.abs(shown - drawn)[paint].mean() < 0.25 * np.abs(shown - raw)[paint].mean()
        assert np.abs(shown - drawn).mean() < 3.0  # JPEG's error elsewhere

    labels = [r.message.entities[0].texts[0].text for r in client.get(SCENE) if r.message.entities]
    assert labels and "FAILED" in labels[-1] and "lock" in labels[-1]
    preview = client.get(CHUNK_PREVIEW)
    assert len(preview) == 1 and preview[0].message.deletions  # the start clears the scene; no paths off ALOHA

    assert client.get(topics.RECOVERY_EVENT)[0].message == {**event.to_dict(), "episode_id": result.episode_id}
    start, end = (r.message for r in client.get(EPISODE))
    assert start["event"] == "start" and start["episode_id"] == result.episode_id and start["prompt"] == "reach"
    assert end == {
        "event": "end",
        "episode_index": 0,
        "episode_id": result.episode_id,
        "success": result.outcome.success,
        "stage": result.outcome.stage,
        "reason": result.outcome.reason,
    }
    names = {r.message.name for r in client.get(LOG)}
    assert names == {"episode", "supervisor", "recovery"}


def test_absent_stalled_or_vanished_viewers_never_hold_the_loop() -> None:
    """The loop runs flat out with a 480x640 camera; the view's cost on the control thread stays a fraction of
    a millisecond whether nobody watches, a viewer stops reading, or a viewer disappears mid-episode."""
    with FakeRobot(FakeRobotConfig(cameras=("top",), image_height=480, image_width=640)) as big:
        with _live(image_hz=60.0, queue_size=4) as live:
            loop, _, scheduler = _loop(big, live, 300, realtime=False)
            nobody = loop.run_episode(0, seed=0)
            assert live.stats().queued_ticks == 0  # nothing watched: nothing queued, nothing encoded
            alone = live.stats()

            with connect(live.url, subprotocols=SUBPROTOCOLS, compression=None, max_queue=1) as stalled:
                stalled.recv(timeout=5)  # serverInfo
                advertised = json.loads(stalled.recv(timeout=5))["channels"]
                subscriptions = [{"id": i + 1, "channelId": c["id"]} for i, c in enumerate(advertised)]
                stalled.send(json.dumps({"op": "subscribe", "subscriptions": subscriptions}))
                time.sleep(0.3)  # the server has the subscriptions; the client never reads again
                blocked = loop.run_episode(1, seed=1)

            gone = FoxgloveClient(live.url)
            assert gone.wait_subscribed([topics.JOINT_STATES])
            threading.Timer(0.05, gone.ws.socket.close).start()  # dies without a close handshake
            vanished = loop.run_episode(2, seed=2)
            scheduler.close()
            stats = live.stats()
    for result in (nobody, blocked, vanished):
        assert result.error is None and result.steps == 300
    assert stats.queued_ticks > 0 and stats.errors == 0, stats
    print(f"\non_tick cost: alone p50 {alone.tick_cost_p50_ms:.4f} ms; {stats}")
    # the view's own work on the control thread (its CPU time) stays a fraction of a millisecond; the wall-clock
    # time adds what the machine does meanwhile (other threads holding the GIL, other processes), so only its
    # median is bounded here. Measured on the loaded 2-core machine: CPU p99 0.02-0.1 ms; wall p50 0.01-0.06 ms.
    assert alone.tick_cpu_p99_ms < 0.2 and alone.tick_cost_p50_ms < 0.1, alone
    assert stats.tick_cpu_p99_ms < 0.3 and stats.tick_cost_p50_ms < 0.2, stats


def test_a_taken_port_is_a_typed_error_that_names_a_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LiveViewPortError, match=f"127.0.0.1:{port}") as error:
            FoxgloveLiveView(FoxgloveConfig(enabled=True, port=port))
    free = int(str(error.value).split("--foxglove-port ")[1].split()[0])
    assert free != port and 0 < free < 65536


def test_the_handoff_keeps_the_newest_ticks_in_order_and_stays_bounded() -> None:
    handoff: Handoff[str] = Handoff(ticks=2, events=2)
    for item, tick in (("start", False), ("t0", True), ("t1", True), ("report", False), ("t2", True)):
        handoff.put(item, tick=tick)
    assert [handoff.get(0.0) for _ in range(5)] == ["start", "t1", "report", "t2", None]
    assert handoff.dropped_ticks == 1 and handoff.dropped_events == 0 and handoff.pending() == 0
    for i in range(5):  # a stalled publisher: events past the bound are refused, never queued
        handoff.put(f"e{i}", tick=False)
    for i in range(10):
        handoff.put(f"t{i}", tick=True)
    assert handoff.dropped_events == 3 and handoff.dropped_ticks == 1 + 2 and handoff.pending() == 2 + 8
    handoff.close()
    handoff.put("late", tick=False)  # refused once closed
    assert [handoff.get(1.0) for _ in range(5)] == ["e0", "e1", "t6", "t7", None]  # t0..t5 had 2 newer behind
    assert handoff.dropped_ticks == 3 + 6 and handoff.dropped_events == 4 and handoff.pending() == 0


def test_the_shipped_layout_is_current_and_names_only_published_topics() -> None:
    assert LAYOUT_PATH.read_text() == layout_json(), "run ./run python tools/write_foxglove_layout.py"
    named = layout_topics(json.loads(LAYOUT_PATH.read_text()))
    assert named == {*FIXED, topics.camera_topic("top")} - {topics.COMMAND_SENT}


@pytest.mark.sim
def test_demo_serves_the_simulated_aloha_with_paths_answers_and_recovery(tmp_path: Path, capsys) -> None:
    """``failforward demo --foxglove``: the hold policy stalls, the oracle flags it, recovery acts; a viewer
    connected to the printed port sees the tool paths, the annotated frame, the symbols and recovery events."""
    from failforward.cli.main import main

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    seen: dict[str, FoxgloveClient] = {}

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "client" not in seen:
            try:
                seen["client"] = FoxgloveClient(f"ws://127.0.0.1:{port}")
            except OSError:
                time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    sets = ["policy.kind=hold", "loop.max_steps=300", "supervisor.schedule.every_chunks=2"]
    sets += ["robot.image_height=96", "robot.image_width=128"]
    args = ["demo", "--preset", "sim_transfer_cube", "--episodes", "1", "--output", str(tmp_path)]
    code = main([*args, "--foxglove-port", str(port), *[f"--set={s}" for s in sets]])
    watcher.join(timeout=5)
    client = seen["client"]
    client.close()
    out = capsys.readouterr().out
    assert code == 0 and f"ws://127.0.0.1:{port}" in out and str(LAYOUT_PATH) in out

    paths = [r.message for r in client.get(CHUNK_PREVIEW) if r.message.entities]
    assert paths, client.topics()
    ids = sorted(e.id for e in paths[-1].entities)
    assert ids == ["tool_path/left", "tool_path/right"] and all(e.frame_id == "world" for e in paths[-1].entities)
    assert len(paths[-1].entities[0].lines[0].points) == 50  # one tool position per chunk row
    assert client.get(SYMBOLS) and any(s.message["symbols"] for s in client.get(SYMBOLS))
    assert client.get(ANNOTATED) and _jpeg(client.get(ANNOTATED)[0]).shape == (96, 128, 3)
    kinds = [r.message["kind"] for r in client.get(topics.RECOVERY_EVENT)]
    assert "diagnosed" in kinds, kinds
    assert client.get(topics.camera_topic("top")) and client.get(topics.JOINT_STATES)
    assert client.get(EPISODE)[-1].message["event"] == "end"
