"""RecoveryController driving the real simulated ALOHA through the safety layer (the proposed loop glue)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from rec_helpers import HEIGHT, WIDTH, cube_pixel, drive, report_of

from failforward.config import BrokerConfig, SimOracleConfig
from failforward.config.recovery import RecoveryConfig
from failforward.control.broker import ChunkBroker
from failforward.control.intent import action_for
from failforward.policy.base import PolicyBackend
from failforward.policy.hold import HoldPolicy
from failforward.recovery import RecoveryController, RecoveryState
from failforward.recovery.modes.base import ModeResources, make_mode
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.commands import parse_commands
from failforward.supervisor.diagnosis import Diagnosis
from failforward.symbols.types import Crosshair, Lock, Rewind
from failforward.types import ActionChunk, EpisodeInfo, JointCommand, Observation, TickRecord

SUCCESS = Diagnosis(question="visual_correction_cot", success=True)


def diagnosis(text: str, symbols: tuple = (), failure_type: str = "gripper 6d-pose") -> Diagnosis:
    return Diagnosis(
        question="visual_correction_cot",
        success=False,
        failure_type=failure_type,
        command_text=text,
        commands=parse_commands(text),
        symbols=symbols,
        symbol_frame=0,
    )


class RecordingPolicy(PolicyBackend):
    """Holds the measured pose; remembers every observation and prompt it was asked with."""

    def __init__(self) -> None:
        self.calls: list[tuple[Observation, str]] = []

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        self.calls.append((obs, prompt))
        return ActionChunk(np.tile(obs.joint_positions, (5, 1)))


def start(controller: RecoveryController, driver) -> None:
    controller.on_episode_start(EpisodeInfo(0, 0, "transfer_cube", "", "sim_aloha", driver.features))


@pytest.mark.parametrize("driver", [("top", "left_wrist", "right_wrist")], indirect=True, ids=["three-cameras"])
def test_vsf_gives_the_policy_the_masked_view_and_the_correction_prompt_until_success(
    driver, safety, sim_controller
) -> None:
    controller = sim_controller(RecoveryConfig(mode="vsf"))
    start(controller, driver)
    policy, broker = RecordingPolicy(), ChunkBroker(BrokerConfig(execute_steps=5))
    text = "Move the right gripper to the left slightly."
    fix = diagnosis(text, (Crosshair(position=(160.0, 120.0)),))
    scripted = {2: fix, 9: SUCCESS}
    _, trace = drive(
        driver,
        controller,
        safety,
        broker,
        policy,
        12,
        lambda tick, obs: report_of(scripted[tick], obs) if tick in scripted else None,
    )
    assert trace.kinds[2:9] == ["PolicyOverride"] * 7 and trace.kinds[9] == "ResumePolicy"
    assert trace.prompts[2:9] == [text] * 7 and trace.prompts[9:] == ["task"] * 3
    corrected = [obs for obs, prompt in policy.calls if prompt == text]
    assert corrected, "the policy was not asked again when the correction started (broker not restarted)"
    view = corrected[0].images
    assert not view["left_wrist"].any() and view["right_wrist"].any()  # the idle arm's wrist is blanked
    assert not view["top"][:20].any() and view["top"][120, 160].any()  # outside the ROI is zero
    assert controller.state is RecoveryState.NOMINAL and controller.events[-1].kind == "succeeded"


def test_human_intervention_holds_the_robot_still_through_safety_until_cleared(driver, safety, sim_controller) -> None:
    controller = sim_controller(RecoveryConfig())
    start(controller, driver)
    stop = diagnosis("Hold still.", (Lock(position=(100.0, 100.0)),), "human intervention")
    scripted = {3: stop, 40: SUCCESS}
    moving = _MovingPolicy()
    _, trace = drive(
        driver,
        controller,
        safety,
        ChunkBroker(BrokerConfig(execute_steps=5)),
        moving,
        45,
        lambda tick, o: report_of(scripted[tick], o) if tick in scripted else None,
    )
    held = np.array(trace.sent[3:40])
    assert np.ptp(held, axis=0).max() == 0.0 and trace.kinds[40] == "ResumePolicy"
    assert not np.allclose(trace.sent[44], trace.sent[39])  # the policy moves again afterwards


class _MovingPolicy(PolicyBackend):
    """Sweeps the right waist slowly (so that holding is visible)."""

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        rows = np.tile(obs.joint_positions, (5, 1))
        rows[:, 7] += 0.01 * np.arange(1, 6)
        return ActionChunk(rows)


def test_rewind_returns_the_named_arm_to_its_pose_at_the_start_of_the_query_window(
    driver, safety, sim_controller
) -> None:
    controller = sim_controller(RecoveryConfig())
    start(controller, driver)
    broker = ChunkBroker(BrokerConfig(execute_steps=5))
    _, trace = drive(driver, controller, safety, broker, _MovingPolicy(), 40, lambda tick, o: None)
    window_start = controller.history._samples[10][0]  # [s] the supervisor's first frame
    before = np.array(trace.sent[10])
    wrong = diagnosis("Move the right gripper upward significantly.", (Rewind(position=(50.0, 50.0)),), "task planning")
    _, trace = drive(
        driver,
        controller,
        safety,
        broker,
        HoldPolicy(),
        120,
        lambda tick, o: report_of(wrong, o, (window_start, o.timestamp)) if tick == 0 else None,
    )
    assert [e.kind for e in controller.events[-2:]] == ["planned", "completed"]
    assert controller.events[-2].target is RecoveryState.REWIND
    done = trace.kinds.index("ResumePolicy")
    np.testing.assert_allclose(trace.sent[done - 1][7:14], before[7:14], atol=1e-9)


def test_a_pmc_diagnosis_without_depth_is_refused_and_nothing_moves(driver, safety) -> None:
    from failforward.kinematics.aloha_ik import AlohaIK

    config = RecoveryConfig()
    resources = ModeResources(driver.features, 0.02, AlohaIK(driver.task.xml_path))
    controller = RecoveryController(config, {"pmc": make_mode("pmc", config, resources)})  # no camera, no depth
    start(controller, driver)
    fix = diagnosis("Open the right gripper.", (Crosshair(position=cube_pixel(driver, HEIGHT, WIDTH)),))
    _, trace = drive(
        driver,
        controller,
        safety,
        ChunkBroker(BrokerConfig()),
        HoldPolicy(),
        5,
        lambda tick, o: report_of(fix, o) if tick == 0 else None,
    )
    assert trace.kinds == [None] * 5 and controller.state is RecoveryState.NOMINAL
    assert controller.events[-1].kind == "refused" and "depth" in controller.events[-1].reason


def test_the_oracle_regrasp_after_a_drop_is_followed_by_pmc_and_the_cube_is_held_again(
    driver, safety, sim_controller
) -> None:
    """Oracle text → parser → PMC: the cube is knocked out of the right gripper onto the table; PMC regrasps it."""
    from failforward.policy.expert.expert import ScriptedExpert
    from failforward.supervisor.oracle.facts import read_facts

    expert = ScriptedExpert(driver.task, driver.privileged_state, horizon=25)
    obs = driver.get_observation()
    while driver.privileged_state().stage < 2:  # the expert picks the cube up
        for row in expert.infer(obs).actions[:25]:
            driver.send_action(JointCommand(obs.timestamp, row))
            obs = driver.get_observation()
    release = obs.joint_positions.copy()
    release[13] = 1.0
    for _ in range(30):  # disturbance: the right gripper opens, the cube falls
        driver.send_action(JointCommand(obs.timestamp, release))
        obs = driver.get_observation()
    qpos = driver.scene.data.qpos.copy()
    qpos[16:23] = [0.12, 0.45, 0.02, 1.0, 0.0, 0.0, 0.0]  # ... and lands away from the gripper
    driver.scene.set_qpos(qpos)
    obs = driver.get_observation()
    oracle = make_backend(
        SimOracleConfig(task="transfer_cube"), state_source=driver.privileged_state, progress_source=lambda: 2
    )
    frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    answer = oracle.diagnose([frame], driver.task_prompt, context=oracle.capture_context())
    assert isinstance(answer, Diagnosis) and answer.failure_type == "gripper state"
    assert {s.kind for s in answer.symbols} >= {"gripper_state", "crosshair"}
    safety.reset(obs.joint_positions)
    controller = sim_controller(RecoveryConfig())
    start(controller, driver)
    drive(
        driver,
        controller,
        safety,
        ChunkBroker(BrokerConfig()),
        HoldPolicy(),
        450,
        lambda tick, o: report_of(answer, o) if tick == 0 else None,
    )
    kinds = [(e.kind, e.reason.split(" (")[0]) for e in controller.events[2:]]
    assert kinds == [
        ("planned", "clear the view"),
        ("replanned", "open → pregrasp → grasp → close"),
        ("completed", f"{kinds[-1][1]}"),
    ]  # the lifted arm hid the cube: look again, then grasp
    facts = read_facts(oracle._scene, driver.privileged_state(), "top", HEIGHT, WIDTH)
    assert facts.arm_touches("right", ("red_box",)) and facts.opening["right"] < 0.9


def test_a_human_intervention_hold_is_cleared_by_the_real_scheduler_asking_again(
    driver, safety, sim_controller
) -> None:
    """Scheduler (scripted answers, parsed like a VLM's) + controller: the hold reports chunks, so the
    supervisor keeps being asked while the robot holds, and its success answer ends the hold."""
    import time

    from failforward.config import ScheduleConfig, ScriptedBackendConfig
    from failforward.supervisor.answer_writer import AnswerContent, write_answer
    from failforward.supervisor.commands import HoldStill
    from failforward.supervisor.scheduler import SupervisorScheduler

    intervention = write_answer(
        AnswerContent(False, "human intervention", (HoldStill(),), (Lock(position=(100.0, 100.0)),)),
        width=WIDTH,
        height=HEIGHT,
    )
    cleared = write_answer(AnswerContent(True), width=WIDTH, height=HEIGHT)
    backend = make_backend(ScriptedBackendConfig(answers=(intervention, intervention, cleared)))
    supervisor = SupervisorScheduler(backend, ScheduleConfig(every_chunks=2, max_age_s=100.0))
    controller = sim_controller(RecoveryConfig(hold_chunk_ticks=5))
    info = EpisodeInfo(0, 0, "transfer_cube", "", "sim_aloha", driver.features)
    supervisor.on_episode_start(info)
    controller.on_episode_start(info)
    broker, policy = ChunkBroker(BrokerConfig(execute_steps=5)), _MovingPolicy()
    observation, report, kinds = driver.get_observation(), None, []
    try:
        for tick in range(60):
            observation = replace(observation, images={"top": np.zeros((HEIGHT, WIDTH, 3), np.uint8)})
            override = controller.step(observation, report)
            kinds.append(None if override is None else type(override).__name__)
            action, chunk = action_for(
                override, broker, lambda o, p, _prefix: policy.infer(o, prompt=p), observation, "task"
            )
            sent = driver.send_action(JointCommand(observation.timestamp, safety.clamp(action).command))
            record = TickRecord(tick, observation, action, sent, chunk, {})
            supervisor.on_tick(record)
            controller.on_tick(record)
            deadline = time.monotonic() + 5.0
            while supervisor.busy and time.monotonic() < deadline:
                time.sleep(0.001)
            report = supervisor.poll()
            observation = driver.get_observation()
    finally:
        supervisor.close()
    events = [e.kind for e in controller.events]
    assert events[:4] == ["reset", "diagnosed", "planned", "cleared"]  # answers cycle: it holds again later
    held_from, cleared_at = kinds.index("JointOverride"), kinds.index("ResumePolicy")
    assert set(kinds[held_from:cleared_at]) == {"JointOverride"} and cleared_at - held_from > 15


def test_vsf_view_passes_ticks_without_the_head_frame_through() -> None:
    """A state-only policy with the head camera sampled for the supervisor: ticks without it are unchanged."""
    from failforward.recovery.modes.vsf import _vsf_view

    blind = Observation(0.0, np.zeros(14), np.zeros(14), object_state=np.array([0.1, 0.5, 0.02, 1, 0, 0, 0.0]))
    kwargs = {"symbols": (Crosshair(position=(10.0, 10.0)),), "active_arms": {"right"}, "head_camera": "top"}
    assert _vsf_view(blind, **kwargs) is blind
    seen = replace(blind, images={"top": np.full((60, 80, 3), 200, np.uint8)})
    assert not _vsf_view(seen, **kwargs).images["top"][59, 79].any()  # outside the symbol's ROI: masked


def test_vsf_plans_on_a_tick_without_the_head_frame_from_the_last_one_seen(driver, sim_controller) -> None:
    """The supervisor samples the head camera at 1 fps; its answer may land on a tick without a frame."""
    controller = sim_controller(RecoveryConfig(mode="vsf"))
    start(controller, driver)
    obs = driver.get_observation()
    fix = diagnosis("Move the right gripper to the left slightly.", (Crosshair(position=(160.0, 120.0)),))
    assert controller.step(obs, report_of(fix, obs)) is None
    assert "none seen this episode" in controller.events[-1].reason
    framed = replace(obs, images={"top": np.zeros((HEIGHT, WIDTH, 3), np.uint8)})
    controller.step(framed)
    override = controller.step(obs, report_of(fix, obs))
    assert type(override).__name__ == "PolicyOverride" and override.prompt == fix.command_text
