"""The ViFailback failure supervisor: prompts, answer parser, backends and the scheduler.

Light to import: backends that need MuJoCo or transformers are imported by the registry on first use.
"""

from failforward.supervisor.commands import Grasp, HoldStill, LowLevelCommand, Move, Rotate, parse_commands
from failforward.supervisor.diagnosis import Diagnosis, NoDiagnosis, SupervisorResult, Unreadable
from failforward.supervisor.parser import parse_answer, parse_answer_for
from failforward.supervisor.prompts import Prompt
from failforward.supervisor.questions import FAILURE_TYPES, FailureType, QuestionType

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
    "SupervisorResult",
    "Unreadable",
    "parse_answer",
    "parse_answer_for",
    "parse_commands",
]
