"""Ctrl-C, SIGTERM and SIGKILL against ``failforward demo`` as a process (issue 14, item 3): an interrupted demo
finishes its episode file and report and exits 130 without a traceback; a killed one leaves a file that
``failforward record repair`` turns into one rosbags and the mcap library read."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcap.reader import make_reader
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore

DEMO = [
    "demo",
    "--preset",
    "sim_transfer_cube",
    "--episodes",
    "3",
    "--set",
    'robot={"kind": "fake", "cameras": ["top"], "image_height": 96, "image_width": 128}',
    "--set",
    'policy={"kind": "hold"}',
    "--set",
    "supervisor.enabled=false",
    "--set",
    "recovery.enabled=false",
    "--set",
    "loop.realtime=true",  # 50 Hz: the episode (100 000 ticks) is still running when the signal comes
    "--set",
    "loop.max_steps=100000",
    "--set",
    "record.chunk_kib=16",
]


def start_demo(output: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "failforward.cli.main", *DEMO, "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_file(process: subprocess.Popen, output: Path, min_bytes: int, timeout: float = 180.0) -> Path:
    """The demo's episode file once it holds ``min_bytes`` (complete chunks reached the disk)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        files = sorted(output.rglob("*.mcap"))
        if files and files[0].stat().st_size >= min_bytes:
            return files[0]
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"no episode file of {min_bytes} bytes within {timeout} s: {process.communicate()}")


def rosbags_messages(path: Path) -> int:
    with AnyReader([path], default_typestore=get_typestore(Stores.ROS2_KILTED)) as reader:
        return sum(1 for connection, _, raw in reader.messages() if reader.deserialize(raw, connection.msgtype))


def mcap_read(path: Path) -> tuple[int, dict[str, str]]:
    """Messages through the mcap library's indexed reader (needs summary and footer), and the episode metadata."""
    with path.open("rb") as stream:
        reader = make_reader(stream)
        count = sum(1 for _ in reader.iter_messages())
        metadata = {m.name: dict(m.metadata) for m in reader.iter_metadata()}
    return count, metadata.get("episode", {})


@pytest.mark.parametrize(
    "signals",
    [[signal.SIGINT], [signal.SIGTERM], [signal.SIGINT, signal.SIGINT]],
    ids=["SIGINT", "SIGTERM", "SIGINT-twice"],
)
def test_an_interrupted_demo_finishes_its_episode_and_report(tmp_path: Path, signals: list[signal.Signals]) -> None:
    """The second Ctrl-C lands while the first one's finishing runs: it must not cut the file or the report."""
    process = start_demo(tmp_path)
    path = wait_for_file(process, tmp_path, 1)
    time.sleep(1.0)  # some ticks into the episode
    for sig in signals:
        process.send_signal(sig)
        time.sleep(0.02)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stdout
    count, episode = mcap_read(path)
    assert count > 0 and rosbags_messages(path) == count
    assert episode["reason"] == "aborted: interrupted" and episode["success"] == "false"
    assert (path.parent / "report.md").is_file() and "aborted: interrupted" in (path.parent / "report.md").read_text()
    assert sorted(tmp_path.rglob("*.mcap")) == [path]  # no further episode started


def test_a_killed_demo_leaves_a_file_that_repair_makes_whole(tmp_path: Path) -> None:
    process = start_demo(tmp_path)
    path = wait_for_file(process, tmp_path, 80 * 1024)  # several 16 KiB chunks on disk
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    with pytest.raises(Exception, match="magic"):
        rosbags_messages(path)
    out = tmp_path / "repaired.mcap"
    repaired = subprocess.run(
        [sys.executable, "-m", "failforward.cli.main", "record", "repair", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert repaired.returncode == 0, repaired.stderr
    assert "repaired:" in repaired.stdout and "complete chunks" in repaired.stdout
    count, episode = mcap_read(out)
    assert count > 100 and rosbags_messages(out) == count
    assert episode["reason"] == "aborted: killed" and episode["repaired"] == "true"
