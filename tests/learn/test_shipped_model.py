"""The shipped checkpoint loads (manifest verified) and drives the sim through its preset's runtime."""

from __future__ import annotations

from pathlib import Path

from failforward.config import get_preset
from failforward.control.runtime import run
from failforward.policy.afil.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[2]


def test_afil_preset_runs_the_shipped_model(tmp_path: Path, monkeypatch) -> None:
    preset = get_preset("sim_transfer_cube_afil")
    model_dir = ROOT / preset.policy.model_dir
    manifest = load_manifest(model_dir)  # raises on a missing file or a changed hash
    assert manifest.training is not None and manifest.training.failure_ticks > 0  # the failure head was trained
    assert (model_dir / "MODEL_CARD.md").is_file()
    monkeypatch.chdir(ROOT)  # the preset names the model relative to the repository root
    config = preset.with_overrides({"episodes": 1, "loop.max_steps": 60, "record.output_dir": str(tmp_path)})
    result = run(config, run_name="afil")
    episode = result.episodes[0]
    assert episode.error is None and episode.steps == 60
    assert len(episode.files) == 1 and episode.files[0].is_file()
