"""The RGB-D estimator on synthetic frames: accuracy, symmetry, tracking, occlusion and every bad frame."""

from __future__ import annotations

import numpy as np
import pytest
from perc_helpers import CUBE, PEG, SOCKET, STRIP, Box, DownCamera, observation, render, yaw_of

from failforward.config.perception import RgbdPerceptionConfig
from failforward.errors import ConfigError
from failforward.perception import (
    FrameBlackError,
    FrameMissingError,
    FrameSizeError,
    FrameStaleError,
    ObjectNotFoundError,
)
from failforward.perception.in_hand import Tool
from failforward.perception.objects import ObjectModel
from failforward.perception.rgbd import RgbdPerception
from failforward.testing.perception_contract import ObjectPerceptionContract

CONFIG = RgbdPerceptionConfig(max_occlusion_s=0.5)
PLUG = (0.018, 0.012, 0.012)  # [m] the plug strip's plug head


def estimator(*models: ObjectModel, size: tuple[int, int] = (240, 320)) -> RgbdPerception:
    return RgbdPerception(models or (CUBE,), DownCamera(), CONFIG, size)


def angle_error(yaw: float, truth: float, period: float) -> float:
    """|yaw − truth| [deg] modulo the footprint's symmetry period [rad]."""
    return float(np.degrees(abs((yaw - truth + period / 2) % period - period / 2)))


class TestRgbdContract(ObjectPerceptionContract):
    def make_perception(self):
        return estimator(PEG, SOCKET)

    def make_observation(self):
        return observation([Box(PEG, (0.15, 0.5, 0.01), 0.1), Box(SOCKET, (-0.15, 0.55, 0.022), -0.2)])

    def make_unusable_observation(self):
        return observation([Box(PEG, (0.15, 0.5, 0.01))])  # the socket is not on the table


CUBE_POSES = [((0.1, 0.5, 0.02), 0.0), ((-0.05, 0.62, 0.02), 0.35), ((0.2, 0.45, 0.1), -0.6), ((0.0, 0.5, 0.02), 0.2)]


@pytest.mark.parametrize(("xyz", "yaw"), CUBE_POSES)
def test_cube_position_within_3_mm_at_240x320_and_yaw_within_4_degrees_at_480x640(xyz, yaw):
    state = estimator().estimate(observation([Box(CUBE, xyz, yaw)]))
    assert np.linalg.norm(state[:3] - xyz) < 3e-3
    np.testing.assert_allclose(state[4:6], 0.0)  # level: no roll or pitch
    # the 4 cm cube spans about 8 x 8 px at 240x320, too few for its yaw unless it is square to the pixels
    assert angle_error(yaw_of(state), yaw, CUBE.yaw_period) < (0.5 if yaw == 0.0 else 25.0)
    large = estimator(size=(480, 640)).estimate(observation([Box(CUBE, xyz, yaw)], size=(480, 640)))
    assert np.linalg.norm(large[:3] - xyz) < 2e-3
    assert angle_error(yaw_of(large), yaw, CUBE.yaw_period) < 4.0


def test_peg_and_socket_in_task_order_with_their_long_axis_as_x():
    peg, socket = Box(PEG, (0.12, 0.5, 0.01), 1.2), Box(SOCKET, (-0.14, 0.58, 0.022), -0.3)
    state = estimator(PEG, SOCKET).estimate(observation([peg, socket]))
    for k, box in enumerate((peg, socket)):
        pose = state[7 * k : 7 * k + 7]
        assert np.linalg.norm(pose[:3] - box.xyz) < 3e-3
        assert angle_error(yaw_of(pose), box.yaw, np.pi) < 1.0  # π, not π/2: the long side is found


def test_at_the_first_frame_the_symmetric_yaw_closest_to_zero_is_chosen():
    big = (480, 640)
    state = estimator(size=big).estimate(observation([Box(CUBE, (0.1, 0.5, 0.02), np.deg2rad(70.0))], size=big))
    assert abs(np.degrees(yaw_of(state)) - (-20.0)) < 4.0  # 70° ≡ −20° for a cube; the scenes start at 0


