"""failforward command line.

Example:
    failforward demo                                   # both simulated ALOHA tasks, 3 episodes each
    failforward demo --preset sim_insertion --episodes 10 --set loop.realtime=true
    failforward presets                                # list presets
    failforward learn round --run-dir runs/learn/tc    # AFIL: collect, train, correct, evaluate
    failforward export-vqa runs/<run>/*.mcap --out datasets/vqa
    failforward export-lerobot --out datasets/insertion runs/<run>  # LeRobot v3.0 dataset, failures included
    failforward label set runs/<run>/episode_0002_seed2.mcap failure --note "dropped"  # operator label
    failforward record repair runs/<run>/episode_0003.mcap          # a file cut off by a crash → a valid file
    failforward serve --model models/afil_aloha_transfer_cube       # policy server (ZeroMQ, loopback)
    failforward keys --out keys --clients robot1 robot2             # CURVE keys for a server beyond loopback

Subcommand modules are imported lazily: only the chosen one, when its arguments are added, so ``--help``
and the hardware presets need no simulator or training extras (MuJoCo, torch, ManiSkill).
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable

from failforward.errors import FailforwardError


def _demo(parser: argparse.ArgumentParser) -> None:
    from failforward.cli import demo

    demo.add_arguments(parser)
    parser.set_defaults(handler=demo.run_demo)


def _presets(parser: argparse.ArgumentParser) -> None:
    from failforward.cli import demo

    parser.set_defaults(handler=lambda args: demo.list_presets())


def _learn(parser: argparse.ArgumentParser) -> None:
    from failforward.cli import learn

    learn.add_arguments(parser)
    parser.set_defaults(handler=learn.run_learn)


def _export_vqa(parser: argparse.ArgumentParser) -> None:
    from failforward.cli import export

    export.add_arguments(parser)  # sets its handler


def _export_lerobot(parser: argparse.ArgumentParser) -> None:
    from failforward.cli import lerobot

    lerobot.add_arguments(parser)  # sets its handler


def _label(parser: argparse.ArgumentParser) -> None:
    from failforward.cli import label

    label.add_arguments(parser)  # sets its handler


def _record(parser: argparse.ArgumentParser) -> None:
    from failforward.cli import record

    record.add_arguments(parser)  # sets its handler


def _serve(parser: argparse.ArgumentParser) -> None:
    from failforward.cli import serve

    serve.add_serve_arguments(parser)  # sets its handler


def _keys(parser: argparse.ArgumentParser) -> None:
    from failforward.cli import serve

    serve.add_keys_arguments(parser)  # sets its handler


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "demo": ("run episodes on the simulated ALOHA and report", _demo),
    "presets": ("list the named config presets", _presets),
    "learn": ("learn from failure: collect, train, correct, evaluate", _learn),
    "export-vqa": ("recorded sim episodes → ViFailback VQA pairs", _export_vqa),
    "export-lerobot": ("recorded episodes → a LeRobot v3.0 dataset, failures included", _export_lerobot),
    "label": ("an operator's success/failure label for a recorded episode (a sidecar file)", _label),
    "record": ("episode files: repair one cut off by a crash (failforward record repair FILE)", _record),
    "serve": ("serve a policy to robots over ZeroMQ (loopback; CURVE keys beyond it)", _serve),
    "keys": ("make CURVE keypairs for a policy server and its robots", _keys),
}
"""Subcommand → (help, adds its arguments and handler; imports its module)."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every subcommand by name and help; only ``command``'s module is imported, to add its arguments."""
    parser = argparse.ArgumentParser(prog="failforward", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--debug", action="store_true", help="debug logging and full tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text)
        if name == command:
            configure(sub)
    return parser


def chosen_command(argv: list[str]) -> str | None:
    """The subcommand in ``argv``: its first word that is not an option (the top level's options take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    """Run the command; exit status 0, 2 on a failforward error, 130 on Ctrl-C (one line, never a traceback)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C outside a command's own handling (imports, setup): nothing was being written
        print("interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(chosen_command(argv)).parse_args(argv)
    debug = args.debug
    logging.basicConfig(
        level=logging.DEBUG if args.verbose or debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.handler(args)
    except FailforwardError as exc:  # its message says what to do: a traceback only when asked for
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug of ours or a library's: one line, the traceback with --debug
        if debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
