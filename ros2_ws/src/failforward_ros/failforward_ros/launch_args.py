"""Launch arguments and parameter files → ``RunConfig`` (no ROS here; ``node_params`` reads them from a node).

Parameter files mirror a core preset; nodes add no defaults.

A parameter file names its preset and lists the preset's fields as nested parameters::

    /**:
      ros__parameters:
        preset: sim_transfer_cube
        robot: {task: transfer_cube, cameras: [top]}

Launch arguments arrive as top-level parameters and apply only when not empty:

- ``policy_kind`` replaces the preset's policy section by a policy of that kind (a different kind has
  different fields, so the section is replaced, not merged); the preset's own kind is kept otherwise.
- ``model_dir`` sets ``policy.model_dir``.
- ``foxglove`` (``true``/``false``) sets ``viz.foxglove.enabled``: the policy node serves a Foxglove live view.
- ``supervisor_endpoint`` points the supervisor at an OpenAI-compatible server (vLLM, SGLang...): it sets
  ``supervisor.backend.base_url``, replacing the preset's backend by the ``openai`` one where it has another.

A relative ``policy.model_dir`` resolves against the working directory when it exists there, else
against the package share (``share/failforward_ros/models/...``: the shipped models), so ``ros2 launch``
works from any directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from failforward.config import RunConfig, get_preset
from failforward.errors import ConfigError

PACKAGE = "failforward_ros"
LAUNCH_PARAMETERS = ("policy_kind", "model_dir", "supervisor_endpoint", "foxglove")
"""Top-level parameters set by launch arguments (empty: the preset's value)."""


def run_config_from(preset: str, values: dict[str, Any], launch: dict[str, str]) -> RunConfig:
    """``RunConfig`` from a preset name, its ``section.field`` parameters and the launch arguments."""
    overrides: dict[str, Any] = {
        name: v if isinstance(v, (str, bool, int, float)) else list(v) for name, v in values.items()
    }
    kind = launch.get("policy_kind", "")
    if kind and preset and kind != get_preset(preset).policy.kind:
        overrides = {k: v for k, v in overrides.items() if not k.startswith("policy.")}
        overrides["policy"] = {"kind": kind}
    if launch.get("model_dir"):
        overrides["policy.model_dir"] = launch["model_dir"]
    endpoint = launch.get("supervisor_endpoint", "")
    if endpoint and preset and get_preset(preset).supervisor.backend.kind != "openai":
        # an endpoint means the OpenAI-compatible backend: the preset's own backend section is replaced
        overrides = {k: v for k, v in overrides.items() if not k.startswith("supervisor.backend.")}
        overrides["supervisor.backend"] = {"kind": "openai", "base_url": endpoint}
    elif endpoint:
        overrides["supervisor.backend.base_url"] = endpoint
    foxglove = launch.get("foxglove", "").strip().lower()
    if foxglove:  # true/false (launch may hand over a parsed bool, read here as text)
        if foxglove not in ("true", "false"):
            raise ConfigError(f"launch argument foxglove:={foxglove!r}: use true or false (or leave it empty)")
        overrides["viz.foxglove.enabled"] = foxglove == "true"
    config = run_config_from_parameters(preset, overrides)
    model_dir = getattr(config.policy, "model_dir", None)
    if model_dir is None:
        return config
    return config.with_overrides({"policy.model_dir": str(resolve_model_dir(Path(model_dir)))})


def resolve_model_dir(path: Path) -> Path:
    """An existing model directory for ``path``: as given, relative to the working directory, or relative
    to the package share; ``ConfigError`` naming every place tried otherwise."""
    if path.is_absolute() or path.exists():
        return path
    tried = [Path.cwd() / path]
    share = package_share()
    if share is not None:
        candidate = share / path
        if candidate.exists():
            return candidate
        tried.append(candidate)
    raise ConfigError(
        f"policy.model_dir {str(path)!r} does not exist (tried {', '.join(map(str, tried))}); pass an absolute "
        "path with the launch argument model_dir:=/path/to/model (a directory holding manifest.json)."
    )


def package_share() -> Path | None:
    """``share/failforward_ros`` of the install ament finds (``None`` when the package is not indexed)."""
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        return Path(get_package_share_directory(PACKAGE))
    except PackageNotFoundError:
        return None


def run_config_from_parameters(preset: str, overrides: dict[str, Any]) -> RunConfig:
    """The named preset with every ``section.field`` parameter applied."""
    if not preset:
        raise ConfigError("Parameter 'preset' is required: pass a params file from launch/params/.")
    return get_preset(preset).with_overrides(overrides)