def test_yaw_is_tracked_across_the_symmetry_while_the_peg_turns():
    perception = estimator(PEG)
    for step, degrees in enumerate(range(0, 181, 15)):
        state = perception.estimate(observation([Box(PEG, (0.1, 0.5, 0.01), np.deg2rad(degrees))], t=0.02 * step))
    assert abs(np.degrees(yaw_of(state)) % 360 - 180.0) < 1.0  # followed to 180°, not wrapped back to 0°


def test_an_occluded_object_keeps_its_last_pose_then_is_not_found():
    perception, cube = estimator(), Box(CUBE, (0.1, 0.5, 0.02))
    seen = perception.estimate(observation([cube], t=0.0))
    np.testing.assert_array_equal(perception.estimate(observation([], t=0.4)), seen)
    assert perception.health() == {"occluded_box": 1.0, "partial_box": 0.0, "carried_box": 0.0}
    with pytest.raises(ObjectNotFoundError, match=r"out of view .* for 0.60 s"):
        perception.estimate(observation([], t=0.6))


def test_an_object_never_seen_is_not_found_at_once():
    with pytest.raises(ObjectNotFoundError, match="was not seen this episode"):
        estimator().estimate(observation([]))


def test_an_object_first_seen_in_part_is_placed_at_what_shows_and_its_yaw_read_once_whole():
    perception = estimator(PEG)
    sliver = Box(ObjectModel("peg", 0.0, (0.006, 0.01, 0.01), np.pi), (0.154, 0.5, 0.01))  # one end, 2 px wide
    first = perception.estimate(observation([sliver], t=0.0))
    assert np.linalg.norm(first[:3] - sliver.xyz) < 5e-3
    whole = Box(PEG, (0.1, 0.5, 0.01), 1.0)
    state = perception.estimate(observation([whole], t=0.02))
    assert np.linalg.norm(state[:3] - whole.xyz) < 3e-3 and angle_error(yaw_of(state), 1.0, np.pi) < 2.0


def test_a_sliver_of_the_object_counts_as_occluded_not_as_a_pose():
    perception, cube = estimator(), Box(CUBE, (0.1, 0.5, 0.02))
    seen = perception.estimate(observation([cube]))
    sliver = Box(ObjectModel("box", 0.0, (0.02, 0.003, 0.02), np.pi / 2), (0.1, 0.517, 0.02))  # 15 % of the face
    np.testing.assert_array_equal(perception.estimate(observation([sliver], t=0.02)), seen)


def test_reset_forgets_the_track():
    perception = estimator()
    perception.estimate(observation([Box(CUBE, (0.1, 0.5, 0.02))]))
    perception.reset()
    with pytest.raises(ObjectNotFoundError, match="not seen this episode"):
        perception.estimate(observation([], t=0.02))


def _frame(**changes):
    return observation([Box(CUBE, (0.1, 0.5, 0.02))], t=1.0, **changes)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"images": {}}, FrameMissingError, "No colour frame of camera 'top'"),
        ({"depth": {}}, FrameMissingError, "No depth frame of camera 'top'"),
        ({"images": {"left_wrist": render([])[0]}}, FrameMissingError, "robot.cameras and robot.depth_cameras"),
        ({"frame_times": {"top": 0.7}}, FrameStaleError, "0.300 s older than the observation"),
        ({"images": {"top": np.full((240, 320, 3), 8, np.uint8)}}, FrameBlackError, "brightest pixel 8 of 255"),
        ({"images": {"top": np.zeros((120, 160, 3), np.uint8)}}, FrameSizeError, "colour frame is 160x120 px"),
        ({"depth": {"top": np.ones((240, 300), np.float32)}}, FrameSizeError, "depth frame is 300x240 px"),
    ],
    ids=["no colour", "no depth", "other camera", "stale", "black", "colour size", "depth size"],
)
def test_a_bad_frame_raises_its_typed_error(changes, error, message):
    perception = estimator()
    perception.estimate(_frame())  # seen before: a bad frame is refused, not bridged like an occlusion
    with pytest.raises(error, match=message):
        perception.estimate(_frame(**changes))


