"""What a policy server serves, as the handshake tells it: the model's identity, I/O shapes, rate and RTC support.

The robot side checks it against its :class:`~failforward.types.RobotFeatures` before the first tick
(:meth:`ModelCard.check`), and the server checks every observation against it before inference.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from failforward.policy.base import NO_RTC, RtcSupport
from failforward.transport.errors import HandshakeMismatchError
from failforward.types import RobotFeatures


@dataclass(frozen=True)
class CameraSpec:
    """One camera the model reads: ``name`` and image size ``height`` x ``width`` [pixels] (uint8 RGB)."""

    name: str
    height: int
    width: int


@dataclass(frozen=True)
class ModelCard:
    """The served model, as the handshake reports it.

    Attributes:
        name: the model's name (its manifest's ``name``).
        sha256: sha256 of the model directory's ``manifest.json``, which lists (and on load verifies) the sha256
            of every model file: one digest for the whole model.
        files: model file name → its sha256.
        action_dim: ``A``, joints per action row (the robot's joint count).
        state_dim: ``S = A + O``, joint positions then object poses (``RobotFeatures.state_dim``).
        horizon: ``H``, rows per chunk.
        cameras: cameras the model reads, with their image sizes.
        control_hz: [Hz] the control rate the model's chunks are timed for.
        rtc: how the served policy honours a real-time-chunking prefix.
    """

    name: str
    sha256: str
    action_dim: int
    state_dim: int
    horizon: int
    control_hz: float
    cameras: tuple[CameraSpec, ...] = ()
    rtc: RtcSupport = NO_RTC
    files: dict[str, str] = field(default_factory=dict)

    def check(self, features: RobotFeatures) -> None:
        """Raise :class:`HandshakeMismatchError` naming what differs when the model does not fit the robot."""
        if self.action_dim != features.action_dim or self.state_dim != features.state_dim:
            raise HandshakeMismatchError(
                f"served model {self.name!r} takes state/action dims {self.state_dim}/{self.action_dim}; this robot "
                f"has {features.action_dim} joints and {features.object_state_dim} object-state numbers "
                f"({list(features.object_names)}). Serve a model trained for this robot, or set the robot's "
                "object_state to match how the model was trained."
            )
        if abs(self.control_hz - features.control_hz) > 1e-6:
            raise HandshakeMismatchError(
                f"served model {self.name!r} is timed for {self.control_hz:g} Hz, this robot runs at "
                f"{features.control_hz:g} Hz; serve it with --control-hz {features.control_hz:g} only if it was "
                "trained at that rate."
            )
        self._check_cameras(features)

    def _check_cameras(self, features: RobotFeatures) -> None:
        offered = {c.name: (c.height, c.width) for c in features.cameras}
        for camera in self.cameras:
            if camera.name not in offered:
                raise HandshakeMismatchError(
                    f"served model {self.name!r} needs camera {camera.name!r}; this robot offers {sorted(offered)}. "
                    "Add it to robot.cameras."
                )
            if offered[camera.name] != (camera.height, camera.width):
                height, width = offered[camera.name]
                raise HandshakeMismatchError(
                    f"camera {camera.name!r} renders {width}x{height}, the served model needs "
                    f"{camera.width}x{camera.height}; set the robot's image size to match."
                )

    def check_pinned(self, sha256: str | None) -> None:
        """Raise unless the model is the one pinned by ``sha256`` (``None``: any model)."""
        if sha256 is not None and sha256 != self.sha256:
            raise HandshakeMismatchError(
                f"the server serves {self.name!r} with manifest sha256 {self.sha256[:12]}…, the config pins "
                f"{sha256[:12]}…; serve the pinned model or update policy.expect_sha256."
            )


def card_from_model_dir(model_dir: Path, rtc: RtcSupport, control_hz: float) -> ModelCard:
    """The card of an AFIL model directory (``models/<name>/``, manifest verified by loading it)."""
    from failforward.policy.afil.manifest import MANIFEST_FILE, load_manifest

    manifest = load_manifest(model_dir)
    model = manifest.model
    return ModelCard(
        name=manifest.name,
        sha256=hashlib.sha256((Path(model_dir) / MANIFEST_FILE).read_bytes()).hexdigest(),
        action_dim=model.robot_action_dim,
        state_dim=model.state_dim,
        horizon=model.horizon,
        control_hz=control_hz,
        cameras=tuple(CameraSpec(name, model.image_height, model.image_width) for name in model.cameras),
        rtc=rtc,
        files=dict(manifest.files),
    )
