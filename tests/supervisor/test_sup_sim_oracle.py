"""The privileged sim oracle: projection, robot axes, rules, and the full text → parser → symbols chain."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from failforward.config import SimOracleConfig
from failforward.sim.aloha_scene import AlohaScene
from failforward.sim.tasks import get_task
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.backends.sim_oracle import OracleSnapshot, SimOracleBackend
from failforward.supervisor.commands import Grasp, Move
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.errors import BackendUnavailableError
from failforward.supervisor.oracle.facts import read_facts
from failforward.symbols.render import render_symbols
from failforward.symbols.types import Crosshair, GripperState, StraightArrow

H, W = 120, 160
HOLD = None


@pytest.fixture(scope="module")
def scene() -> AlohaScene:
    sim = AlohaScene(get_task("transfer_cube"))
    yield sim
    sim.close()


@pytest.fixture
def start(scene: AlohaScene):
    scene.reset(seed=3)
    return scene.state()


def _oracle(scene: AlohaScene) -> SimOracleBackend:
    backend = make_backend(SimOracleConfig(task="transfer_cube", stall_s=4.0), state_source=scene.state)
    assert isinstance(backend, SimOracleBackend)
    return backend


def _frames(n: int = 5) -> list[np.ndarray]:
    return [np.zeros((H, W, 3), np.uint8)] * n


def test_projection_lands_on_the_rendered_cube(scene, start) -> None:
    facts = read_facts(AlohaScene(get_task("transfer_cube")), start, "top", H, W)
    image = scene.render("top", H, W)
    u, v = facts.camera.project(facts.objects["box"])[0]
    r, g, b = image[int(v), int(u)].astype(int)
    assert r > 150 and g < 100 and b < 100, "the cube's centre must project onto red cube pixels"


def test_robot_axes_follow_the_head_camera_convention(scene, start) -> None:
    facts = read_facts(AlohaScene(get_task("transfer_cube")), start, "top", H, W)
    forward, left, up = facts.camera.robot_axes()
    p = facts.objects["box"]
    u0, v0 = facts.camera.project(p)[0]
    uf, vf = facts.camera.project(p + 0.05 * forward)[0]
    ul, vl = facts.camera.project(p + 0.05 * left)[0]
    assert vf < v0 - 3 and abs(uf - u0) < 1  # forward = towards the top of the image
    assert ul < u0 - 3 and abs(vl - v0) < 1  # left = image left
    assert np.allclose(up, [0, 0, 1]) and np.allclose(np.cross(forward, left), up)  # right-handed


def test_no_failure_without_history_and_success_at_stage_4(scene, start) -> None:
    oracle = _oracle(scene)
    first = oracle.diagnose(_frames(), "task", context=start)
    assert isinstance(first, Diagnosis) and first.success and first.commands == ()
    oracle.reset()
    done = oracle.diagnose(_frames(), "task", context=replace(start, stage=4, success=True))
    assert isinstance(done, Diagnosis) and done.success


def test_stalled_right_arm_is_told_to_move_towards_the_cube(scene, start) -> None:
    oracle = _oracle(scene)
    oracle.diagnose(_frames(), "task", context=start)
    later = replace(start, time=start.time + 5.0)
    result = oracle.diagnose(_frames(), "task", context=later)
    assert isinstance(result, Diagnosis) and not result.success
    assert result.failure_type == "gripper 6d-pose" and result.commands
    facts = oracle.facts(later, H, W)
    displacement = facts.objects["box"] - facts.grippers["right"]
    axes = facts.camera.robot_axes()
    for move in result.commands:
        assert isinstance(move, Move) and move.gripper == "right"
        assert (axes.T @ move.unit_vector) @ displacement > 0.01, move  # each move goes towards the cube
    (arrow,) = result.symbols
    assert isinstance(arrow, StraightArrow) and result.symbol_frame == 4
    gripper_px = facts.camera.project(facts.grippers["right"])[0]
    assert np.hypot(*(np.array(arrow.start) - gripper_px)) < 1.0  # 0–1000 round trip, under a pixel at 160 px
    assert arrow.colors == tuple({"x": "red", "y": "green", "z": "blue"}[m.axis] for m in result.commands)
    assert "Draw Straight Arrow" in oracle.last_answer


def test_missed_grasp_means_open_and_move_onto_the_cube(scene, start) -> None:
    qpos = start.qpos.copy()
    facts = read_facts(AlohaScene(get_task("transfer_cube")), start, "top", H, W)
    qpos[16:19] = facts.grippers["right"] + np.array([0.0, 0.0, -0.04])  # cube just under the closed fingertips
    scene.set_qpos(qpos)
    state = scene.state()
    assert not any("red_box" in pair and "finger" in "".join(pair) for pair in state.contacts)
    result = _oracle(scene).diagnose(_frames(), "task", context=state)
    assert isinstance(result, Diagnosis) and result.failure_type == "gripper 6d-pose"
    assert result.commands[0] == Grasp(gripper="right", state="open")
    assert [m.direction for m in result.commands[1:]] == ["downward"]
    assert isinstance(result.symbols[0], GripperState) and result.symbols[0].state == "ON"
    assert isinstance(result.symbols[-1], Crosshair)


def test_left_gripper_on_the_peg_is_task_planning() -> None:
    sim = AlohaScene(get_task("insertion"))
    try:
        sim.reset(seed=3)
        oracle = SimOracleBackend("insertion", sim.state)
        qpos = sim.state().qpos.copy()
        qpos[16:19] = oracle.facts(sim.state(), H, W).grippers["left"]  # the peg pushed into the left fingers
        sim.set_qpos(qpos)
        state = sim.state()
        result = oracle.diagnose(_frames(), "task", context=state)
    finally:
        sim.close()
    finger = "vx300s_left/10_left_gripper_finger"
    assert state.stage == 0 and any("red_peg" in pair and finger in pair for pair in state.contacts)
    assert isinstance(result, Diagnosis) and result.failure_type == "task planning"
    assert result.commands == (Move(gripper="left", direction="upward", magnitude="significantly"),)
    assert [s.kind for s in result.symbols] == ["rewind", "straight_arrow"]


def test_dropped_cube_is_a_gripper_state_failure(scene, start) -> None:
    oracle = _oracle(scene)
    oracle.diagnose(_frames(), "task", context=replace(start, stage=2))
    result = oracle.diagnose(_frames(), "task", context=replace(start, stage=0, time=start.time + 1.0))
    assert isinstance(result, Diagnosis) and result.failure_type == "gripper state"
    assert result.commands[0] == Grasp(gripper="right", state="open")


def test_a_drop_between_queries_is_seen_through_the_progress_source(scene, start) -> None:
    oracle = SimOracleBackend("transfer_cube", scene.state, progress_source=lambda: 2)
    snapshot = oracle.capture_context()
    assert isinstance(snapshot, OracleSnapshot) and snapshot.max_stage == 2
    result = oracle.diagnose(_frames(), "task", context=OracleSnapshot(start, max_stage=2))
    assert isinstance(result, Diagnosis) and result.failure_type == "gripper state"
    assert result.commands[0] == Grasp(gripper="right", state="open")  # the cube is far from the open fingers


def test_time_going_backwards_starts_a_new_history(scene, start) -> None:
    oracle = _oracle(scene)
    oracle.diagnose(_frames(), "task", context=replace(start, stage=2, time=9.0))
    result = oracle.diagnose(_frames(), "task", context=replace(start, stage=0, time=0.0))
    assert isinstance(result, Diagnosis) and result.success


def test_end_to_end_symbols_render_on_the_sim_frame(scene, start) -> None:
    oracle = _oracle(scene)
    frame = scene.render("top", H, W)
    oracle.diagnose([frame], "task", context=start)
    result = oracle.diagnose([frame] * 3, "task", context=replace(start, time=start.time + 5.0))
    assert isinstance(result, Diagnosis) and result.symbols
    drawn = render_symbols(frame, result.symbols)
    assert (drawn != frame).any(axis=-1).sum() > 30


def test_oracle_needs_a_state_source_and_known_task() -> None:
    with pytest.raises(BackendUnavailableError, match="state_source"):
        make_backend(SimOracleConfig())
    with pytest.raises(BackendUnavailableError, match="correction questions"):
        make_backend(SimOracleConfig(question="visual_avoidance_cot"), state_source=lambda: None)


def test_insertion_stall_moves_the_right_gripper_towards_the_peg() -> None:
    sim = AlohaScene(get_task("insertion"))
    try:
        sim.reset(seed=0)
        state = sim.state()
        oracle = SimOracleBackend("insertion", sim.state, stall_s=2.0)
        oracle.diagnose(_frames(), "task", context=state)
        result = oracle.diagnose(_frames(), "task", context=replace(state, time=state.time + 3.0))
        facts = oracle.facts(state, H, W)
    finally:
        sim.close()
    assert isinstance(result, Diagnosis) and result.failure_type == "gripper 6d-pose"
    displacement = facts.objects["peg"] - facts.grippers["right"]
    axes = facts.camera.robot_axes()
    assert result.commands and all(
        m.gripper == "right" and (axes.T @ m.unit_vector) @ displacement > 0.01 for m in result.commands
    )
