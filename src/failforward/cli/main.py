"""failforward command line.

Example:
    failforward demo                                   # both simulated ALOHA tasks, 3 episodes each
    failforward demo --preset sim_insertion --episodes 10 --set loop.realtime=true
    failforward presets                                # list presets
    failforward learn round --run-dir runs/learn/tc    # AFIL: collect, train, correct, evaluate
    failforward export-vqa runs/<run>/*.mcap --out datasets/vqa
"""

from __future__ import annotations

import argparse
import logging
import sys

from failforward.cli import demo, export, learn
from failforward.errors import FailforwardError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="failforward", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="run episodes on the simulated ALOHA and report")
    demo.add_arguments(demo_parser)
    demo_parser.set_defaults(handler=demo.run_demo)
    commands.add_parser("presets", help="list the named config presets").set_defaults(
        handler=lambda args: demo.list_presets())
    learn_parser = commands.add_parser("learn", help="learn from failure: collect, train, correct, evaluate")
    learn.add_arguments(learn_parser)
    learn_parser.set_defaults(handler=learn.run_learn)
    export.add_arguments(commands.add_parser("export-vqa", help="recorded sim episodes → ViFailback VQA pairs"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args)
    except FailforwardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
