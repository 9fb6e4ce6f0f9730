"""Normalization statistics that travel with the weights (checkpoint and manifest).

States and actions are standardized per joint: ``z = (q − mean) / std``; the model only sees ``z``. A model with
relative action dimensions standardizes ``a − action_reference(q)`` (its stats are fitted to those differences).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from failforward.policy.afil.action_space import ALOHA_JOINTS, ActionSpace, aloha_tool_actions

STD_FLOOR = 1e-2  # [joint unit]; joints that never moved in the data are not blown up


def action_reference(
    state: np.ndarray, relative: Sequence[int], action_dim: int, space: ActionSpace = "joints"
) -> np.ndarray:
    """What a model with ``relative`` action dimensions (``AfilModelConfig.relative_actions``) predicts its actions
    against: ``[..., A]`` float64, the measured value of each relative dimension ``i`` and 0 elsewhere (absolute).
    In joint space that is ``state[..., i]``; in ``aloha_tool`` space it is column ``i`` of the tool row of the
    measured joints (forward kinematics: where the tool is now, so a relative tool position is a displacement [m]).

    Args:
        state: ``[..., S]`` raw (unnormalized) states, joints first, at each chunk's first tick.
        relative: indices into the actions (and, in joint space, the state).
        action_dim: A.
        space: the model's ``action_space``.
    """
    state = np.asarray(state, dtype=np.float64)
    reference = np.zeros((*state.shape[:-1], action_dim))
    if not relative:
        return reference
    index = list(relative)
    measured = state if space == "joints" else aloha_tool_actions(state[..., :ALOHA_JOINTS])
    reference[..., index] = measured[..., index]
    return reference


ROBUST_K = 5.0  # robust deviations (1.4826 · MAD) from the median beyond which a value stays out of the moments


def robust_moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std ``[S]`` of ``values [N, S]`` within ``ROBUST_K`` robust deviations of the median.

    A dimension that holds a sentinel part of the time (an absent object parked far away, e.g. the plug strip's
    ``PARKED`` pose) keeps the scale of its real values: with plain moments the sentinel's distance sets the std and
    the real values' centimetres shrink to hundredths of it, which a network learns to ignore. A dimension whose
    median absolute deviation is 0 keeps the values equal to its median."""
    median = np.median(values, axis=0)
    scale = 1.4826 * np.median(np.abs(values - median), axis=0)
    kept = np.where(np.abs(values - median) <= ROBUST_K * scale, values, np.nan)
    return np.nanmean(kept, axis=0), np.nanstd(kept, axis=0)


@dataclass(frozen=True)
class NormStats:
    """Per-joint mean/std of states ``[S]`` and actions ``[A]`` in the driver's joint units."""

    state_mean: np.ndarray
    state_std: np.ndarray
    action_mean: np.ndarray
    action_std: np.ndarray

    @classmethod
    def identity(cls, state_dim: int, action_dim: int) -> NormStats:
        """Mean 0, std 1: for untrained models and tests."""
        return cls(np.zeros(state_dim), np.ones(state_dim), np.zeros(action_dim), np.ones(action_dim))

    @classmethod
    def fit(cls, states: np.ndarray, actions: np.ndarray, *, robust_state: bool = False) -> NormStats:
        """Fit to ``states [N, S]`` and ``actions [N, A]``; std floored at ``STD_FLOOR``. ``robust_state``: the state
        moments of the values within ``ROBUST_K`` robust deviations of each dimension's median (see
        :func:`robust_moments`)."""
        state_mean, state_std = robust_moments(states) if robust_state else (states.mean(0), states.std(0))
        return cls(state_mean, np.maximum(state_std, STD_FLOOR), actions.mean(0), np.maximum(actions.std(0), STD_FLOOR))

    def normalize_state(self, q: np.ndarray) -> np.ndarray:
        """``q [..., S]`` → float32 standardized."""
        return ((q - self.state_mean) / self.state_std).astype(np.float32)

    def normalize_actions(self, a: np.ndarray) -> np.ndarray:
        """``a [..., A]`` → float32 standardized."""
        return ((a - self.action_mean) / self.action_std).astype(np.float32)

    def unnormalize_actions(self, z: np.ndarray) -> np.ndarray:
        """Standardized ``z [..., A]`` → float64 joint targets."""
        return np.asarray(z, dtype=np.float64) * self.action_std + self.action_mean

    def to_dict(self) -> dict[str, list[float]]:
        return {k: np.asarray(getattr(self, k), dtype=np.float64).tolist() for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NormStats:
        return cls(**{k: np.asarray(data[k], dtype=np.float64) for k in cls.__dataclass_fields__})
