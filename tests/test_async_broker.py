"""The asynchronous broker: chunks spliced at the actions consumed, holds, aborts, refusals, RTC prefixes."""

from __future__ import annotations

import time

import numpy as np
import pytest

from failforward.config import BrokerConfig
from failforward.control.async_broker import AsyncChunkBroker
from failforward.errors import PolicyStarvedError
from failforward.policy.base import RtcSupport
from failforward.types import ActionChunk, ChunkPrefix

PERIOD = 0.02
HORIZON = 20


class PlanFromTick:
    """A policy whose plan for the observation of tick ``t₀`` commands ``t₀ + i`` at row ``i``: a consistent plan,
    so every action handed out must equal its own tick whatever the delay, if chunks are spliced at row ``d``."""

    def __init__(self, latency_s: float = 0.0, fail_after: int | None = None) -> None:
        self.latency_s, self.fail_after = latency_s, fail_after
        self.calls: list[tuple[int, ChunkPrefix | None]] = []

    def at(self, tick: int):
        def infer(prefix: ChunkPrefix | None) -> ActionChunk:
            self.calls.append((tick, prefix))
            time.sleep(self.latency_s)
            if self.fail_after is not None and len(self.calls) > self.fail_after:
                raise ConnectionError("policy server unreachable")
            return ActionChunk(np.repeat((tick + np.arange(HORIZON, dtype=float))[:, None], 2, axis=1))

        return infer


def run(broker: AsyncChunkBroker, policy, ticks: int) -> list[np.ndarray | None]:
    return [broker.next_action(policy.at(t), t)[0] for t in range(ticks)]


def make(latency_window: int = 10, realtime: bool = False, rtc: RtcSupport | None = None, **config) -> AsyncChunkBroker:
    broker_config = BrokerConfig(
        inference="asynchronous", execute_steps=10, latency_window=latency_window, rtc=rtc is not None, **config
    )
    return AsyncChunkBroker(broker_config, PERIOD, realtime=realtime, rtc=rtc or RtcSupport(), action_dim=2)


@pytest.mark.parametrize("latency_s", [0.0, 0.05, 0.13])
def test_every_action_is_the_row_of_its_own_tick_whatever_the_delay(latency_s: float) -> None:
    broker, policy = make(), PlanFromTick(latency_s)
    actions = run(broker, policy, 60)
    assert all(a is not None and a[0] == t for t, a in enumerate(actions))
    expected_delay = max(1, int(np.ceil(latency_s / PERIOD - 1e-9)))
    assert min(broker.stats.delays[1:]) >= expected_delay  # robot time: never sooner than the latency allows
    assert broker.stats.starved_ticks == 0 and broker.stats.chunks >= 5
    assert max(broker.stats.splice_jumps) == pytest.approx(1.0)  # one tick of the plan: no jump at splices


def test_a_slow_policy_starves_the_robot_which_holds_and_counts_it() -> None:
    broker, policy = make(refill_threshold=2), PlanFromTick(latency_s=0.1)  # 5 ticks late, 2 queued
    actions = run(broker, policy, 40)
    held = [t for t, a in enumerate(actions) if a is None]
    assert held and broker.stats.starved_ticks == len(held)
    assert all(a[0] == t for t, a in enumerate(actions) if a is not None)


def test_a_dead_policy_server_runs_the_queue_out_then_holds_then_aborts_with_the_reason() -> None:
    broker = make(max_starvation_s=0.2)
    policy = PlanFromTick(fail_after=1)
    actions: list[np.ndarray | None] = []
    with pytest.raises(PolicyStarvedError, match="ConnectionError: policy server unreachable"):
        for t in range(100):
            actions.append(broker.next_action(policy.at(t), t)[0])
    executed = [a for a in actions if a is not None]
    assert len(executed) == HORIZON  # the whole first chunk ran, then the robot held
    assert actions[HORIZON:] == [None] * (len(actions) - HORIZON)
    assert len(actions) - HORIZON == round(0.2 / PERIOD)
    assert broker.stats.failed_requests >= 1


@pytest.mark.parametrize(
    "bad", [np.full((HORIZON, 2), np.nan), np.zeros((HORIZON, 3)), "not a chunk"], ids=["nan", "width", "type"]
)
def test_refused_chunks_never_come_out(bad) -> None:
    broker, good = make(), PlanFromTick()
    calls = {"n": 0}

    def at(tick: int):
        def infer(prefix):
            calls["n"] += 1
            return good.at(tick)(prefix) if calls["n"] == 1 else (ActionChunk(bad) if not isinstance(bad, str) else bad)

        return infer

    actions = [broker.next_action(at(t), t)[0] for t in range(HORIZON + 3)]
    assert all(a is not None and np.all(np.isfinite(a)) and a.shape == (2,) for a in actions[:HORIZON])
    assert actions[HORIZON:] == [None] * 3
    assert broker.stats.rejected_chunks >= 1


