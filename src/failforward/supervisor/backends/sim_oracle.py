"""Privileged simulation oracle, registered as ``sim_oracle``: diagnoses from simulator state.

It writes its diagnosis as ViFailback answer text and parses it back with the same parser a model's
answer goes through, so text → parser → symbols runs in CI without a GPU.

Example:
    >>> oracle = make_backend(SimOracleConfig(task="transfer_cube"), state_source=driver.privileged_state)
    >>> result = oracle.diagnose(frames, driver.task_prompt, context=oracle.capture_context())

Threading: ``capture_context`` (control thread) takes an :class:`OracleSnapshot` (the ``SimState`` with
copied arrays, and the highest stage reached so far); ``diagnose`` (worker thread) runs forward
kinematics on the oracle's own MuJoCo data, never the loop's.

Queries come every few seconds, so a stage reached and lost in between (a cube lifted and dropped) is
only seen through ``progress_source``: pass ``lambda: driver.episode_outcome().stage`` (the driver tracks
the highest stage at every tick).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from failforward.config import SimOracleConfig
from failforward.sim.aloha_scene import AlohaScene, SimState
from failforward.sim.tasks import get_task
from failforward.supervisor.answer_writer import AnswerContent, write_answer
from failforward.supervisor.backends.base import SupervisorBackend
from failforward.supervisor.backends.registry import register_backend
from failforward.supervisor.diagnosis import SupervisorResult
from failforward.supervisor.errors import BackendUnavailableError
from failforward.supervisor.oracle.facts import OracleFacts, read_facts
from failforward.supervisor.oracle.plug_strip_rules import diagnose_plug_strip
from failforward.supervisor.oracle.rules import TASK_ROLES, diagnose_facts
from failforward.supervisor.parser import parse_answer
from failforward.supervisor.questions import QuestionType

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OracleSnapshot:
    """What the oracle reads at query time: the simulator state and the highest stage reached so far."""

    state: SimState
    max_stage: int | None = None


_QUESTIONS = (QuestionType.VISUAL_CORRECTION_COT, QuestionType.LOW_LEVEL_CORRECTION_COT)


@register_backend("sim_oracle")
class SimOracleBackend(SupervisorBackend):
    """Rule-based diagnosis from privileged ``SimState`` snapshots (see :mod:`..oracle.rules`)."""

    def __init__(
        self,
        task: str,
        state_source: Callable[[], SimState],
        *,
        progress_source: Callable[[], int] | None = None,
        camera: str = "top",
        stall_s: float = 4.0,
        near_m: float = 0.03,
        question: QuestionType = QuestionType.VISUAL_CORRECTION_COT,
    ) -> None:
        if task not in TASK_ROLES and task != "plug_strip":
            known = sorted([*TASK_ROLES, "plug_strip"])
            raise BackendUnavailableError(f"the sim oracle has no rules for task {task!r}; known: {known}")
        if question not in _QUESTIONS:
            valid = ", ".join(q.value for q in _QUESTIONS)
            raise BackendUnavailableError(f"the sim oracle answers correction questions only ({valid}), not {question}")
        self.task, self.camera, self.question = task, camera, question
        self.stall_s, self.near_m = stall_s, near_m
        self._state_source = state_source
        self._progress_source = progress_source
        self._scene: AlohaScene | None = None
        self._history: list[OracleFacts] = []
        self._lock = threading.Lock()
        self.last_answer: str = ""

    @classmethod
    def from_config(
        cls,
        config: SimOracleConfig,
        *,
        state_source: Callable[[], SimState] | None = None,
        progress_source: Callable[[], int] | None = None,
        **_: Any,
    ) -> SimOracleBackend:
        if state_source is None:
            raise BackendUnavailableError(
                "the sim oracle needs the simulator's state: make_backend(config, state_source=driver.privileged_state)"
            )
        return cls(
            config.task,
            state_source,
            progress_source=progress_source,
            camera=config.camera,
            stall_s=config.stall_s,
            near_m=config.near_m,
            question=QuestionType(config.question),
        )

    def capture_context(self) -> OracleSnapshot:
        progress = self._progress_source() if self._progress_source is not None else None
        return OracleSnapshot(self._state_source(), progress)

    def reset(self) -> None:
        with self._lock:
            self._history.clear()

    def close(self) -> None:
        if self._scene is not None:
            self._scene.close()
            self._scene = None

    def facts(self, state: SimState, height: int, width: int, max_stage: int | None = None) -> OracleFacts:
        """Facts of ``state`` with the head camera at ``height x width`` pixels."""
        if self._scene is None:
            self._scene = AlohaScene(get_task(self.task))
        return read_facts(self._scene, state, self.camera, height, width, max_stage)

    def content(self, frames: list[np.ndarray], snapshot: OracleSnapshot | SimState) -> AnswerContent:
        """What the oracle says about ``snapshot`` (updates the episode history)."""
        if isinstance(snapshot, SimState):
            snapshot = OracleSnapshot(snapshot)
        height, width = frames[-1].shape[:2]
        now = self.facts(snapshot.state, height, width, snapshot.max_stage)
        with self._lock:
            if self._history and now.time < self._history[-1].time:
                self._history.clear()  # time went backwards: a new episode without reset()
            self._history.append(now)
            history = list(self._history)
        if self.task == "plug_strip":
            found = diagnose_plug_strip(history, near_m=self.near_m)
        else:
            found = diagnose_facts(self.task, history, stall_s=self.stall_s, near_m=self.near_m)
        return AnswerContent(
            found.success, found.failure_type, found.commands, found.symbols, correction_frame=len(frames)
        )

    def _diagnose(self, frames: list[np.ndarray], task: str, context: object | None) -> SupervisorResult:
        snapshot = context if isinstance(context, OracleSnapshot | SimState) else self.capture_context()
        height, width = frames[-1].shape[:2]
        text = write_answer(self.content(frames, snapshot), width=width, height=height, question=self.question)
        self.last_answer = text
        shapes = [tuple(f.shape[:2]) for f in frames]
        return parse_answer(text, frame_shapes=shapes, question=self.question)
