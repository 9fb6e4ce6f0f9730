"""bench/failure_data.py's joint rows: the EMA setting is in the row's name, so resumed rows never mix settings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location("failure_data", Path(__file__).parents[2] / "bench" / "failure_data.py")
assert _SPEC is not None and _SPEC.loader is not None
failure_data = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(failure_data)


def test_joint_names_carry_the_fraction_backbone_and_ema() -> None:
    assert failure_data.joint_name("0.5") == "joint f=0.5"
    assert failure_data.joint_name("0.5+backbone") == "joint f=0.5, backbone"
    assert failure_data.joint_name("0.5+backbone", 0.995) == "joint f=0.5, backbone, EMA 0.995"
    assert failure_data.joint_name("0.2", 0.0) != failure_data.joint_name("0.2", 0.99)
