"""The README's numbers for the shipped model are the model card's, for the setting the demo runs (issue 17: the
README once credited the demo's γ = 1 with another setting's success rate)."""

from __future__ import annotations

import re
from pathlib import Path

from failforward.config import get_preset
from failforward.config.policy import AfilPolicyConfig
from failforward.policy.afil.config import GuidanceMode

ROOT = Path(__file__).resolve().parents[1]


def _card_rate(card: str, method: str) -> int:
    """Success % of ``method``'s row in a model card's measured-success table."""
    row = next(line for line in card.splitlines() if line.startswith(f"| {method} |"))
    return int(re.match(r"\s*(\d+)", row.split("|")[2]).group(1))


def test_the_readme_quotes_the_card_for_the_demo_setting() -> None:
    policy = get_preset("sim_transfer_cube_afil").policy
    assert isinstance(policy, AfilPolicyConfig)
    guidance = policy.sampler.guidance
    assert guidance.mode is GuidanceMode.ADAPTIVE
    gamma = f"{guidance.gamma:g}"
    card = (ROOT / policy.model_dir / "MODEL_CARD.md").read_text()
    rate = _card_rate(card, f"DAG + adaptive guidance (γ = {gamma})")
    readme = (ROOT / "README.md").read_text()
    claims = re.findall(r"(\d+)% with adaptive guidance γ = " + re.escape(gamma), readme)
    assert claims and all(int(c) == rate for c in claims), (claims, rate)
    held_out = re.findall(r"\((\d+)% on\s+held-out seeds\)", readme)  # the demo section's note
    assert held_out and all(int(c) == rate for c in held_out), (held_out, rate)
