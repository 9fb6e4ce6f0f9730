"""Operator labels: a sidecar next to the recording (never the recording), listable, overriding other outcomes; bad
input gives a typed error that says how to fix it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from recorded_helpers import Spec, record

from failforward.cli.label import find_episode
from failforward.cli.main import main
from failforward.learn.labels import LabelError, label_path, list_labels, read_label, write_label
from failforward.record.reader import read_episode
from failforward.types import EpisodeOutcome


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_label_is_a_sidecar_and_the_recording_is_unchanged(tmp_path: Path) -> None:
    episode = record(tmp_path, Spec())
    before, mtime = _digest(episode), episode.stat().st_mtime_ns
    label = write_label(episode, success=False, operator="ana", note="cube slipped")
    assert _digest(episode) == before and episode.stat().st_mtime_ns == mtime
    assert label_path(episode).is_file() and label_path(episode).parent == episode.parent
    assert read_label(episode) == label
    assert label.episode_id == read_episode(episode, load_images=False).metadata["episode_id"]
    assert label.recording_bytes == episode.stat().st_size
    assert sorted(p.name for p in episode.parent.iterdir()) == [episode.name, label_path(episode).name]  # no temp


def test_relabel_replaces_the_label_only(tmp_path: Path) -> None:
    episode = record(tmp_path, Spec())
    before = _digest(episode)
    write_label(episode, success=False, operator="ana")
    write_label(episode, success=True, operator="bo", note="it was fine")
    label = read_label(episode)
    assert label is not None and label.success and label.operator == "bo" and label.note == "it was fine"
    assert _digest(episode) == before


def test_list_shows_labelled_and_unlabelled(tmp_path: Path) -> None:
    first, second = record(tmp_path, Spec(), seed=0), record(tmp_path, Spec(), seed=1)
    write_label(second, success=False, operator="ana")
    listed = dict(list_labels([tmp_path]))
    assert listed[first] is None
    assert listed[second] is not None and not listed[second].success


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.mcap", None, "failforward label list"),
        ("notes.txt", b"hello", "not an episode file"),
        ("garbage.mcap", b"not an mcap at all", "failforward record repair"),
    ],
)
def test_bad_episode_files_raise_with_a_fix(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(LabelError, match=message):
        write_label(path, success=True, operator="ana")
    assert not label_path(path).exists()


def test_operator_is_required(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match="--operator"):
        write_label(record(tmp_path, Spec()), success=True, operator="  ")


def test_malformed_label_file_says_how_to_replace_it(tmp_path: Path) -> None:
    episode = record(tmp_path, Spec())
    label_path(episode).write_text("{not json")
    with pytest.raises(LabelError, match="failforward label set"):
        read_label(episode)


def test_find_episode_by_stem_or_id_and_unknown_names(tmp_path: Path) -> None:
    episode = record(tmp_path, Spec(outcome=EpisodeOutcome(False, 1, "dropped")), seed=3)
    run = episode.parent
    assert find_episode(run, episode.stem) == episode
    episode_id = read_episode(episode, load_images=False).metadata["episode_id"]
    assert find_episode(run, episode_id) == episode
    with pytest.raises(LabelError, match="episode_0003_seed3"):
        find_episode(run, "episode_9999")
    with pytest.raises(LabelError, match="--episode"):
        find_episode(run, None)


def test_cli_sets_and_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    episode = record(tmp_path, Spec())
    assert main(["label", "set", str(episode), "failure", "--operator", "ana", "--note", "dropped"]) == 0
    label = read_label(episode)
    assert label is not None and not label.success and label.note == "dropped"
    assert main(["label", "list", str(tmp_path)]) == 0
    assert "failure by ana" in capsys.readouterr().out
    assert main(["label", "set", str(tmp_path / "nope.mcap"), "success", "--operator", "ana"]) == 2
