"""What the RGB-D estimator knows of each task object: its colour, its size and its symmetry, read from the scene.

Object models come from the task's MJCF (the gym-aloha scene the simulator runs, which replicates the real cell's
objects): the body's visible geoms of its dominant colour give the colour and the box that bounds them in the body
frame. Nothing about where the objects are is read. A task whose scene is configured per episode (``plug_strip``: the
strip's colour, which plugs are on the table) has models per episode, :func:`episode_object_models`, as a cell's
operator would describe the objects set out for a run. A colour of low saturation (a white or grey power strip) is
*achromatic*: it is segmented by brightness, not hue (:func:`~failforward.perception.segment.bright_mask`). An object
the episode leaves out (its geoms invisible) is *absent*: the estimator reports the pose the scene keeps it at.

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
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from failforward.errors import ConfigError

SQUARE_TOLERANCE_M = 1e-3
"""[m] a footprint whose x and y half-extents differ by less than this is square (yaw period π/2)."""
ACHROMATIC_SATURATION = 0.2
"""An object colour less saturated than this (0–1) has no reliable hue: it is segmented by brightness."""


@dataclass(frozen=True)
class ObjectModel:
    """One task object: ``name`` (the body), ``hue`` [deg] 0–360 of its colour, ``half_extents`` (x, y, z) [m] in the
    body frame, ``yaw_period`` [rad] of its footprint's symmetry; ``achromatic``: its colour is white or grey
    (segmented by brightness); ``absent_state``: ``[7]`` the pose the scene keeps it at when the episode leaves it
    out (``None``: it is in play)."""

    name: str
    hue: float
    half_extents: tuple[float, float, float]
    yaw_period: float
    achromatic: bool = False
    absent_state: tuple[float, ...] | None = None


def object_models(task: str) -> tuple[ObjectModel, ...]:
    """The models of ``task``'s objects, in ``Observation.object_state`` order (``SimTaskSpec.objects``). Reads the
    gym-aloha scene (the ``sim`` extra)."""
    from failforward.sim.tasks import get_task

    spec = get_task(task)
    return _models(spec.xml_path, spec.objects)


def episode_object_models(task: str, split: str, seed: int) -> tuple[ObjectModel, ...]:
    """The models of ``task``'s objects as episode ``seed`` of ``split`` sets them out: its scene configured for the
    seed (colours, absent objects), absent objects at the pose the scene keeps them. Tasks whose scene does not vary
    give :func:`object_models`."""
    import mujoco

    from failforward.sim.tasks import get_task

    spec = get_task(task, split)
    if spec.configure is None:
        return object_models(task)
    model = mujoco.MjModel.from_xml_path(spec.xml_path)
    spec.configure(model, seed)
    initial = np.asarray(spec.sample_object_qpos(seed), dtype=np.float64).reshape(len(spec.objects), 7)
    models = [_model_of(model, name) for name in spec.objects]
    return tuple(
        replace(m, absent_state=tuple(float(v) for v in initial[k])) if m.absent_state is not None else m
        for k, m in enumerate(models)
    )


@lru_cache(maxsize=8)
def _models(xml_path: str, names: tuple[str, ...]) -> tuple[ObjectModel, ...]:
    import mujoco

    model = mujoco.MjModel.from_xml_path(xml_path)
    return tuple(_model_of(model, name) for name in names)


def _model_of(model: object, name: str) -> ObjectModel:
    """The dominant-colour visible geoms of body ``name``: their colour and the box bounding them in the body frame.
    A body with no visible geom is absent (its ``absent_state`` set to a placeholder the caller replaces)."""
    body = model.body(name).id  # type: ignore[attr-defined]
    geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] == body]  # type: ignore[attr-defined]
    if not geoms:
        raise ConfigError(f"Body {name!r} has no geoms in the scene: the RGB-D estimator cannot model it.")
    visible = [g for g in geoms if model.geom_rgba[g][3] > 0]  # type: ignore[attr-defined]
    colours = {g: _hue_saturation(model.geom_rgba[g]) for g in visible or geoms}  # type: ignore[attr-defined]
    volume = {g: float(np.prod(model.geom_size[g])) for g in colours}  # type: ignore[attr-defined]
    dominant = max(set(colours.values()), key=lambda c: sum(volume[g] for g in colours if colours[g] == c))
    corners = np.concatenate([_box_corners(model, g) for g in colours if colours[g] == dominant])
    half = tuple(float(v) for v in np.abs(corners).max(axis=0))
    period = np.pi / 2 if abs(half[0] - half[1]) < SQUARE_TOLERANCE_M else np.pi
    hue, saturation = dominant
    absent = None if visible else (0.0,) * 7
    return ObjectModel(
        name, hue, (half[0], half[1], half[2]), float(period), saturation < ACHROMATIC_SATURATION, absent
    )


def _hue_saturation(rgba: np.ndarray) -> tuple[float, float]:
    """Hue [deg] 0–360 and saturation (0–1) of an RGBA colour, rounded to a degree and a hundredth (geoms of one
    colour compare equal)."""
    hue, saturation, _ = colorsys.rgb_to_hsv(*(float(c) for c in rgba[:3]))
    return float(round(hue * 360.0) % 360), round(saturation, 2)


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
