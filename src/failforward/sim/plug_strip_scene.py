"""The plug-strip MJCF (gym-aloha's bimanual ViperX cell plus a strip and two plugs) and how a layout is applied.

The model is generated once per process into a content-addressed file under the user's cache directory (MuJoCo
loads scenes from paths, and gym-aloha's arm files are included by absolute path, so nothing ships as package data).
It holds everything any layout needs: three socket cells (the third capped on 2-socket strips) and, per plug, both
prongs (the other shape's prong and absent plugs are switched off: no collisions, invisible). ``apply_layout`` does
the switching and colouring on a compiled ``mujoco.MjModel``, so every episode shares one model (same ``nq``).

Geom names: ``strip_base``, ``socket_<i>_{front,back,left,right}`` (the walls of well ``i``), ``socket_<i>_cap``,
``strip_end_{0,1}``; ``<plug>_head``, ``<plug>_prong_box``, ``<plug>_prong_cylinder``. Sites ``socket_<i>`` mark the
centre of each well's mouth (strip frame ``(SLOT_X[i], 0, RIM_Z)``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from gym_aloha.constants import ASSETS_DIR

from failforward.sim.plug_strip_layout import (
    FLOOR_Z,
    HEAD_HALF,
    HOLE_HALF,
    PARKED,
    PITCH,
    PLUG_MASS,
    PLUGS,
    PRONG_HALF,
    PRONG_HALF_LENGTH,
    PRONG_RADIUS,
    RIM_Z,
    SLOT_X,
    SOCKETS,
    STRIP_HALF_LENGTH,
    STRIP_HALF_WIDTH,
    STRIP_MASS,
    PlugStripLayout,
)

PLUG_RGB = {"plug_a": (0.95, 0.8, 0.1), "plug_b": (0.2, 0.75, 0.3)}
PRONG_RGB = (0.75, 0.75, 0.78)
BASE_RGB = (0.12, 0.12, 0.12)  # the strip's slab: the wells' floors look dark from above
WALL = 'condim="3" friction="0.4 0.005 0.0001"'
HEAD = 'condim="4" friction="1 0.005 0.0001" solimp="2 1 0.01" solref="0.01 1"'
PRONG = 'condim="3" friction="0.3 0.005 0.0001"'
PARKING = 'contype="2" conaffinity="2"'  # an invisible shelf under the floor that only parked plugs collide with


Vec3 = tuple[float, float, float]


def _box(name: str, centre: Vec3, half: Vec3, rgb: Vec3, extra: str) -> str:
    """A box geom: ``centre`` and ``half`` extents [m] in its body's frame, ``rgb`` in [0, 1]."""
    pos = " ".join(f"{v:.5f}" for v in centre)
    size = " ".join(f"{v:.5f}" for v in half)
    color = " ".join(f"{v:.3f}" for v in rgb)
    return f'<geom name="{name}" type="box" pos="{pos}" size="{size}" rgba="{color} 1" {extra}/>'


def _socket_cell(i: int) -> list[str]:
    """The four walls around well ``i`` (its top layer), its cap and its mouth site."""
    x, h, w = SLOT_X[i], HOLE_HALF[i], STRIP_HALF_WIDTH
    zc, zh = (FLOOR_Z + RIM_Z) / 2, (RIM_Z - FLOOR_Z) / 2
    side = (PITCH / 2 - h) / 2
    white = (0.9, 0.9, 0.9)
    return [
        _box(f"socket_{i}_front", (x, (h + w) / 2, zc), (PITCH / 2, (w - h) / 2, zh), white, WALL),
        _box(f"socket_{i}_back", (x, -(h + w) / 2, zc), (PITCH / 2, (w - h) / 2, zh), white, WALL),
        _box(f"socket_{i}_left", (x - h - side, 0.0, zc), (side, h, zh), white, WALL),
        _box(f"socket_{i}_right", (x + h + side, 0.0, zc), (side, h, zh), white, WALL),
        _box(f"socket_{i}_cap", (x, 0.0, zc), (h, h, zh), white, WALL),
        f'<site name="socket_{i}" pos="{x:.5f} 0 {RIM_Z:.5f}" size="0.003" rgba="1 0 0 0"/>',
    ]


