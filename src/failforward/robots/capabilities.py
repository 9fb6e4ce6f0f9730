"""Optional capabilities of a driver, as typed protocols: test them with ``isinstance``, never ``getattr``.

- :class:`OnDemandCamera`: renders a camera when asked, outside the tick (simulators).
- :class:`SceneAccess`: the simulated ALOHA's MuJoCo scene, for recovery (PMC's camera model, depth on demand,
  IK on the scene's MJCF) and the ROS bridge (camera pose, intrinsics, robot mask). ``SimAlohaDriver`` has it.
- :class:`LeaderArms`: leader arms whose joints a teleoperation policy sends to the followers. ``AlohaDriver``
  has it.

They are ``typing_extensions`` protocols: their ``isinstance`` looks members up without calling them (as
Python >= 3.12 does; 3.10 and 3.11's ``typing`` call properties), so a property that raises before
``connect()``, such as ``SceneAccess.scene``, cannot make the check raise.

Example:
    >>> if isinstance(driver, SceneAccess):
    ...     camera = MujocoCamera(driver.scene, "top")
    >>> read = driver.read_leaders if isinstance(driver, LeaderArms) and driver.has_leaders else None
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from typing_extensions import Protocol, runtime_checkable

from failforward.types import RobotFeatures

if TYPE_CHECKING:  # MuJoCo is only needed by the simulated ALOHA
    from failforward.sim.aloha_scene import AlohaScene


@runtime_checkable
class OnDemandCamera(Protocol):
    """A driver that renders one of its cameras on request (not only the ones its observations carry)."""

    def render(self, camera: str, *, depth: bool = False) -> np.ndarray:
        """``uint8 [H, W, 3]`` RGB of ``camera`` now, or with ``depth=True`` ``float32 [H, W]`` depth [m] along
        the optical axis, at the driver's image size."""
        ...


@runtime_checkable
class SceneAccess(OnDemandCamera, Protocol):
    """The simulated ALOHA's MuJoCo scene and what consumers outside the tick read with it."""

    @property
    def features(self) -> RobotFeatures:
        """The driver's joints, cameras and control rate."""
        ...

    @property
    def scene(self) -> AlohaScene:
        """The connected scene (model and data); raises ``NotConnectedError`` before ``connect()``."""
        ...

    @property
    def scene_xml_path(self) -> str:
        """The scene's MJCF file (arm IK loads its own model from it); known before ``connect()``."""
        ...

    @property
    def image_size(self) -> tuple[int, int]:
        """``(height, width)`` [px] of the observation images and of ``render``."""
        ...


@runtime_checkable
class LeaderArms(Protocol):
    """Leader arms a person moves; their joints, in the followers' units, are the teleoperation command."""

    @property
    def has_leaders(self) -> bool:
        """True when leader arms are configured (else ``read_leaders`` raises ``ConfigError``)."""
        ...

    def read_leaders(self) -> np.ndarray:
        """Leader joints ``[A]`` now, in the followers' joint order and units (arms [rad], grippers 0–1)."""
        ...
