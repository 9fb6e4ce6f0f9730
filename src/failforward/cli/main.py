"""failforward command line.

Example:
    failforward demo                                   # both simulated ALOHA tasks, 3 episodes each
    failforward demo --preset sim_insertion --episodes 10 --set loop.realtime=true
    failforward presets                                # list presets
"""

from __future__ import annotations

import argparse
import logging
import sys

from failforward.cli import demo, learn
from failforward.errors import FailforwardError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="failforward", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    demo.add_arguments(commands.add_parser("demo", help="run episodes on the simulated ALOHA and report"))
    commands.add_parser("presets", help="list the named config presets")
    learn.add_arguments(commands.add_parser("learn", help="learn from failure: collect, train, correct, evaluate"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "presets":
            return demo.list_presets()
        if args.command == "learn":
            return learn.run_learn(args)
        return demo.run_demo(args)
    except FailforwardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
