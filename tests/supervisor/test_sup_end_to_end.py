"""Whole chain in simulation: driver ticks → scheduler → sim oracle (text) → parser → symbols → VSF."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from failforward.config import ScheduleConfig, SimAlohaConfig, SimOracleConfig
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.scheduler import SupervisorScheduler
from failforward.symbols.types import StraightArrow
from failforward.symbols.vsf import vsf_observation
from failforward.types import ActionChunk, EpisodeInfo, JointCommand, TickRecord


def test_a_stalled_arm_is_diagnosed_from_sim_frames_and_becomes_a_vsf_observation() -> None:
    config = SimAlohaConfig(task="transfer_cube", cameras=(), image_height=60, image_width=80)
    with SimAlohaDriver(config) as driver:
        obs = driver.reset(seed=1)
        obs = replace(obs, images={"top": driver.render("top")})
        oracle = make_backend(SimOracleConfig(task="transfer_cube", stall_s=2.5), state_source=driver.privileged_state)
        supervisor = SupervisorScheduler(oracle, ScheduleConfig(every_chunks=6, window_s=5.0, fps=1.0))
        supervisor.on_episode_start(
            EpisodeInfo(0, 1, "transfer_cube", driver.task_prompt, "sim_aloha", driver.features)
        )
        hold = obs.joint_positions.copy()  # a "policy" that never moves: the task stalls at stage 0
        reports = []
        try:
            for step in range(280):
                chunk = ActionChunk(np.tile(hold, (25, 1))) if step % 25 == 0 else None
                sent = driver.send_action(JointCommand(obs.timestamp, hold))
                supervisor.on_tick(TickRecord(step, obs, hold, sent, chunk, {}))
                if step in (125, 275):  # the two query ticks (6th and 12th chunk): let the worker answer
                    deadline = time.monotonic() + 10.0
                    while supervisor.busy and time.monotonic() < deadline:
                        time.sleep(0.01)
                    reports.append(supervisor.poll())
                obs = driver.get_observation()
                if (step + 1) % 25 == 0:  # render the head camera only where a sample or query needs it
                    obs = replace(obs, images={"top": driver.render("top")})
            final = {cam: driver.render(cam) for cam in ("top", "left_wrist", "right_wrist")}
        finally:
            supervisor.close()
    first, second = reports
    assert isinstance(first.result, Diagnosis) and first.result.success  # 2.5 s in: no stall yet
    diagnosis = second.result
    assert isinstance(diagnosis, Diagnosis) and not diagnosis.success
    assert diagnosis.failure_type == "gripper 6d-pose" and diagnosis.active_grippers == {"right"}
    assert len(second.frame_times) == 5 and diagnosis.symbol_frame == 4
    assert any(isinstance(s, StraightArrow) for s in diagnosis.symbols)
    assert all(s.inside(80, 60) for s in diagnosis.symbols)
    obs = replace(obs, images=final)
    vsf = vsf_observation(obs, diagnosis.symbols, diagnosis.active_grippers)
    assert not vsf.images["left_wrist"].any() and vsf.images["right_wrist"].any()
    assert (vsf.images["top"] == 0).all(axis=-1).mean() > 0.05  # part of the head view is masked
    assert supervisor.health().errors == 0 and supervisor.health().diagnoses == 2


def test_scheduler_runs_inside_the_real_control_loop() -> None:
    """The scheduler as a subscriber of failforward.control.ControlLoop with the scripted expert."""
    from failforward.config import BrokerConfig, LoopConfig, SafetyConfig
    from failforward.control.assembly import assemble_loop
    from failforward.policy.expert.expert import ScriptedExpert

    config = SimAlohaConfig(task="transfer_cube", cameras=("top",), image_height=48, image_width=64)
    with SimAlohaDriver(config) as driver:
        oracle = make_backend(
            SimOracleConfig(task="transfer_cube"),
            state_source=driver.privileged_state,
            progress_source=lambda: driver.episode_outcome().stage,
        )
        supervisor = SupervisorScheduler(oracle, ScheduleConfig(every_chunks=2))
        loop = assemble_loop(
            driver,
            ScriptedExpert(driver.task, driver.privileged_state, horizon=25),
            loop=LoopConfig(max_steps=60),
            safety=SafetyConfig(),
            broker=BrokerConfig(execute_steps=25),
            prompt=driver.task_prompt,
            subscribers=[supervisor],
        )
        try:
            result = loop.run_episode(0, seed=0)
            deadline = time.monotonic() + 10.0
            while supervisor.busy and time.monotonic() < deadline:
                time.sleep(0.01)
            report = supervisor.poll()
        finally:
            supervisor.close()
    assert result.error is None and result.steps == 60
    assert supervisor.health().queries == 1 and report is not None and report.step == 25  # chunks at 0, 25, 50
    assert isinstance(report.result, Diagnosis) and report.result.success  # the expert is on track
    assert report.frame_times == pytest.approx((0.0, 0.5)) and report.result.raw.startswith("<Think>")
