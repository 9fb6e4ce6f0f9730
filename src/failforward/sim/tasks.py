"""The two gym-aloha tasks: scene file, initial object poses and the reward stages.

Reward stages follow gym-aloha's ``TransferCubeTask``/``InsertionTask.get_reward`` exactly
(``tests/test_sim_aloha.py`` checks parity against gym-aloha itself); stage 4 is success.
Initial poses come from gym-aloha's own samplers, so seed ``s`` here is seed ``s`` there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from gym_aloha.constants import ASSETS_DIR
from gym_aloha.utils import sample_box_pose, sample_insertion_pose

from failforward.errors import UnknownNameError

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
    """

    name: str
    xml_file: str
    objects: tuple[str, ...]
    prompt: str
    sample_object_qpos: Callable[[int], np.ndarray]
    stage: Callable[[ContactSet], int]
    failure_reasons: tuple[str, ...]

    @property
    def xml_path(self) -> str:
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


def get_task(name: str) -> SimTaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise UnknownNameError("sim task", name, TASKS) from None
