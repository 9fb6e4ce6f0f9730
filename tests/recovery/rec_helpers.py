"""A miniature control loop for recovery tests: the exact per-tick glue proposed for ``ControlLoop``.

observe → ``controller.step(obs, report)`` → (override or broker/policy) → safety → act → subscribers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from failforward.control.broker import ChunkBroker
from failforward.control.intent import action_for
from failforward.control.safety import SafetyLayer
from failforward.policy.base import PolicyBackend
from failforward.recovery import JointOverride, PolicyOverride, RecoveryController
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import JointCommand, Observation, TickRecord

HEIGHT, WIDTH = 240, 320  # [px] head image of the recovery tests


@dataclass
class Trace:
    """What happened per tick: the override kind (``None`` = policy), and the sent commands ``[T, A]``."""

    kinds: list[str | None] = field(default_factory=list)
    sent: list[np.ndarray] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)


def infer(override, broker: ChunkBroker, policy: PolicyBackend, observation: Observation, prompt: str, trace: Trace):
    """The loop's ``_infer`` with recovery (returns ``(action [A], chunk | None)``); records the prompt used."""
    if not isinstance(override, JointOverride):
        trace.prompts.append(override.prompt if isinstance(override, PolicyOverride) else prompt)
    return action_for(override, broker, lambda obs, text, prefix: policy.infer(obs, prompt=text), observation, prompt)


def drive(
    driver,
    controller: RecoveryController,
    safety: SafetyLayer,
    broker: ChunkBroker,
    policy: PolicyBackend,
    ticks: int,
    reports: Callable[[int, Observation], SupervisorReport | None],
    prompt: str = "task",
) -> tuple[Observation, Trace]:
    """Run ``ticks`` ticks from the driver's current state; ``reports(tick, obs)`` plays the supervisor."""
    trace = Trace()
    observation = driver.get_observation()
    for tick in range(ticks):
        override = controller.step(observation, reports(tick, observation))
        trace.kinds.append(None if override is None else type(override).__name__)
        action, chunk = infer(override, broker, policy, observation, prompt, trace)
        sent = driver.send_action(JointCommand(observation.timestamp, safety.clamp(action).command))
        trace.sent.append(sent.positions)
        controller.on_tick(TickRecord(tick, observation, action, sent, chunk, {}))
        observation = driver.get_observation()
    return observation, trace


def report_of(
    diagnosis: Diagnosis, observation: Observation, frame_times: tuple[float, ...] | None = None
) -> SupervisorReport:
    """A supervisor report carrying ``diagnosis`` for the current observation."""
    times = frame_times if frame_times is not None else (observation.timestamp,)
    return SupervisorReport(diagnosis, 1, 0, observation.timestamp, times, 0.0)


def cube_centre(driver) -> np.ndarray:
    """``[3]`` world position [m] of the cube's centre (privileged)."""
    return driver.privileged_state().object_poses["box"][:3].copy()


def cube_pixel(driver, height: int, width: int) -> tuple[float, float]:
    """``(u, v)`` of the cube centre in the head image (the oracle's own projection, independent of recovery)."""
    from failforward.supervisor.oracle.camera import CameraView

    scene = driver.scene
    view = CameraView.from_mujoco(
        scene.model, scene.data, "top", scene.camera_intrinsics("top", height, width), height, width
    )
    u, v = view.project(cube_centre(driver))[0]
    return float(u), float(v)
