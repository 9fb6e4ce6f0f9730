"""Errors of the System-2 planner; each message says how to fix the problem."""

from __future__ import annotations

from failforward.errors import FailforwardError


class PlannerError(FailforwardError):
    """Base class of planner errors."""


class UnknownSubgoalError(PlannerError, ValueError):
    """A plan or a model named a subgoal outside the task's vocabulary: it is refused, never executed."""


class NodeUnavailableError(PlannerError):
    """The scene graph cannot be computed (an object not found, a frame missing): the loop holds and reports it."""
