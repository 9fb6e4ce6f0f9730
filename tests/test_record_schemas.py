"""The message definitions the recorder writes without rosbags are exactly rosbags' Kilted ones."""

from __future__ import annotations

import pytest

from failforward.record import schemas

rosbags_typesys = pytest.importorskip("rosbags.typesys")


@pytest.mark.parametrize("typename", sorted(schemas.BUILTIN))
def test_builtin_definitions_match_rosbags(typename: str) -> None:
    store = rosbags_typesys.get_typestore(rosbags_typesys.Stores.ROS2_KILTED)
    text, _ = store.generate_msgdef(typename, ros_version=2)
    assert schemas.msgdef(typename) == text


def test_other_types_come_from_rosbags() -> None:
    text = schemas.msgdef("geometry_msgs/msg/Point")
    assert text == "float64 x\nfloat64 y\nfloat64 z\n"
