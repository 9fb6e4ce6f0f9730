from __future__ import annotations

import numpy as np

from failforward.config import BrokerConfig
from failforward.control.broker import ChunkBroker
from failforward.types import ActionChunk


class CountingSource:
    """Chunk ``i`` holds the value ``i`` at every step, so outputs reveal which chunk they came from."""

    def __init__(self, horizon: int = 10) -> None:
        self.calls, self.horizon = 0, horizon

    def __call__(self, prefix: object = None) -> ActionChunk:
        chunk = ActionChunk(np.full((self.horizon, 2), float(self.calls)) + np.arange(self.horizon)[:, None] * 0.001)
        self.calls += 1
        return chunk


def test_chunk_mode_executes_k_actions_per_chunk() -> None:
    broker, source = ChunkBroker(BrokerConfig(mode="chunk", execute_steps=4)), CountingSource()
    actions = [broker.next_action(source) for _ in range(10)]
    assert source.calls == 3
    assert [a[1] is not None for a in actions] == [True, False, False, False] * 2 + [True, False]
    np.testing.assert_allclose(actions[5][0], [1.001, 1.001])


def test_ensemble_mode_averages_overlapping_chunks_oldest_first() -> None:
    broker, source = ChunkBroker(BrokerConfig(mode="ensemble", ensemble_decay=0.0)), CountingSource()
    first, _ = broker.next_action(source)
    second, _ = broker.next_action(source)
    np.testing.assert_allclose(first, [0.0, 0.0])
    # tick 1: chunk 0 step 1 (0.001) and chunk 1 step 0 (1.0), equal weights
    np.testing.assert_allclose(second, [(0.001 + 1.0) / 2] * 2)


def test_reset_drops_the_queue() -> None:
    broker, source = ChunkBroker(BrokerConfig(mode="chunk", execute_steps=5)), CountingSource()
    broker.next_action(source)
    broker.reset()
    _, chunk = broker.next_action(source)
    assert chunk is not None and source.calls == 2