def test_a_recent_enough_frame_and_a_dim_one_are_used():
    perception = estimator()
    rgb = render([Box(CUBE, (0.1, 0.5, 0.02))])[0]
    dim = (rgb // 8).astype(np.uint8)  # brightest pixel 28: a dark scene, not a dead camera
    assert perception.estimate(_frame(frame_times={"top": 0.95})).shape == (7,)
    with pytest.raises(ObjectNotFoundError):  # too dark for the hue: not in view, never seen
        estimator().estimate(_frame(images={"top": dim}))


def test_the_two_ends_of_a_peg_held_in_its_middle_are_one_object():
    end = ObjectModel("peg", 0.0, (0.02, 0.01, 0.01), np.pi)  # 4 cm of each end show; 4 cm hidden between
    ends = [Box(end, (0.14, 0.5, 0.01)), Box(end, (0.06, 0.5, 0.01))]
    perception = estimator(PEG)
    state = perception.estimate(observation(ends))
    assert np.linalg.norm(state[:3] - (0.1, 0.5, 0.01)) < 3e-3  # the centre is hidden, yet found
    assert perception.health()["partial_peg"] == 0.0  # both ends span the whole footprint


class OneGripper:
    """A right gripper whose tool point and opening a test sets (``Grippers``)."""

    def __init__(self) -> None:
        self.xyz, self.opening = np.array([0.1, 0.5, 0.03]), 1.0

    def __call__(self, joints: np.ndarray) -> dict[str, Tool]:
        pose = np.eye(4)
        pose[:3, 3] = self.xyz
        return {"right": Tool(pose, self.opening)}


def test_a_hidden_object_in_a_closed_gripper_moves_with_it_until_the_gripper_opens():
    gripper = OneGripper()
    perception = RgbdPerception((CUBE,), DownCamera(), CONFIG, (240, 320), gripper)
    perception.estimate(observation([Box(CUBE, (0.1, 0.5, 0.02))], t=0.0))
    np.testing.assert_allclose(perception.estimate(observation([], t=0.1))[:3], (0.1, 0.5, 0.02), atol=3e-3)  # open
    gripper.opening = 0.6  # closes over the cube, then lifts it for longer than max_occlusion_s (0.5 s)
    perception.estimate(observation([], t=0.2))
    gripper.xyz = gripper.xyz + (0.0, 0.05, 0.1)
    np.testing.assert_allclose(perception.estimate(observation([], t=1.0))[:3], (0.1, 0.55, 0.12), atol=3e-3)
    assert perception.health()["carried_box"] == 2.0
    gripper.opening = 0.9  # let go while hidden: it stays where it was let go
    np.testing.assert_allclose(perception.estimate(observation([], t=1.02))[:3], (0.1, 0.55, 0.12), atol=3e-3)
    gripper.xyz = np.array([0.4, 0.3, 0.2])  # the gripper leaves and the object is still not in view
    perception.estimate(observation([], t=1.04))
    with pytest.raises(ObjectNotFoundError, match="out of view"):
        perception.estimate(observation([], t=1.6))


def test_an_object_under_a_gripper_keeps_its_pose_until_the_gripper_has_left_for_max_occlusion_s():
    gripper = OneGripper()
    gripper.xyz = np.array([0.4, 0.3, 0.2])
    perception = RgbdPerception((CUBE,), DownCamera(), CONFIG, (240, 320), gripper)
    seen = perception.estimate(observation([Box(CUBE, (0.1, 0.5, 0.02))], t=0.0))
    gripper.xyz = np.array([0.12, 0.5, 0.1])  # parked over it, open (the arm inserting next to it)
    for t in (0.1, 0.6, 1.2):
        np.testing.assert_array_equal(perception.estimate(observation([], t=t)), seen)
    gripper.xyz = np.array([0.4, 0.3, 0.2])
    np.testing.assert_array_equal(perception.estimate(observation([], t=1.5)), seen)
    with pytest.raises(ObjectNotFoundError, match=r"no gripper over it, for 0\.60 s"):
        perception.estimate(observation([], t=1.8))


def test_a_gripper_at_the_object_when_it_was_last_seen_may_carry_it():
    gripper = OneGripper()
    gripper.opening = 0.85  # open at it while the cube still shows; closed by the time it is hidden
    perception = RgbdPerception((CUBE,), DownCamera(), CONFIG, (240, 320), gripper)
    perception.estimate(observation([Box(CUBE, (0.1, 0.5, 0.02))], t=0.0))
    gripper.opening = 0.5  # closed on it, hiding it
    perception.estimate(observation([], t=0.05))
    gripper.xyz = gripper.xyz + (0.0, 0.0, 0.1)
    np.testing.assert_allclose(perception.estimate(observation([], t=0.1))[:3], (0.1, 0.5, 0.12), atol=3e-3)


def test_a_closed_gripper_passing_over_a_hidden_object_does_not_pick_it_up():
    gripper = OneGripper()
    gripper.xyz, gripper.opening = np.array([0.3, 0.5, 0.05]), 0.4  # holding something else, away from the cube
    perception = RgbdPerception((CUBE,), DownCamera(), CONFIG, (240, 320), gripper)
    perception.estimate(observation([Box(CUBE, (0.1, 0.5, 0.02))], t=0.0))
    gripper.xyz = np.array([0.1, 0.5, 0.03])  # now over it, still closed, hiding it
    perception.estimate(observation([], t=0.1))
    gripper.xyz = gripper.xyz + (0.0, 0.05, 0.1)
    np.testing.assert_allclose(perception.estimate(observation([], t=0.2))[:3], (0.1, 0.5, 0.02), atol=3e-3)
    assert perception.health()["carried_box"] == 0.0


def test_a_gripper_holding_an_object_in_view_does_not_also_take_a_hidden_one():
    gripper = OneGripper()
    perception = RgbdPerception((CUBE, SOCKET), DownCamera(), CONFIG, (240, 320), gripper)
    gripper.xyz = np.array([0.4, 0.3, 0.2])
    cube, socket = Box(CUBE, (0.09, 0.515, 0.02)), Box(SOCKET, (0.06, 0.47, 0.022))
    perception.estimate(observation([cube, socket], t=0.0))
    gripper.xyz = np.array([0.075, 0.49, 0.045])  # open over both: its fingers hide the cube, the socket shows
    perception.estimate(observation([socket], t=0.05))
    gripper.opening = 0.4  # closes on the socket
    perception.estimate(observation([socket], t=0.1))
    gripper.xyz = np.array([0.075, 0.49, 0.145])  # lifts the socket; the cube stays on the table, still hidden
    state = perception.estimate(observation([Box(SOCKET, (0.06, 0.47, 0.122))], t=0.15))
    np.testing.assert_allclose(state[:3], cube.xyz, atol=3e-3)


def test_a_gripper_that_starts_to_open_lets_go():
    gripper = OneGripper()
    perception = RgbdPerception((CUBE,), DownCamera(), CONFIG, (240, 320), gripper)
    perception.estimate(observation([Box(CUBE, (0.1, 0.5, 0.02))], t=0.0))
    perception.estimate(observation([], t=0.05))  # hidden under the open gripper
    gripper.opening = 0.4  # closes on it: carried down into a socket
    gripper.xyz = gripper.xyz + (0.0, 0.0, -0.01)
    down = perception.estimate(observation([], t=0.1))[:3]
    gripper.opening = 0.55  # opening (still below grasp_max_opening 0.8): the cube stays, the gripper retreats
    np.testing.assert_allclose(perception.estimate(observation([], t=0.15))[:3], down, atol=1e-9)
    for t in (0.2, 0.25):  # still opening as it rises: it does not take hold again
        gripper.opening, gripper.xyz = gripper.opening + 0.05, gripper.xyz + (0.0, 0.0, 0.015)
        np.testing.assert_allclose(perception.estimate(observation([], t=t))[:3], down, atol=1e-9)


def test_a_tracked_object_is_its_blob_near_where_it_was():
    perception, cube = estimator(), Box(CUBE, (0.1, 0.5, 0.02))
    perception.estimate(observation([cube], t=0.0))
    bigger = Box(ObjectModel("box", 0.0, (0.022, 0.022, 0.02), np.pi / 2), (-0.15, 0.6, 0.02))  # red, elsewhere
    state = perception.estimate(observation([cube, bigger], t=0.02))
    np.testing.assert_allclose(state[:3], cube.xyz, atol=3e-3)


def test_a_white_object_is_found_by_its_brightness_and_a_view_larger_than_it_is_not_used():
    perception, strip = estimator(STRIP), Box(STRIP, (0.05, 0.6, 0.0), 0.15)
    state = perception.estimate(observation([strip], t=0.0))
    assert np.linalg.norm(state[:3] - strip.xyz) < 3e-3 and angle_error(yaw_of(state), 0.15, np.pi) < 2.0
    prong = Box(ObjectModel("prong", 60.0, (0.007, 0.007, 0.01), np.pi / 2, achromatic=True), (0.05, 0.53, 0.0))
    moved = Box(STRIP, (0.06, 0.61, 0.0), 0.15)  # with a white prong lying beside it, within its length
    state = perception.estimate(observation([moved, prong], t=0.02))
    assert np.linalg.norm(state[:3] - moved.xyz) < 3e-3


def test_hues_closer_than_twice_the_tolerance_split_the_distance():
    orange, yellow = ObjectModel("strip", 28.0, (0.07, 0.03, 0.03), np.pi), ObjectModel("plug", 45.0, PLUG, np.pi)
    strip, plug = Box(orange, (0.0, 0.6, 0.0)), Box(yellow, (0.04, 0.6, 0.042))  # the plug in the strip's end socket
    state = estimator(orange, yellow).estimate(observation([strip, plug]))
    assert np.linalg.norm(state[:3] - strip.xyz) < 3e-3 and np.linalg.norm(state[7:10] - plug.xyz) < 3e-3


def test_a_gripper_near_an_object_keeps_its_yaw():
    gripper = OneGripper()
    gripper.xyz = np.array([0.4, 0.3, 0.2])
    perception = RgbdPerception((PEG,), DownCamera(), CONFIG, (240, 320), gripper)
    perception.estimate(observation([Box(PEG, (0.1, 0.5, 0.01), 0.3)], t=0.0))
    gripper.xyz = np.array([0.15, 0.5, 0.05])  # over one end: what shows of the peg reads turned
    state = perception.estimate(observation([Box(PEG, (0.1, 0.5, 0.01), 0.0)], t=0.04))
    assert angle_error(yaw_of(state), 0.3, np.pi) < 1.0


def test_an_absent_object_reads_as_where_the_scene_keeps_it_and_models_change_per_episode():
    parked = (0.0, 1.6, -0.5, 1.0, 0.0, 0.0, 0.0)
    absent = ObjectModel("socket", 240.0, SOCKET.half_extents, np.pi, absent_state=parked)
    episodes = {1: (PEG, absent), 2: (PEG, SOCKET)}
    perception = RgbdPerception((PEG, SOCKET), DownCamera(), CONFIG, (240, 320), models_for=episodes.__getitem__)
    perception.reset(1)
    state = perception.estimate(observation([Box(PEG, (0.1, 0.5, 0.01))]))
    np.testing.assert_array_equal(state[7:], parked)
    perception.reset(2)
    with pytest.raises(ObjectNotFoundError, match="'socket'"):
        perception.estimate(observation([Box(PEG, (0.1, 0.5, 0.01))]))
    perception.models_for = {3: (SOCKET, PEG)}.__getitem__
    with pytest.raises(ConfigError, match="task's order"):
        perception.reset(3)