def _strip_body() -> str:
    length = STRIP_HALF_LENGTH - (SLOT_X[-1] + PITCH / 2)  # end blocks beyond the outer cells
    zc, zh = (FLOOR_Z + RIM_Z) / 2, (RIM_Z - FLOOR_Z) / 2
    ends = [
        _box(f"strip_end_{k}", (sign * (STRIP_HALF_LENGTH - length / 2), 0.0, zc), (length / 2, STRIP_HALF_WIDTH, zh),
             (0.9, 0.9, 0.9), WALL)
        for k, sign in enumerate((-1.0, 1.0))
    ]  # fmt: skip
    slab = (STRIP_HALF_LENGTH, STRIP_HALF_WIDTH, FLOOR_Z / 2)
    base = _box("strip_base", (0.0, 0.0, FLOOR_Z / 2), slab, BASE_RGB, WALL)
    cells = [line for i in range(len(SOCKETS)) for line in _socket_cell(i)]
    inertia = _box_inertia(STRIP_MASS, (STRIP_HALF_LENGTH, STRIP_HALF_WIDTH, RIM_Z / 2))
    return "\n".join(
        [
            '<body name="strip" pos="0 0.6 0">',
            '<joint name="strip_joint" type="free" frictionloss="0.01"/>',
            f'<inertial pos="0 0 {RIM_Z / 2}" mass="{STRIP_MASS}" diaginertia="{inertia}"/>',
            base,
            *ends,
            *cells,
            "</body>",
        ]
    )


def _plug_body(name: str, x: float) -> str:
    prong_z = -(HEAD_HALF[2] + PRONG_HALF_LENGTH)
    head = _box(f"{name}_head", (0.0, 0.0, 0.0), HEAD_HALF, PLUG_RGB[name], HEAD)
    box = _box(f"{name}_prong_box", (0.0, 0.0, prong_z), (PRONG_HALF, PRONG_HALF, PRONG_HALF_LENGTH), PRONG_RGB, PRONG)
    cyl = (
        f'<geom name="{name}_prong_cylinder" type="cylinder" pos="0 0 {prong_z:.5f}" '
        f'size="{PRONG_RADIUS:.5f} {PRONG_HALF_LENGTH:.5f}" rgba="{" ".join(map(str, PRONG_RGB))} 1" {PRONG}/>'
    )
    inertia = _box_inertia(PLUG_MASS, (HEAD_HALF[0], HEAD_HALF[1], HEAD_HALF[2] + PRONG_HALF_LENGTH))
    return "\n".join(
        [
            f'<body name="{name}" pos="{x} 0.4 0.05">',
            f'<joint name="{name}_joint" type="free" frictionloss="0.01"/>',
            f'<inertial pos="0 0 {-PRONG_HALF_LENGTH:.5f}" mass="{PLUG_MASS}" diaginertia="{inertia}"/>',
            head,
            box,
            cyl,
            "</body>",
        ]
    )


def _box_inertia(mass: float, half: tuple[float, float, float]) -> str:
    a, b, c = (2 * v for v in half)
    return f"{mass * (b * b + c * c) / 12:.3e} {mass * (a * a + c * c) / 12:.3e} {mass * (a * a + b * b) / 12:.3e}"


