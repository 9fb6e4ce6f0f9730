"""The ViFailback failure supervisor: prompts, answer parser, backends and the scheduler.

Example:
    >>> from failforward.supervisor import SupervisorConfig, SupervisorScheduler, make_backend
    >>> cfg = SupervisorConfig()                                    # sim oracle, every 6 chunks, 5 s at 1 fps
    >>> backend = make_backend(cfg.backend, state_source=driver.privileged_state,
    ...                        progress_source=lambda: driver.episode_outcome().stage)
    >>> supervisor = SupervisorScheduler(backend, cfg.schedule)    # a TickSubscriber of the control loop
    >>> report = supervisor.poll()                                  # None, or a SupervisorReport (Diagnosis…)

Light to import: backends that need MuJoCo or transformers are imported by the registry on first use.
"""

from failforward.config import ScheduleConfig, SupervisorConfig
from failforward.supervisor.backends import SupervisorBackend, make_backend, register_backend
from failforward.supervisor.commands import Grasp, HoldStill, LowLevelCommand, Move, Rotate, parse_commands
from failforward.supervisor.diagnosis import Diagnosis, NoDiagnosis, SupervisorResult, Unreadable
from failforward.supervisor.parser import parse_answer, parse_answer_for
from failforward.supervisor.prompts import Prompt
from failforward.supervisor.questions import FAILURE_TYPES, FailureType, QuestionType
from failforward.supervisor.scheduler import SupervisorHealth, SupervisorReport, SupervisorScheduler

__all__ = [
    "FAILURE_TYPES",
    "Diagnosis",
    "FailureType",
    "Grasp",
    "HoldStill",
    "LowLevelCommand",
    "Move",
    "NoDiagnosis",
    "Prompt",
    "QuestionType",
    "Rotate",
    "ScheduleConfig",
    "SupervisorBackend",
    "SupervisorConfig",
    "SupervisorHealth",
    "SupervisorReport",
    "SupervisorResult",
    "SupervisorScheduler",
    "Unreadable",
    "make_backend",
    "parse_answer",
    "parse_answer_for",
    "parse_commands",
    "register_backend",
]
