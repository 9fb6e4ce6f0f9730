"""Recorded episodes as training data: the outcome precedence (label, simulator, supervisor), corrected successes
training from their correction, episodes without an outcome skipped and counted, and training on the MCAPs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from recorded_helpers import Spec, record

from failforward.errors import RecordingError
from failforward.learn.labels import write_label
from failforward.learn.outcomes import Resolved, Unresolved, resolve
from failforward.learn.recorded import load_selection, select_recorded
from failforward.record.reader import read_episode
from failforward.types import EpisodeOutcome

FAILED = EpisodeOutcome(False, 2, "cube lifted but never reached the left gripper")
NO_JUDGE = EpisodeOutcome(False, 0, "ended after max_steps; this driver has no success judge")
INTERRUPTED = EpisodeOutcome(False, 2, "aborted: interrupted")
# the supervisor flags a failure at tick 6, the recovery machine corrects from tick 8 to 14, then all is well
RESCUED = ((3, True), (6, False), (16, True))
CORRECTION = ((6, "diagnosed"), (8, "planned"), (14, "completed"))


def _resolve(tmp_path: Path, spec: Spec, label: bool | None = None) -> Resolved | Unresolved:
    path = record(tmp_path, spec)
    if label is not None:
        write_label(path, success=label, operator="ana")
    from failforward.learn.labels import read_label

    return resolve(read_episode(path, load_images=False), read_label(path))


@pytest.mark.parametrize(
    ("spec", "label", "expected"),
    [
        (Spec(), None, Resolved(True, "simulator")),
        (Spec(outcome=FAILED), None, Resolved(False, "simulator")),
        (Spec(outcome=FAILED), True, Resolved(True, "label")),  # the label overrides the simulator
        (Spec(), False, Resolved(False, "label")),
        (Spec(outcome=FAILED, answers=((5, True),)), True, Resolved(True, "label")),
        # no judge (hardware clock, aborted): the supervisor decides
        (
            Spec(outcome=NO_JUDGE, clock="monotonic", answers=((5, True), (10, False))),
            None,
            Resolved(False, "supervisor"),
        ),
        (Spec(outcome=INTERRUPTED, answers=((5, True),)), None, Resolved(True, "supervisor")),
        (
            Spec(outcome=NO_JUDGE, clock="monotonic", answers=RESCUED, events=CORRECTION),
            None,
            Resolved(True, "supervisor", start=8, corrected=True),
        ),
        # a failure flagged, a correction that never finished, then a success answer: not a rescue
        (
            Spec(outcome=NO_JUDGE, clock="monotonic", answers=RESCUED, events=((8, "planned"), (12, "timeout"))),
            None,
            Resolved(False, "supervisor"),
        ),
        # the simulator's success after a correction also trains from the correction on
        (Spec(answers=RESCUED, events=CORRECTION), None, Resolved(True, "simulator", start=8, corrected=True)),
        (Spec(outcome=FAILED, answers=RESCUED, events=CORRECTION), None, Resolved(False, "simulator")),
    ],
)
def test_outcome_precedence(tmp_path: Path, spec: Spec, label: bool | None, expected: Resolved) -> None:
    assert _resolve(tmp_path, spec, label) == expected


@pytest.mark.parametrize(
    "spec",
    [
        Spec(outcome=NO_JUDGE, clock="monotonic"),  # hardware, no supervisor answer, no label
        Spec(outcome=INTERRUPTED),
        Spec(outcome=None, answers=()),  # cut off by a crash
    ],
)
def test_no_outcome_is_never_guessed(tmp_path: Path, spec: Spec) -> None:
    assert isinstance(_resolve(tmp_path, spec), Unresolved)


def test_a_cut_off_file_trains_once_labelled(tmp_path: Path) -> None:
    assert _resolve(tmp_path, Spec(outcome=None), label=False) == Resolved(False, "label")


def test_selection_counts_and_loads_slices(tmp_path: Path) -> None:
    plain = record(tmp_path, Spec(ticks=20), seed=0)
    record(tmp_path, Spec(ticks=20, outcome=FAILED), seed=1)
    record(tmp_path, Spec(ticks=20, answers=RESCUED, events=CORRECTION), seed=2)
    record(tmp_path, Spec(ticks=20, outcome=NO_JUDGE, clock="monotonic"), seed=3)  # skipped
    labelled = record(tmp_path, Spec(ticks=20, outcome=INTERRUPTED), seed=4)
    write_label(labelled, success=False, operator="ana")
    (tmp_path / "run" / "broken.mcap").write_bytes(b"\x89MCAP0\r\n garbage")
    selection = select_recorded([tmp_path])
    counts = selection.counts()
    assert counts["successes"] == 2 and counts["failures"] == 2 and counts["corrected"] == 1
    assert counts["skipped"] == 2 and counts["failure_label"] == 1 and counts["success_simulator"] == 2
    reasons = dict(selection.skipped)
    assert reasons[tmp_path / "run" / "broken.mcap"].startswith("no ticks recorded")  # the reader stops at the garbage
    assert "no label and no supervisor answer" in reasons[tmp_path / "run" / "episode_0003_seed3.mcap"]
    episodes = {c.path.name: e for c, e in zip(selection.chosen, load_selection(selection), strict=True)}
    assert [e.length for e in episodes.values()] == [20, 20, 12, 20]  # the corrected one from its tick 8
    corrected = episodes["episode_0002_seed2.mcap"]
    np.testing.assert_allclose(corrected.joint_positions[0], np.full(3, 0.08))
    assert corrected.success and not episodes["episode_0004_seed4.mcap"].success
    np.testing.assert_allclose(episodes[plain.name].actions, read_episode(plain, load_images=False).sent_actions)


def test_no_recordings_is_an_error_that_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="record some"):
        select_recorded([tmp_path])
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(RecordingError, match=r"neither a directory nor an \.mcap"):
        select_recorded([tmp_path / "x.txt"])
