"""Fixtures for the hardware-driver tests: Dynamixel emulator processes, always stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("dynamixel_sdk", reason="install the hw extra: pip install -e '.[hw]'")

from failforward.robots.dynamixel.emulator import DynamixelEmulator, aloha_buses

FOLLOWERS = ("follower_left", "follower_right")


@pytest.fixture
def emulator() -> Iterator[DynamixelEmulator]:
    """A fresh two-follower emulator at 4 Mbps wire time (fast tests), stopped after the test."""
    with DynamixelEmulator(aloha_buses(4_000_000, FOLLOWERS)) as emu:
        yield emu


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[DynamixelEmulator]:
    """One emulator for a whole module (tests that do not inject faults)."""
    with DynamixelEmulator(aloha_buses(4_000_000, FOLLOWERS)) as emu:
        yield emu
