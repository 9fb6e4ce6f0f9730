"""Low-level command text ↔ typed commands."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from failforward.supervisor.commands import Grasp, HoldStill, Move, Rotate, format_commands, parse_commands


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Move the right gripper to the right significantly and backward significantly, and rotate the right "
            "gripper clockwise.",
            (
                Move(gripper="right", direction="right", magnitude="significantly"),
                Move(gripper="right", direction="backward", magnitude="significantly"),
                Rotate(gripper="right", direction="clockwise"),
            ),
        ),
        ("Open the left gripper.", (Grasp(gripper="left", state="open"),)),
        ("Hold still.", (HoldStill(),)),
        ("Hold the left arm still until the human intervention is removed.", (HoldStill(gripper="left"),)),
        (
            "Move the left gripper to the right slightly and rotate it counter-clockwise.",
            (
                Move(gripper="left", direction="right", magnitude="slightly"),
                Rotate(gripper="left", direction="counter-clockwise"),
            ),
        ),
        (
            "Move the left gripper slightly forward, downward significantly, then close the left gripper.",
            (
                Move(gripper="left", direction="forward", magnitude="slightly"),
                Move(gripper="left", direction="downward", magnitude="significantly"),
                Grasp(gripper="left", state="close"),
            ),
        ),
        ("Keep the right gripper closed.", (Grasp(gripper="right", state="close"),)),
        (
            "Lower the left gripper significantly.",
            (Move(gripper="left", direction="downward", magnitude="significantly"),),
        ),
        (
            "Close the left gripper and lift it a little.",
            (Grasp(gripper="left", state="close"), Move(gripper="left", direction="upward", magnitude="slightly")),
        ),
        ("Rotate the right gripper counterclockwise.", (Rotate(gripper="right", direction="counter-clockwise"),)),
        ("The weather is nice.", ()),
        ("", ()),
    ],
)
def test_parse_commands(text: str, expected: tuple) -> None:
    assert parse_commands(text) == expected


def test_move_directions_map_to_the_head_camera_robot_frame() -> None:
    assert Move(gripper="left", direction="forward").unit_vector.tolist() == [1, 0, 0]
    assert Move(gripper="left", direction="left").unit_vector.tolist() == [0, 1, 0]
    assert Move(gripper="left", direction="right").unit_vector.tolist() == [0, -1, 0]
    assert Move(gripper="left", direction="downward").unit_vector.tolist() == [0, 0, -1]


_grippers = st.sampled_from(["left", "right"])
_commands = st.one_of(
    st.builds(
        Move,
        gripper=_grippers,
        direction=st.sampled_from(["upward", "downward", "left", "right", "forward", "backward"]),
        magnitude=st.sampled_from([None, "slightly", "significantly"]),
    ),
    st.builds(Rotate, gripper=_grippers, direction=st.sampled_from(["clockwise", "counter-clockwise"])),
    st.builds(Grasp, gripper=_grippers, state=st.sampled_from(["open", "close"])),
)


@given(st.lists(_commands, min_size=1, max_size=5).map(tuple))
def test_format_then_parse_round_trips(commands: tuple) -> None:
    assert parse_commands(format_commands(commands)) == commands


@given(st.text(max_size=300))
def test_parse_commands_never_raises(text: str) -> None:
    assert isinstance(parse_commands(text), tuple)
