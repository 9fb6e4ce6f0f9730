"""``failforward export-lerobot``: recorded episodes → a LeRobot v3.0 dataset, failed episodes included.

Example:
    failforward export-lerobot --out datasets/insertion runs/20261201-211402-sim_insertion
    failforward export-lerobot --out datasets/cube --fps 25 --repo-id me/cube runs/a/*.mcap runs/b

Layout, columns (the outcome columns ``success``/``stage``/``reason`` per episode, ``next.success``/``next.done``
per frame) and how to load the dataset: docs/lerobot_export.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from failforward.errors import RecordingError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sources", nargs="+", type=Path, metavar="FILE_OR_DIR", help="episode .mcap files or directories"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="new dataset directory (never written into if it exists)"
    )
    parser.add_argument(
        "--fps", type=int, help="frames per second (default: the recording's control_hz; must divide it)"
    )
    parser.add_argument("--repo-id", help="the dataset's Hugging Face name (default failforward/<out name>)")
    parser.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    try:
        from failforward.record.lerobot import export_lerobot
    except ModuleNotFoundError as exc:
        raise RecordingError(
            f"export-lerobot needs {exc.name}: pip install 'failforward[lerobot]' (pyarrow), then run it again."
        ) from exc

    def tell(skipped: object) -> None:
        print(skipped, file=sys.stderr)

    result = export_lerobot(args.sources, args.out, fps=args.fps, repo_id=args.repo_id, on_skip=tell)
    print(result)
    print(f"load it: LeRobotDataset({result.repo_id!r}, root={str(result.out)!r})")
    return 0
