"""Graph names and tensor names shared by the exporter and the runtimes (torch-free on purpose)."""

from __future__ import annotations

GUIDED_SAMPLER = "sampler_guided"
UNGUIDED_SAMPLER = "sampler_unguided"
BACKBONE = "backbone"
EXPERTS = "experts"

CACHE_OUTPUTS = ("keys", "values", "bias")
EXPERT_INPUTS = ("x", "tau", *CACHE_OUTPUTS)
EXPERT_OUTPUTS = ("velocity",)
GUIDED_OUTPUTS = ("actions", "lambdas")
UNGUIDED_OUTPUTS = ("actions",)