def plug_strip_xml() -> str:
    """The MJCF text: gym-aloha's insertion scene with the peg and socket replaced by the strip and two plugs."""
    source = (ASSETS_DIR / "bimanual_viperx_insertion.xml").read_text()
    head, rest = source.split("<worldbody>", 1)
    arms_end = rest.index('<body name="peg"')
    actuators = rest[rest.index("</worldbody>") :]
    actuators = actuators[: actuators.index("<keyframe>")] + "</mujoco>\n"
    head = head.replace('file="', f'file="{ASSETS_DIR}/')
    arms = rest[:arms_end].replace('file="', f'file="{ASSETS_DIR}/')
    compiler = f'<compiler meshdir="{ASSETS_DIR}"/>'
    shelf = _box("parking", tuple(PARKED[:3] - [0.0, 0.0, 0.05]), (0.2, 0.1, 0.02), BASE_RGB, PARKING)
    shelf = shelf.replace('rgba="0.120 0.120 0.120 1"', 'rgba="0 0 0 0"')
    bodies = [shelf, _strip_body(), _plug_body("plug_a", -0.2), _plug_body("plug_b", 0.2)]
    return head.replace("<mujoco>", f"<mujoco>\n{compiler}", 1) + "<worldbody>" + arms + "\n".join(bodies) + actuators


@lru_cache(maxsize=1)
def plug_strip_xml_path() -> str:
    """Path of the generated MJCF (written on first use; the name is the content's hash, so it is never stale)."""
    text = plug_strip_xml()
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "failforward" / "sim"
    path = cache / f"plug_strip_{digest}.xml"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cache, suffix=".tmp", delete=False) as tmp:
            tmp.write(text)
        os.replace(tmp.name, path)  # atomic: concurrent first uses each write a whole file
    return str(path)


def _set_geom(
    model: Any, name: str, *, enabled: bool, rgb: tuple[float, float, float] | None = None, parked: bool = False
) -> None:
    """Collide with the scene (bit 1) or, ``parked``, with the parking shelf only (bit 2), or nothing; visible
    only when ``enabled``."""
    g = model.geom(name).id
    model.geom_contype[g] = model.geom_conaffinity[g] = 1 if enabled else (2 if parked else 0)
    if rgb is not None:
        model.geom_rgba[g, :3] = rgb
    model.geom_rgba[g, 3] = 1.0 if enabled else 0.0


def apply_layout(model: Any, layout: PlugStripLayout) -> None:
    """Switch ``model``'s (a ``mujoco.MjModel`` of :func:`plug_strip_xml`) caps, prongs, plugs and colours to
    ``layout``; poses are set separately (``layout.object_qpos()``)."""
    for i in range(len(SOCKETS)):
        for part in ("front", "back", "left", "right"):
            _set_geom(model, f"socket_{i}_{part}", enabled=True, rgb=layout.rgb)
        _set_geom(model, f"socket_{i}_cap", enabled=i >= layout.n_sockets, rgb=layout.rgb)
    for k in range(2):
        _set_geom(model, f"strip_end_{k}", enabled=True, rgb=layout.rgb)
    for plug in PLUGS:
        present = plug in layout.plugs  # an absent plug rests on the parking shelf, out of view and reach
        _set_geom(model, f"{plug}_head", enabled=present, parked=not present)
        for shape in ("box", "cylinder"):
            mine = shape == layout.shape
            _set_geom(model, f"{plug}_prong_{shape}", enabled=present and mine, parked=not present and mine)
    _refresh_body_filters(model)


def _refresh_body_filters(model: Any) -> None:
    """Body-level collision bits (MuJoCo's broad phase filters on them first) as the OR of their geoms' bits."""
    model.body_contype[:] = 0
    model.body_conaffinity[:] = 0
    np.bitwise_or.at(model.body_contype, model.geom_bodyid, model.geom_contype)
    np.bitwise_or.at(model.body_conaffinity, model.geom_bodyid, model.geom_conaffinity)


def socket_site_poses(model: Any, data: Any, n_sockets: int) -> dict[str, np.ndarray]:
    """Socket name → ``[3]`` world position [m] of its mouth centre (from the ``socket_<i>`` sites)."""
    return {SOCKETS[i]: data.site_xpos[model.site(SOCKETS[i]).id].copy() for i in range(n_sockets)}
