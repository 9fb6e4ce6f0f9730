"""The sim oracle on the plug strip: a plug let go outside a socket is diagnosed, moving or untouched plugs are not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from failforward.config import SimOracleConfig
from failforward.sim.aloha_scene import AlohaScene, SimState
from failforward.sim.tasks import get_task
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.backends.sim_oracle import SimOracleBackend
from failforward.supervisor.commands import Grasp
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.questions import FailureType
from failforward.symbols.types import Crosshair, GripperState

H, W = 120, 160


@pytest.fixture(scope="module")
def start() -> SimState:
    scene = AlohaScene(get_task("plug_strip"))
    scene.reset(seed=7)
    state = scene.state()
    scene.close()
    return state


def _oracle(state: SimState) -> SimOracleBackend:
    backend = make_backend(SimOracleConfig(task="plug_strip"), state_source=lambda: state)
    assert isinstance(backend, SimOracleBackend)
    return backend


def _frames() -> list[np.ndarray]:
    return [np.zeros((H, W, 3), np.uint8)] * 5


def _moved(state: SimState, plug: str, offset: tuple[float, float, float], dt: float) -> SimState:
    poses = dict(state.object_poses)
    poses[plug] = np.concatenate([state.variant.plug_poses[plug][:3] + np.asarray(offset), poses[plug][3:]])
    return replace(state, object_poses=poses, time=state.time + dt)


def _diagnoses(states: list[SimState]) -> list[Diagnosis]:
    oracle = _oracle(states[0])
    out = []
    for state in states:
        result = oracle.diagnose(_frames(), "insert the plugs", context=state)
        assert isinstance(result, Diagnosis)
        out.append(result)
    return out


def test_a_plug_let_go_on_the_table_is_regrasped_by_the_nearer_arm(start) -> None:
    plug = start.variant.plugs[0]
    down = _moved(start, plug, (0.0, -0.08, 0.0), 3.0)
    first, second = _diagnoses([down, _moved(start, plug, (0.0, -0.08, 0.0), 6.0)])
    assert first.success  # one snapshot cannot tell a plug at rest from one in flight
    assert not second.success and second.failure_type is FailureType.GRIPPER_STATE
    position = down.object_poses[plug][:3]
    arm = "left" if position[0] < 0 else "right"  # the arms stand at x = ∓0.47 m; the nearer one takes it
    assert second.commands[0] == Grasp(gripper=arm, state="open")
    assert isinstance(second.symbols[0], GripperState) and second.symbols[0].state == "ON"
    assert any(isinstance(s, Crosshair) for s in second.symbols)


def test_a_plug_still_moving_or_never_touched_is_no_failure(start) -> None:
    plug = start.variant.plugs[0]
    falling = _diagnoses([_moved(start, plug, (0.0, -0.08, 0.05), 3.0), _moved(start, plug, (0.0, -0.08, 0.0), 3.1)])
    assert all(d.success for d in falling)
    untouched = _diagnoses([replace(start, time=3.0), replace(start, time=6.0)])
    assert all(d.success for d in untouched)


def test_every_plug_inserted_is_success(start) -> None:
    plug = start.variant.plugs[0]
    moved = [_moved(start, plug, (0.0, -0.08, 0.0), t) for t in (3.0, 6.0)]
    done = _diagnoses([moved[0], replace(moved[1], stage=4, success=True)])
    assert done[-1].success


def test_the_oracle_knows_the_plug_strip_and_no_unknown_task(start) -> None:
    assert _oracle(start).task == "plug_strip"
    with pytest.raises(Exception, match="plug_strip"):
        SimOracleBackend("stack_cups", lambda: start)
