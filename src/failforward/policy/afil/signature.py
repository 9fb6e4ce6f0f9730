"""Graph names and tensor names shared by the exporter and the runtimes (torch-free on purpose)."""

from __future__ import annotations

GUIDED_SAMPLER = "sampler_guided"
UNGUIDED_SAMPLER = "sampler_unguided"
BACKBONE = "backbone"
EXPERTS = "experts"
SUCCESS_EXPERT = "experts_success"  # split layout, unguided: success head only (absent in older exports)
DONE = "done"  # observation → end-of-edge probability (models with a done head only)

CACHE_OUTPUTS = ("keys", "values", "bias")
# a separate (light) failure head's own cross-attention cache: backbone outputs / experts inputs after CACHE_OUTPUTS
FAILURE_CACHE = ("failure_keys", "failure_values")
# the state's term of every chunk row (AfilModelConfig.state_in_rows), after the cross-attention cache
ROW_CACHE = ("rows",)
FAILURE_ROW_CACHE = ("failure_rows",)  # a separate failure head's own
MEAN_OUTPUT = "mean"  # the backbone graph's last output for a model with a mean head: chunk mean [B, H, A]
EXPERT_STEP_INPUTS = ("x", "tau")  # the experts graph's per-step inputs, before the cache
EXPERT_INPUTS = (*EXPERT_STEP_INPUTS, *CACHE_OUTPUTS)
EXPERT_OUTPUTS = ("velocity",)
GUIDED_OUTPUTS = ("actions", "lambdas")
UNGUIDED_OUTPUTS = ("actions",)
DONE_OUTPUTS = ("done",)  # float32 [B], the probability that the prompted subgoal has ended

PRECISIONS = ("fp32", "fp16")

HASH_PROMPT_INPUTS = ("tokens", "token_mask")  # int64 [B, L] word ids (0 = padding), bool [B, L]
SENTENCE_PROMPT_INPUTS = ("prompt_embedding",)  # float32 [B, E] unit-norm sentence embedding


def graph_stem(base: str, precision: str) -> str:
    """File stem of ``base`` at ``precision``: float32 graphs keep the bare name, float16 ones get ``_fp16``.

    Float16 graphs keep float32 inputs and outputs (noise, state, actions, λ); only the network inside
    runs in float16, while the Euler state and the guidance stay float32.
    """
    return base if precision == "fp32" else f"{base}_{precision}"
