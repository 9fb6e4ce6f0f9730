"""Find and load calibration directories ``<root>/<robot>/<id>/calibration.json``."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from failforward.calibration.schema import AlohaCalibration, FrankaCalibration
from failforward.errors import ConfigError, UnknownNameError

CALIBRATION_FILE = "calibration.json"
SCHEMAS: dict[str, type[AlohaCalibration] | type[FrankaCalibration]] = {
    "aloha": AlohaCalibration,
    "franka": FrankaCalibration,
}


def load_calibration(directory: str | Path) -> AlohaCalibration | FrankaCalibration:
    """Load and validate ``directory/calibration.json``; the file's ``robot`` field picks the schema."""
    path = Path(directory) / CALIBRATION_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"No calibration at {path}: copy calibration/<robot>/default and measure yours.") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    robot = data.get("robot")
    if robot not in SCHEMAS:
        raise UnknownNameError("calibration robot", str(robot), SCHEMAS)
    try:
        calibration = SCHEMAS[robot].model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"Invalid calibration {path}:\n{exc}") from exc
    if calibration.id != path.parent.name:
        raise ConfigError(f"{path}: id {calibration.id!r} must equal its directory name {path.parent.name!r}.")
    return calibration


def calibration_dirs(root: str | Path) -> list[Path]:
    """Every ``<root>/<robot>/<id>/`` directory."""
    return sorted(p for p in Path(root).glob("*/*") if p.is_dir())
