"""Write launch/params/<preset>.yaml for every core preset (they mirror the presets field by field).

Run after adding or changing a preset: ./run python tools/write_params.py
tests/ros/test_params.py fails until the files match the presets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from failforward.config import PRESETS, flatten_config

PARAMS_DIR = Path(__file__).resolve().parents[1] / "launch" / "params"


def nested(preset: str) -> dict[str, Any]:
    tree: dict[str, Any] = {"preset": preset}
    for key, value in flatten_config(PRESETS[preset]).items():
        node = tree
        *parents, leaf = key.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return tree


def main() -> None:
    for name in PRESETS:
        header = (
            f"# Parameters of the failforward nodes for preset `{name}`; mirrors the preset in\n"
            f"# src/failforward/config/ field by field (tests/ros/test_params.py checks it).\n"
            f"# Regenerate with: ./run python tools/write_params.py\n"
        )
        body = yaml.safe_dump({"/**": {"ros__parameters": nested(name)}}, sort_keys=False)
        (PARAMS_DIR / f"{name}.yaml").write_text(header + body)
        print(PARAMS_DIR / f"{name}.yaml")


if __name__ == "__main__":
    main()
