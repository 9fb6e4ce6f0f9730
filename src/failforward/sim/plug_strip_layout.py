"""The plug-strip task's geometry and its per-episode layout, drawn from a seed within a split.

A power strip lies on the table with 2 or 3 square sockets along its x axis (``PITCH`` apart); one or two plugs stand
upright on their prongs in front of it, each on the left or the right arm's side (drawn per plug; ``plug_a`` nearer
the front than ``plug_b``, so two plugs on one side never overlap). A plug is a box head (the part a gripper holds)
above a prong (a square box or a cylinder) that goes into a socket's well.

What makes an insertion risky is the placement: the arm nearer a plug grasps and inserts it, and a top-down insertion
reaches only so far across the table (a socket more than about 0.13 m past the centre line, on the other arm's side,
is missed or jammed; ``docs/plug_strip.md``). The strip's placement range straddles that limit, so which sockets each
plug can go into, and so which orders succeed, depends on where the strip and the plugs lie.

Frames and units: metres, radians. World = the table frame of the gym-aloha scene (z up, table top at z = 0, the
arms' waists at x = ±0.469, y = 0.5). Strip frame: origin at the centre of its bottom face, x along the sockets
(socket ``i`` at ``SLOT_X[i]``), z up. Plug frame: origin at the head's centre, prong along -z.

Splits draw from disjoint sets, per factor: strip placement (``STRIP_RANGES``), strip colour (``STRIP_COLORS``) and
plug shape (``PLUG_SHAPES``). ``"unseen"`` takes every factor from its unseen set; ``"unseen_placement"``,
``"unseen_color"`` and ``"unseen_shape"`` take only that factor from it (the paper's one-factor shifts).

Example:
    >>> layout = sample_layout(3, "seen")
    >>> layout.sockets, layout.plugs
    (('socket_0', 'socket_1', 'socket_2'), ('plug_a', 'plug_b'))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from failforward.errors import ConfigError

PlugStripSplit = Literal["seen", "unseen", "unseen_placement", "unseen_color", "unseen_shape"]
PlugShape = Literal["box", "cylinder"]
PLUGS = ("plug_a", "plug_b")  # each on either arm's side (drawn); plug_a in the front band, plug_b behind it
SOCKETS = ("socket_0", "socket_1", "socket_2")
OBJECTS = ("strip", *PLUGS)  # free bodies, in ``SimState.object_poses`` / ``object_state`` order

# Strip (strip frame) -------------------------------------------------------------------------------------------
PITCH = 0.04  # [m] socket spacing (one cell's length): 4 mm more than a head's length
SLOT_X = (-PITCH, 0.0, PITCH)  # [m] socket centres along the strip
HOLE_HALF = (0.0095, 0.0085, 0.0095)  # [m] half widths of the square wells; socket_1 is the tight one
STRIP_END = 0.01  # [m] solid strip beyond the outer cells
STRIP_HALF_LENGTH, STRIP_HALF_WIDTH = SLOT_X[-1] + PITCH / 2 + STRIP_END, 0.03  # [m]
FLOOR_Z, RIM_Z = 0.01, 0.03  # [m] well floor and rim (strip top) heights
STRIP_MASS = 1.0  # [kg]

# Plug (plug frame) ---------------------------------------------------------------------------------------------
HEAD_HALF = (0.018, 0.012, 0.012)  # [m] head half extents; grasped across its y (narrow) axis
PRONG_HALF = 0.007  # [m] half width of the box prong
PRONG_RADIUS = 0.0075  # [m] radius of the cylinder prong
PRONG_HALF_LENGTH = 0.009  # [m]
PRONG_TIP_Z = -(HEAD_HALF[2] + 2 * PRONG_HALF_LENGTH)  # [m] prong tip below the head centre (-0.030)
PLUG_MASS = 0.05  # [kg]
PARKED = np.array([0.0, 1.6, -0.5, 1.0, 0.0, 0.0, 0.0])  # [7] an absent plug's pose: under the floor, out of view

# Variations ----------------------------------------------------------------------------------------------------
STRIP_COLORS = {
    "seen": {"white": (0.92, 0.92, 0.88), "grey": (0.6, 0.62, 0.66)},
    # red, not orange: under the scene's light an orange strip renders at the yellow plug's hue (its red channel
    # clips), which no colour segmentation can tell apart; the seeds draw the same strips (names sort alike)
    "unseen": {"red": (0.8, 0.1, 0.12), "blue": (0.2, 0.4, 0.9)},
}
PLUG_SHAPES: dict[str, tuple[PlugShape, ...]] = {"seen": ("box",), "unseen": ("cylinder",)}
# Strip centre x, y [m] and yaw [rad] ranges (uniform); unseen: further back and turned more, either side.
# The x range straddles the arms' reach across the table (the far socket of a strip off centre is out of reach).
STRIP_RANGES = {
    "seen": {"x": (-0.18, 0.18), "y": (0.57, 0.62), "yaw": (-0.2, 0.2)},
    "unseen": {"x": (-0.18, 0.18), "y": (0.63, 0.68), "yaw": (0.22, 0.4)},  # yaw sign drawn separately
}
PLUG_X = (0.18, 0.27)  # [m] |x| of a plug's centre; the side (sign) is drawn per plug
PLUG_Y = {"plug_a": (0.33, 0.38), "plug_b": (0.41, 0.46)}  # [m] bands: two plugs on one side stay apart
PLUG_YAW = (-1.0, 1.0)  # [rad] head's long axis within 57 deg of world x (steeper yaws turn in the fingers)
SPLIT_FACTORS: dict[str, tuple[str, str, str]] = {  # split → which set (placement, colour, shape) draws from
    "seen": ("seen", "seen", "seen"),
    "unseen": ("unseen", "unseen", "unseen"),
    "unseen_placement": ("unseen", "seen", "seen"),
    "unseen_color": ("seen", "unseen", "seen"),
    "unseen_shape": ("seen", "seen", "unseen"),
}


@dataclass(frozen=True)
class PlugStripLayout:
    """One episode's scene.

    Attributes:
        split: the split it was drawn from.
        strip_pose: ``[7]`` strip xyz [m] + quat (w, x, y, z), world frame (resting on the table).
        n_sockets: 2 or 3; with 2, ``socket_2`` is capped (not a socket).
        plugs: the plugs present (``plug_a``, ``plug_b`` or both); absent ones are parked at ``PARKED``.
        plug_poses: plug name → ``[7]`` pose, world frame (standing on its prong).
        color: strip colour name; ``rgb`` its value in [0, 1].
        shape: prong shape of every plug.
    """

    split: PlugStripSplit
    strip_pose: np.ndarray
    n_sockets: int
    plugs: tuple[str, ...]
    plug_poses: dict[str, np.ndarray]
    color: str
    rgb: tuple[float, float, float]
    shape: PlugShape

    @property
    def sockets(self) -> tuple[str, ...]:
        return SOCKETS[: self.n_sockets]

    def object_qpos(self) -> np.ndarray:
        """``[21]`` free-joint qpos of ``OBJECTS`` (strip, plug_a, plug_b); absent plugs parked."""
        poses = [self.strip_pose, *(self.plug_poses.get(p, PARKED) for p in PLUGS)]
        return np.concatenate(poses)


def check_split(split: str) -> PlugStripSplit:
    """``split`` if it names a split, else :class:`ConfigError` listing them."""
    if split not in SPLIT_FACTORS:
        raise ConfigError(f"Unknown plug_strip split {split!r}; use one of {', '.join(get_args(PlugStripSplit))}.")
    return split  # type: ignore[return-value]


def yaw_quat(yaw: float) -> np.ndarray:
    """``[4]`` quaternion (w, x, y, z) of a rotation by ``yaw`` [rad] about world z."""
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def _strip_pose(rng: np.random.Generator, placement: str) -> np.ndarray:
    r = STRIP_RANGES[placement]
    yaw = rng.uniform(*r["yaw"])
    if placement == "unseen":
        yaw *= rng.choice([-1.0, 1.0])
    return np.concatenate([[rng.uniform(*r["x"]), rng.uniform(*r["y"]), 0.0], yaw_quat(yaw)])


def _plug_pose(rng: np.random.Generator, plug: str) -> np.ndarray:
    x = rng.uniform(*PLUG_X) * rng.choice([-1.0, 1.0])
    z = -PRONG_TIP_Z  # standing on the prong tip
    return np.concatenate([[x, rng.uniform(*PLUG_Y[plug]), z], yaw_quat(rng.uniform(*PLUG_YAW))])


def sample_layout(seed: int, split: str = "seen") -> PlugStripLayout:
    """The layout of episode ``seed`` in ``split`` (deterministic: same seed and split, same layout)."""
    placement, color_set, shape_set = SPLIT_FACTORS[check_split(split)]
    rng = np.random.default_rng([seed, 16])
    n_sockets = int(rng.integers(2, 4))
    n_plugs = int(rng.integers(1, 3))
    plugs = PLUGS if n_plugs == 2 else (PLUGS[int(rng.integers(0, 2))],)
    strip = _strip_pose(rng, placement)
    poses = {p: _plug_pose(rng, p) for p in PLUGS}  # both drawn, so one plug's draw never shifts the other's
    colors = STRIP_COLORS[color_set]
    color = sorted(colors)[int(rng.integers(0, len(colors)))]
    shapes = PLUG_SHAPES[shape_set]
    shape = shapes[int(rng.integers(0, len(shapes)))]
    return PlugStripLayout(
        split=split,  # type: ignore[arg-type]
        strip_pose=strip,
        n_sockets=n_sockets,
        plugs=plugs,
        plug_poses={p: poses[p] for p in plugs},
        color=color,
        rgb=colors[color],
        shape=shape,
    )
