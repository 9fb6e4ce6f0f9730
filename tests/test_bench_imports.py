"""Every benchmark and tool script imports (their entry points are run by hand, so an API change would go
unnoticed otherwise); scripts needing an optional package that is not installed are skipped."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*ROOT.glob("bench/*.py"), *ROOT.glob("tools/*.py")])
OPTIONAL = {"mani_skill", "tensorrt", "transformers", "franky", "sapien"}


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_script_imports(path: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"_script_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script runs
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{path.name} needs {exc.name}")
        raise
    finally:
        del sys.modules[spec.name]
    assert callable(getattr(module, "main", None)), f"{path.name} has no main()"
