"""Scripted demonstrator for the simulated ALOHA tasks (privileged state, mink IK, phase inference)."""

from failforward.policy.expert.expert import PLANNERS, ScriptedExpert

__all__ = ["PLANNERS", "ScriptedExpert"]
