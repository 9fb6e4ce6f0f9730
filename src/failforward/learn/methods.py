"""The evaluated methods (rows of AFIL Tables 1–2) and which model and guidance each one runs.

- ``success_only``: the round-0 model (expert demos only), success head alone;
- ``success_correction``: the final model (demos + corrected failures), success head alone;
- ``dag_static_<λ>``: the final model with static guidance ``v = v_s + λ (v_s − v_f)``;
- ``dag_adaptive_<γ>``: the final model with adaptive guidance ``λ_t = γ (1 − cos(v_s, v_f)) / 2``.

With the default disjoint supervision the failure head never shapes the backbone, so the final model's
success head is exactly a "success + correction" policy; guidance is the only thing that differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from failforward.config.policy import GuidanceConfig
from failforward.learn.pipeline import PipelineConfig


@dataclass(frozen=True)
class EvalMethod:
    """One table row: ``name`` (file-safe), ``label`` (as printed), model ``round``, ``guidance``."""

    name: str
    label: str
    round: int
    guidance: GuidanceConfig

    @property
    def family(self) -> str:
        """``success_only`` | ``success_correction`` | ``dag_static`` | ``dag_adaptive``."""
        return self.name.rsplit("_", 1)[0] if self.name.startswith("dag_") else self.name


def eval_methods(config: PipelineConfig, final_round: int, has_failure_head: bool) -> list[EvalMethod]:
    """The methods in table order; guided rows only when the final model has a trained failure head."""
    none = GuidanceConfig(mode="none")
    methods = [EvalMethod("success_only", "Success only", 0, none)]
    if final_round > 0:
        methods.append(EvalMethod("success_correction", "Success + failure correction", final_round, none))
    if not has_failure_head:
        return methods
    methods += [
        EvalMethod(
            f"dag_static_{lam:g}",
            f"DAG + static guidance (λ = {lam:g})",
            final_round,
            GuidanceConfig(mode="static", static_lambda=lam),
        )
        for lam in config.static_lambdas
    ]
    methods += [
        EvalMethod(
            f"dag_adaptive_{gamma:g}",
            f"DAG + adaptive guidance (γ = {gamma:g})",
            final_round,
            GuidanceConfig(mode="adaptive", gamma=gamma),
        )
        for gamma in config.gammas
    ]
    return methods
