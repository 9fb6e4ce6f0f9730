"""The simulated ALOHA tasks: scene file, initial object poses and the reward stages.

The two gym-aloha tasks: reward stages follow gym-aloha's ``TransferCubeTask``/``InsertionTask.get_reward``
exactly (``tests/test_sim_aloha.py`` checks parity against gym-aloha itself); stage 4 is success. Initial poses
come from gym-aloha's own samplers, so seed ``s`` here is seed ``s`` there.

``plug_strip`` (VINE's plug insertion, :mod:`failforward.sim.plug_strip_layout`) varies its scene per seed and
split: its spec's ``configure`` switches the shared model to the seed's layout at reset, and ``variant_stage``
scores it geometrically (``AlohaScene.stage``), not from contacts alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from gym_aloha.constants import ASSETS_DIR
from gym_aloha.utils import sample_box_pose, sample_insertion_pose

from failforward.errors import ConfigError, UnknownNameError
from failforward.sim.plug_strip_layout import OBJECTS as PLUG_STRIP_OBJECTS
from failforward.sim.plug_strip_layout import PlugStripLayout, check_split, sample_layout
from failforward.sim.plug_strip_scene import apply_layout, plug_strip_xml_path
from failforward.sim.plug_strip_status import FAILURE_REASONS as PLUG_STRIP_FAILURES
from failforward.sim.plug_strip_status import plug_strip_stage

ContactSet = frozenset[tuple[str, str]]
LEFT_FINGER = "vx300s_left/10_left_gripper_finger"
RIGHT_FINGER = "vx300s_right/10_right_gripper_finger"
SOCKET_WALLS = ("socket-1", "socket-2", "socket-3", "socket-4")


def _touch(contacts: ContactSet, a: str, b: str) -> bool:
    return (a, b) in contacts or (b, a) in contacts


def transfer_cube_stage(contacts: ContactSet) -> int:
    """0 nothing, 1 right touches, 2 right lifted, 3 left touches, 4 left holds it in the air."""
    right = _touch(contacts, "red_box", RIGHT_FINGER)
    left = _touch(contacts, "red_box", LEFT_FINGER)
    on_table = _touch(contacts, "red_box", "table")
    stage = 0
    if right:
        stage = 1
    if right and not on_table:
        stage = 2
    if left:
        stage = 3
    if left and not on_table:
        stage = 4
    return stage


def insertion_stage(contacts: ContactSet) -> int:
    """0 nothing, 1 both touched, 2 both lifted, 3 peg touches socket in the air, 4 peg touches the pin."""
    right = _touch(contacts, "red_peg", RIGHT_FINGER)
    left = any(_touch(contacts, w, LEFT_FINGER) for w in SOCKET_WALLS)
    peg_table = _touch(contacts, "red_peg", "table")
    socket_table = any(_touch(contacts, w, "table") for w in SOCKET_WALLS)
    peg_socket = any(_touch(contacts, "red_peg", w) for w in SOCKET_WALLS)
    stage = 0
    if left and right:
        stage = 1
    if left and right and not peg_table and not socket_table:
        stage = 2
    if peg_socket and not peg_table and not socket_table:
        stage = 3
    if _touch(contacts, "red_peg", "pin"):
        stage = 4
    return stage


def _insertion_poses(seed: int) -> np.ndarray:
    peg, socket = sample_insertion_pose(seed)
    return np.concatenate([peg, socket])


@dataclass(frozen=True)
class SimTaskSpec:
    """One task: its MJCF, free-joint objects (body names) and how to start and score it.

    ``sample_object_qpos(seed)`` returns ``[7 * n_objects]`` (xyz [m], quat wxyz) in the world frame.
    A task whose scene varies per seed has ``configure(model, seed) -> variant`` (applied to the ``mujoco.MjModel``
    at reset, before the poses) and ``variant_stage(variant, object_poses, contacts) -> stage``; ``xml_builder``
    writes a generated MJCF and returns its path (instead of ``xml_file`` in gym-aloha's assets).
    """

    name: str
    xml_file: str
    objects: tuple[str, ...]
    prompt: str
    sample_object_qpos: Callable[[int], np.ndarray]
    stage: Callable[[ContactSet], int]
    failure_reasons: tuple[str, ...]
    split: str = "seen"
    configure: Callable[[Any, int], Any] | None = None
    variant_stage: Callable[[Any, Mapping[str, np.ndarray], ContactSet], int] | None = None
    xml_builder: Callable[[], str] | None = None

    @property
    def xml_path(self) -> str:
        if self.xml_builder is not None:
            return self.xml_builder()
        return str(ASSETS_DIR / self.xml_file)


TASKS: dict[str, SimTaskSpec] = {
    "transfer_cube": SimTaskSpec(
        name="transfer_cube",
        xml_file="bimanual_viperx_transfer_cube.xml",
        objects=("box",),
        prompt="Pick up the red cube with the right arm and hand it over to the left arm.",
        sample_object_qpos=lambda seed: sample_box_pose(seed),
        stage=transfer_cube_stage,
        failure_reasons=(
            "right gripper never touched the cube",
            "right gripper touched but did not lift the cube",
            "cube lifted but never reached the left gripper",
            "left gripper touched the cube but did not hold it in the air",
        ),
    ),
    "insertion": SimTaskSpec(
        name="insertion",
        xml_file="bimanual_viperx_insertion.xml",
        objects=("peg", "socket"),
        prompt="Pick up the peg with the right arm and the socket with the left arm, then insert the peg.",
        sample_object_qpos=_insertion_poses,
        stage=insertion_stage,
        failure_reasons=(
            "grippers did not both reach peg and socket",
            "peg and socket grasped but not both lifted",
            "peg and socket lifted but never touched",
            "peg touched the socket but did not reach the pin",
        ),
    ),
}


def _needs_scene(contacts: ContactSet) -> int:
    raise ConfigError(
        "plug_strip is scored geometrically (plug in socket), not from contacts: call AlohaScene.stage() or "
        "SimAlohaDriver.privileged_state().stage instead of SimTaskSpec.stage(contacts)."
    )


def _configure_plug_strip(split: str) -> Callable[[Any, int], PlugStripLayout]:
    def configure(model: Any, seed: int) -> PlugStripLayout:
        layout = sample_layout(seed, split)
        apply_layout(model, layout)
        return layout

    return configure


@lru_cache(maxsize=8)
def plug_strip_task(split: str = "seen") -> SimTaskSpec:
    """The ``plug_strip`` task drawing its layouts from ``split`` (``PlugStripSplit``)."""
    check_split(split)
    return SimTaskSpec(
        name="plug_strip",
        xml_file="",
        objects=PLUG_STRIP_OBJECTS,
        prompt="Insert every plug into a socket of the power strip.",
        sample_object_qpos=lambda seed: sample_layout(seed, split).object_qpos(),
        stage=_needs_scene,
        failure_reasons=PLUG_STRIP_FAILURES,
        split=split,
        configure=_configure_plug_strip(split),
        variant_stage=plug_strip_stage,
        xml_builder=plug_strip_xml_path,
    )


SPLIT_TASKS: dict[str, Callable[[str], SimTaskSpec]] = {"plug_strip": plug_strip_task}


def get_task(name: str, split: str = "seen") -> SimTaskSpec:
    """The task ``name``; ``split`` picks the variations of a task that has them (``plug_strip``).

    Raises:
        UnknownNameError: ``name`` is not a task.
        ConfigError: ``split`` is not ``"seen"`` for a task without splits, or not a split of the task.
    """
    if name in SPLIT_TASKS:
        return SPLIT_TASKS[name](split)
    if split != "seen":
        raise ConfigError(f"Sim task {name!r} has no {split!r} split; only {', '.join(SPLIT_TASKS)} has splits.")
    try:
        return TASKS[name]
    except KeyError:
        raise UnknownNameError("sim task", name, [*TASKS, *SPLIT_TASKS]) from None
