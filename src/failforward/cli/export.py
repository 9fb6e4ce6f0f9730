"""``failforward export-vqa``: recorded sim episodes → ViFailback-style VQA pairs (JSONL + JPEG frames).

Example:
    failforward export-vqa runs/20261121-083941-sim_transfer_cube/*.mcap --out datasets/vqa

Each episode is replayed from its seed and its recorded commands; the privileged oracle labels the
queried windows (every 6 chunks, last 5 s at 1 fps), in the answer format ViFailback-8B was trained on.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("episodes", nargs="+", type=Path, help="episode .mcap files recorded in simulation")
    parser.add_argument("--out", type=Path, required=True, help="output directory (vqa.jsonl and frames)")
    parser.add_argument("--camera", default="top", help="head camera recorded in the episodes")
    parser.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    from failforward.learn.vqa_export import export_vqa  # replays in MuJoCo: imported only to export

    summary = export_vqa(args.episodes, args.out, camera=args.camera)
    print(summary)
    return 0
