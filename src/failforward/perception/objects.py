"""What the RGB-D estimator knows of each task object: its colour, its size and its symmetry, read from the scene.

Object models come from the task's MJCF (the gym-aloha scene the simulator runs, which replicates the real cell's
objects): the body's geoms of its dominant colour give the colour and the box that bounds them in the body frame.
Nothing about where the objects are is read.

Conventions: the body frame is the object's pose frame in ``Observation.object_state`` (xyz [m] of its origin,
quaternion (w, x, y, z)); ``half_extents`` [m] bound the dominant-colour geoms along the body's x, y, z axes;
``yaw_period`` [rad] is the rotation about the body's z axis that maps the footprint onto itself (π/2 for a square
footprint such as the cube, π for an elongated one such as the peg and the socket).

Example:
    >>> [m.name for m in object_models("insertion")]
    ['peg', 'socket']
    >>> object_models("transfer_cube")[0].half_extents
    (0.02, 0.02, 0.02)
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from failforward.errors import ConfigError

SQUARE_TOLERANCE_M = 1e-3
"""[m] a footprint whose x and y half-extents differ by less than this is square (yaw period π/2)."""


@dataclass(frozen=True)
class ObjectModel:
    """One task object: ``name`` (the body), ``hue`` [deg] 0–360 of its colour, ``half_extents`` (x, y, z) [m] in the
    body frame, ``yaw_period`` [rad] of its footprint's symmetry."""

    name: str
    hue: float
    half_extents: tuple[float, float, float]
    yaw_period: float


def object_models(task: str) -> tuple[ObjectModel, ...]:
    """The models of ``task``'s objects, in ``Observation.object_state`` order (``SimTaskSpec.objects``). Reads the
    gym-aloha scene (the ``sim`` extra)."""
    from failforward.sim.tasks import get_task

    spec = get_task(task)
    return _models(spec.xml_path, spec.objects)


@lru_cache(maxsize=8)
def _models(xml_path: str, names: tuple[str, ...]) -> tuple[ObjectModel, ...]:
    import mujoco

    model = mujoco.MjModel.from_xml_path(xml_path)
    return tuple(_model_of(model, name) for name in names)


def _model_of(model: object, name: str) -> ObjectModel:
    """The dominant-colour geoms of body ``name``: their hue and the box bounding them in the body frame."""
    body = model.body(name).id  # type: ignore[attr-defined]
    geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] == body]  # type: ignore[attr-defined]
    if not geoms:
        raise ConfigError(f"Body {name!r} has no geoms in the scene: the RGB-D estimator cannot model it.")
    hues = {g: _hue(model.geom_rgba[g]) for g in geoms}  # type: ignore[attr-defined]
    volume = {g: float(np.prod(model.geom_size[g])) for g in geoms}  # type: ignore[attr-defined]
    dominant = max(set(hues.values()), key=lambda h: sum(volume[g] for g in geoms if hues[g] == h))
    corners = np.concatenate([_box_corners(model, g) for g in geoms if hues[g] == dominant])
    half = tuple(float(v) for v in np.abs(corners).max(axis=0))
    period = np.pi / 2 if abs(half[0] - half[1]) < SQUARE_TOLERANCE_M else np.pi
    return ObjectModel(name, dominant, (half[0], half[1], half[2]), float(period))


def _hue(rgba: np.ndarray) -> float:
    """Hue [deg] 0–360 of an RGBA colour, rounded to a degree (geoms of one colour compare equal)."""
    return float(round(colorsys.rgb_to_hsv(*(float(c) for c in rgba[:3]))[0] * 360.0) % 360)


def _box_corners(model: object, geom: int) -> np.ndarray:
    """``[8, 3]`` corners [m] of a box geom in its body frame (other geom types: their size as a box)."""
    size = model.geom_size[geom]  # type: ignore[attr-defined]
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)
    w, x, y, z = model.geom_quat[geom]  # type: ignore[attr-defined]
    rotation = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )
    return (signs * size) @ rotation.T + model.geom_pos[geom]  # type: ignore[attr-defined]