def test_a_chunk_later_than_its_horizon_is_dropped() -> None:
    broker, policy = make(refill_threshold=HORIZON - 1), PlanFromTick()
    run(broker, policy, 2)
    policy.latency_s = (HORIZON + 2) * PERIOD
    actions = run_from(broker, policy, 2, 2 * HORIZON + 4)
    assert broker.stats.late_chunks >= 1
    assert all(a is None or a[0] == t + 2 for t, a in enumerate(actions))


def run_from(broker: AsyncChunkBroker, policy, start: int, stop: int) -> list[np.ndarray | None]:
    return [broker.next_action(policy.at(t), t)[0] for t in range(start, stop)]


def test_rtc_prefix_is_the_queue_from_the_observation_tick_with_the_estimated_delay() -> None:
    broker, policy = make(rtc=RtcSupport("training", max_delay=8)), PlanFromTick(latency_s=0.05)
    run(broker, policy, 50)
    prefixed = [(tick, prefix) for tick, prefix in policy.calls if prefix is not None]
    assert prefixed, "a policy with RTC gets prefixes"
    for tick, prefix in prefixed:
        assert prefix.actions[0, 0] == tick  # row 0 is the action for the observation's own tick
        np.testing.assert_array_equal(prefix.actions[:, 0], tick + np.arange(prefix.actions.shape[0]))
        assert prefix.delay == 3  # ⌊0.05 / 0.02⌋ + 1: covers the measured latency
    assert policy.calls[0][1] is None  # the first chunk of an episode has nothing to continue


def test_without_broker_rtc_a_policy_with_rtc_gets_no_prefix() -> None:
    broker = AsyncChunkBroker(
        BrokerConfig(inference="asynchronous", execute_steps=10),
        PERIOD,
        realtime=False,
        rtc=RtcSupport("training", max_delay=8),
        action_dim=2,
    )
    policy = PlanFromTick(latency_s=0.05)
    run(broker, policy, 30)
    assert len(policy.calls) > 1 and all(prefix is None for _, prefix in policy.calls)


def test_rtc_falls_back_to_a_plain_switch_past_the_trained_delay() -> None:
    broker, policy = make(rtc=RtcSupport("training", max_delay=2)), PlanFromTick(latency_s=0.05)
    run(broker, policy, 50)
    assert all(prefix is None for _, prefix in policy.calls)
    assert broker.stats.rtc_fallbacks >= 1


def test_a_short_prefix_is_padded_with_the_last_queued_action() -> None:
    broker, policy = make(rtc=RtcSupport("inference", max_delay=HORIZON), refill_threshold=1), PlanFromTick(0.09)
    run(broker, policy, 60)
    padded = [p for _, p in policy.calls if p is not None and p.actions.shape[0] == p.delay and p.delay > 2]
    assert padded
    for prefix in padded:
        queued = prefix.actions[:, 0]
        assert np.all(np.diff(queued) >= 0) and np.all(queued[np.argmax(queued) :] == queued.max())


def test_flush_ignores_the_request_in_flight_and_holds_until_a_new_chunk() -> None:
    broker, policy = make(refill_threshold=HORIZON - 1), PlanFromTick(latency_s=0.05)
    run(broker, policy, 3)  # a request is in flight from tick 1
    broker.flush()
    actions = run_from(broker, policy, 3, 15)
    assert actions[0] is None and broker.stats.restart_hold_ticks >= 1 and broker.stats.starved_ticks == 0
    assert all(a is None or a[0] == t + 3 for t, a in enumerate(actions))


def test_in_real_time_the_tick_never_waits_for_inference() -> None:
    broker, policy = make(realtime=True, refill_threshold=HORIZON - 1), PlanFromTick(latency_s=0.5)
    broker.next_action(policy.at(0), 0)  # the first chunk is the one wait
    durations = []
    for tick in range(1, 6):
        start = time.perf_counter()
        broker.next_action(policy.at(tick), tick)
        durations.append(time.perf_counter() - start)
    assert max(durations) < 0.25, durations  # a 0.5 s inference is in flight on every one of these ticks


def test_reset_starts_a_clean_episode_even_with_a_request_in_flight() -> None:
    broker, policy = make(refill_threshold=HORIZON - 1), PlanFromTick(latency_s=0.05)
    run(broker, policy, 3)
    broker.reset()
    actions = run(broker, policy, 5)
    assert all(a is not None and a[0] == t for t, a in enumerate(actions))
    assert broker.stats.chunks >= 1 and broker.stats.starved_ticks == 0
