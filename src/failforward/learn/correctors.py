"""Failure correction of the learning pipeline (AFIL §3.4): each failed rollout is replayed up to its takeover
tick, then the robot kind's privileged-state expert finishes the task; every attempt is recorded.

The takeover tick comes from :mod:`failforward.learn.correction` (the task stage after each replayed command and
the cut rule); the replay and hand-over policy is :class:`~failforward.learn.replay.ReplayThenExpert`.

Example:
    >>> corrections = correct_failures(pipe, failed_rows, k=0)   # pipe: failforward.learn.stages.Pipeline
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from failforward.control.assembly import build_loop
from failforward.errors import ConfigError
from failforward.learn.correction import stage_trace, takeover_tick
from failforward.learn.replay import ReplayThenExpert
from failforward.policy.base import PolicyBackend
from failforward.policy.expert.expert import ScriptedExpert
from failforward.policy.maniskill_expert import ManiSkillExpert
from failforward.record.reader import read_episode
from failforward.record.recorder import EpisodeRecorder
from failforward.robots.registry import make_driver
from failforward.types import JointCommand

if TYPE_CHECKING:
    from failforward.learn.stages import Pipeline
    from failforward.robots.maniskill import ManiSkillDriver

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FailureCorrector:
    """How failures are corrected on one robot kind (``CORRECTORS``).

    Attributes:
        expert: driver → the privileged-state expert that finishes the task from wherever the driver is.
        stage_trace: ``(driver, seed, commands [T, A]) -> int [T]``: the task stage after each replayed command
            from ``reset(seed)`` (the commands are absolute joint targets in driver units).
    """

    expert: Callable[[Any], PolicyBackend]
    stage_trace: Callable[[Any, int, np.ndarray], np.ndarray]


def _maniskill_stage_trace(driver: ManiSkillDriver, seed: int, commands: np.ndarray) -> np.ndarray:
    """``ManiSkillDriver.stage`` (the stage whose flag holds now) after each of ``commands [T, 8]``."""
    obs = driver.reset(seed)
    stages = np.empty(len(commands), dtype=np.int64)
    for t, row in enumerate(commands):
        driver.send_action(JointCommand(obs.timestamp, row))
        stages[t] = driver.stage
    return stages


CORRECTORS: dict[str, FailureCorrector] = {
    "sim_aloha": FailureCorrector(lambda d: ScriptedExpert(d.task, d.privileged_state), stage_trace),
    "maniskill": FailureCorrector(lambda d: ManiSkillExpert(d.privileged_state), _maniskill_stage_trace),
}
"""Robot kind → how its failures are corrected; only simulators with a privileged-state expert are here."""


def correct_failures(pipe: Pipeline, failures: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Replay each failure up to its takeover tick, let the expert finish; every attempt is recorded."""
    if not failures:
        return []
    config = pipe.run_config(policy=None, episodes=1, seed=0, max_steps=pipe.cfg.max_steps)
    if config.robot.kind not in CORRECTORS:
        raise ConfigError(
            f"failure correction needs a simulator with a scripted expert ({', '.join(CORRECTORS)}); "
            f"preset {pipe.cfg.preset!r} drives {config.robot.kind!r}."
        )
    corrector = CORRECTORS[config.robot.kind]
    run_name = pipe.layout.rel(pipe.layout.corrections(k))
    shutil.rmtree(pipe.layout.corrections(k), ignore_errors=True)
    recorder = EpisodeRecorder(config.record, run_name)
    out = []
    with make_driver(config.robot) as driver:
        expert = corrector.expert(driver)
        policy = ReplayThenExpert(expert, chunk_size=config.broker.execute_steps)
        for i, failure in enumerate(tqdm(failures, desc=f"correct round {k}", unit="episode")):
            sent = read_episode(pipe.layout.root / failure["file"], load_images=False).sent_actions
            stages = corrector.stage_trace(driver, failure["seed"], sent)
            cut = takeover_tick(stages, pipe.cfg.cut_rule, pipe.cfg.cut_fraction)
            policy.load(sent[:cut])
            loop_config = config.loop.model_copy(update={"max_steps": cut + pipe.cfg.max_steps})
            loop = build_loop(
                config.model_copy(update={"loop": loop_config}), driver, policy=policy, subscribers=[recorder]
            )
            e = loop.run_episode(i, failure["seed"], task=config.robot.task)
            out.append(
                {
                    **pipe._record(e),
                    "file": pipe.layout.rel(recorder.files[-1]),
                    "takeover": cut,
                    "failed_rollout": failure["file"],
                    "replay_max_stage": int(stages.max()),
                    "replayed_outcome_matches": int(stages.max()) == failure["stage"],
                }
            )
        _close(expert)
    recorder.close()
    return out


def _close(policy: PolicyBackend) -> None:
    """Release what an expert holds (the ManiSkill expert's planning env); teardown failures are logged."""
    try:
        policy.close()
    except Exception:
        logger.exception("Closing the correction expert failed")
