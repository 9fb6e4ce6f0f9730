"""``failforward record repair FILE [--out OUT]``: an episode file cut off by a crash → a valid MCAP file.

Example:
    failforward record repair runs/ros-record-20261201-211402/episode_0003.mcap
    failforward record repair cut.mcap --out fixed.mcap
"""

from __future__ import annotations

import argparse
from pathlib import Path

from failforward.record.repair import repair


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    fix = actions.add_parser(
        "repair",
        help="rewrite every complete chunk of a file cut off by a crash (SIGKILL) into a valid MCAP file",
        description="Rewrites the complete chunks (messages, schemas, channels, metadata) of an MCAP file whose "
        "writer was killed into a new file that rosbags, ros2 bag and Foxglove open. The original is not modified.",
    )
    fix.add_argument("file", type=Path, help="the cut-off .mcap file")
    fix.add_argument("--out", type=Path, help="where to write (default: <file>.repaired.mcap next to it)")
    fix.set_defaults(handler=run_repair)


def run_repair(args: argparse.Namespace) -> int:
    result = repair(args.file, args.out)
    if result.complete:
        state = "the file was complete; nothing was lost"
    else:
        state = f"the tail after them was incomplete and dropped ({result.stopped})"
    print(f"repaired: {result.path} ({result.messages} messages from {result.chunks} complete chunks; {state})")
    return 0
