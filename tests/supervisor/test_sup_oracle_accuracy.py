"""Oracle accuracy against the simulator's ground truth on injected failures (slow: ``pytest -m slow``).

Episodes of ``transfer_cube`` are driven by the scripted expert; a failure is injected by corrupting the
policy's commands, so the ground truth is known:

- ``nominal``: no corruption → every query must say no failure, the last one success.
- ``drop``: once the cube is lifted, the right gripper is forced open and the arms freeze → 'gripper state',
  for the right gripper: close it if the cube fell between its fingers, else open it and move back to the cube.
- ``stall``: the arms freeze while approaching the cube (tick 30) → 'gripper 6d-pose', moves towards it.

The oracle is queried as in deployment: every 6 chunks of 25 ticks (3 s).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from failforward.config import SimAlohaConfig
from failforward.policy.expert.expert import ScriptedExpert
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.supervisor.backends.sim_oracle import SimOracleBackend
from failforward.supervisor.commands import Grasp, Move
from failforward.supervisor.diagnosis import Diagnosis
from failforward.types import JointCommand

log = logging.getLogger(__name__)
SEEDS = range(6)
CHUNK, QUERY_EVERY, TICKS = 25, 150, 600
FRAMES = [np.zeros((48, 64, 3), np.uint8)] * 5


def _run(driver: SimAlohaDriver, seed: int, scenario: str) -> tuple[list[Diagnosis], SimOracleBackend]:
    expert = ScriptedExpert(driver.task, driver.privileged_state, horizon=CHUNK)
    oracle = SimOracleBackend(
        "transfer_cube", driver.privileged_state, progress_source=lambda: driver.episode_outcome().stage
    )
    obs = driver.reset(seed)
    frozen: np.ndarray | None = None
    results = []
    for step in range(TICKS):
        if step % CHUNK == 0:
            chunk = expert.infer(obs)
        action = chunk.actions[step % CHUNK].copy() if frozen is None else frozen
        stage = driver.privileged_state().stage
        if frozen is None and ((scenario == "stall" and step == 30) or (scenario == "drop" and stage == 2)):
            frozen = obs.joint_positions.copy()
            if scenario == "drop":
                frozen[13] = 1.0  # right gripper wide open: the cube falls
            action = frozen
        obs_time = obs.timestamp
        driver.send_action(JointCommand(obs_time, action))
        obs = driver.get_observation()
        if (step + 1) % QUERY_EVERY == 0:
            result = oracle.diagnose(FRAMES, driver.task_prompt, context=oracle.capture_context())
            assert isinstance(result, Diagnosis)
            results.append(result)
    return results, oracle


def _towards(oracle: SimOracleBackend, state, diagnosis: Diagnosis, target: str) -> bool:
    facts = oracle.facts(state, 48, 64)
    axes = facts.camera.robot_axes()
    arm = "right"
    displacement = facts.objects[target] - facts.grippers[arm]
    moves = [c for c in diagnosis.commands if isinstance(c, Move)]
    return bool(moves) and all(c.gripper == arm and (axes.T @ c.unit_vector) @ displacement > 0 for c in moves)


@pytest.mark.slow
def test_oracle_accuracy_on_injected_failures() -> None:
    scores = {"nominal": [], "drop": [], "stall": []}
    false_alarms = queries = 0
    with SimAlohaDriver(SimAlohaConfig(task="transfer_cube", cameras=())) as driver:
        for seed in SEEDS:
            for scenario in scores:
                results, oracle = _run(driver, seed, scenario)
                last, state = results[-1], driver.privileged_state()
                if scenario == "nominal":
                    if driver.episode_outcome().success is False:
                        continue  # the expert itself failed: no ground truth for "nominal"
                    queries += len(results)
                    false_alarms += sum(not r.success for r in results)
                    scores[scenario].append(last.success)
                elif scenario == "drop":
                    regrasp = Grasp(gripper="right", state="open") in last.commands and _towards(
                        oracle, state, last, "box"
                    )
                    close = last.commands == (Grasp(gripper="right", state="close"),)
                    scores[scenario].append(
                        not last.success and last.failure_type == "gripper state" and (regrasp or close)
                    )
                else:
                    scores[scenario].append(
                        not last.success
                        and last.failure_type == "gripper 6d-pose"
                        and _towards(oracle, state, last, "box")
                    )
    rates = {name: (sum(v) / len(v) if v else float("nan"), len(v)) for name, v in scores.items()}
    log.warning("oracle accuracy %s; false alarms %d of %d nominal queries", rates, false_alarms, queries)
    assert all(n > 0 for _, n in rates.values())
    assert rates["drop"][0] >= 0.8 and rates["stall"][0] >= 0.8 and rates["nominal"][0] >= 0.8
    assert false_alarms <= 0.1 * queries
