"""Failure-detector config: a cheap per-chunk score that asks the supervisor at once (``supervisor.detector``).

``None`` (the default) is the schedule alone (every ``schedule.every_chunks`` chunks). ``dual_head`` scores each new
chunk from the AFIL policy's guidance trace: with adaptive guidance ``λ_t = γ (1 − cos(v_s, v_f)) / 2`` per denoise
step, so ``λ_t / γ = (1 − cos) / 2 ∈ [0, 1]`` is how much the success and failure heads disagree. When the chunk's
statistic of it stays above ``threshold`` for ``debounce_chunks`` chunks, the supervisor is asked at once (the
schedule stays as the fallback). :func:`detector_problem` is ``RunConfig``'s check that the policy produces the
trace.

Example:
    >>> cfg = SupervisorConfig(enabled=True, detector=DualHeadDetectorConfig(threshold=0.04))
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from failforward.config.base import FrozenModel
from failforward.config.policy import AfilPolicyConfig, GuidanceMode

ScoreStatistic = Literal["mean", "max", "last"]
"""How a chunk's ``[N]`` per-step scores ``λ_t / γ`` become one number: their mean, their maximum, or the last
denoise step's (the velocity closest to the executed actions)."""


class DualHeadDetectorConfig(FrozenModel):
    """Ask the supervisor when the success and failure heads disagree (``failforward.supervisor.detector``).

    Attributes:
        kind: detector registry name.
        statistic: per-chunk statistic of ``λ_t / γ`` over the denoise steps (:data:`ScoreStatistic`).
        threshold: a chunk whose score is strictly above this counts [dimensionless, ``(1 − cos) / 2``]; calibrate it
            on undisturbed episodes (``bench/failure_detector.py calibrate``).
        debounce_chunks: this many consecutive counting chunks trip the detector (1: the first one does).
        cooldown_chunks: after a trip, this many new chunks are scored but cannot trip it again.
    """

    kind: Literal["dual_head"] = "dual_head"
    statistic: ScoreStatistic = "mean"
    threshold: float = Field(gt=0.0, lt=1.0)
    debounce_chunks: int = Field(1, ge=1, le=100)
    cooldown_chunks: int = Field(6, ge=0, le=1000)


DetectorConfig = DualHeadDetectorConfig
"""Every detector config (one kind so far; the registry dispatches on ``kind``)."""


def detector_problem(detector: DetectorConfig | None, policy: object) -> str | None:
    """Why ``detector`` cannot watch ``policy`` (a policy config), or ``None`` when it can.

    The dual-head score needs the λ_t trace of adaptive guidance with γ > 0: an unguided (``none``) or static policy
    has no disagreement in it, a policy without a failure head none at all, and a remote policy's guidance is set on
    its server, where this config cannot check it.
    """
    if detector is None:
        return None
    fix = "or set supervisor.detector=null (the schedule alone)"
    if not isinstance(policy, AfilPolicyConfig):
        kind = getattr(policy, "kind", type(policy).__name__)
        return (
            f"supervisor.detector.kind={detector.kind!r} reads the AFIL policy's guidance trace λ_t, but policy.kind "
            f"is {kind!r} (no dual head in this process): use policy.kind='afil' with adaptive guidance, {fix}"
        )
    guidance = policy.sampler.guidance
    if guidance.mode is not GuidanceMode.ADAPTIVE or guidance.gamma <= 0.0:
        return (
            f"supervisor.detector.kind={detector.kind!r} needs adaptive guidance (λ_t = γ (1 − cos) / 2 carries the "
            f"heads' disagreement), but policy.sampler.guidance is mode={guidance.mode.value!r}, "
            f"gamma={guidance.gamma}: set policy.sampler.guidance.mode='adaptive' with gamma > 0, {fix}"
        )
    return None


def detector_gamma(policy: object) -> float:
    """γ of ``policy``'s adaptive guidance (what ``λ_t`` is divided by); 1.0 for a policy config without one."""
    return policy.sampler.guidance.gamma if isinstance(policy, AfilPolicyConfig) else 1.0
