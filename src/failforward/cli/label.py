"""``failforward label``: an operator's outcome for a recorded episode, in a sidecar file (the recording is only read).

Example:
    failforward label set runs/20261202-030750-sim_transfer_cube_afil/episode_0002_seed2.mcap failure \\
        --note "cube slipped during the handover" --operator ana
    failforward label list runs/20261202-030750-sim_transfer_cube_afil
    failforward label set runs/<run> success --episode episode_0001_seed1   # by name (or episode_id) in a run

``failforward learn recorded`` and ``failforward learn flywheel`` read the labels: a label overrides the simulator's
outcome and the supervisor's verdict (``failforward.learn.outcomes``).
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from failforward.learn.labels import LabelError, label_path, list_labels, write_label


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="label_command", required=True)
    put = sub.add_parser("set", help="label an episode success or failure (replaces an earlier label)")
    put.add_argument("episode", type=Path, help="episode .mcap file, or a run directory with --episode")
    put.add_argument("outcome", choices=("success", "failure"))
    put.add_argument("--episode", dest="name", help="in a run directory: a file name (stem) or episode_id")
    put.add_argument("--note", default="", help="why (free text)")
    put.add_argument("--operator", default=None, help="who labels (default: the login name)")
    show = sub.add_parser("list", help="list episodes under files or directories with their labels")
    show.add_argument("sources", type=Path, nargs="+")
    parser.set_defaults(handler=run_label)


def run_label(args: argparse.Namespace) -> int:
    if args.label_command == "list":
        for path, label in list_labels(args.sources):
            text = "unlabelled" if label is None else f"{label.outcome} by {label.operator} at {label.labelled_at}"
            print(f"{path}: {text}{f' ({label.note})' if label and label.note else ''}")
        return 0
    episode = find_episode(args.episode, args.name)
    operator = args.operator if args.operator is not None else _login_name()
    label = write_label(episode, success=args.outcome == "success", operator=operator, note=args.note)
    print(f"{episode}: labelled {label.outcome} by {label.operator} (in {label_path(episode)})")
    return 0


def _login_name() -> str:
    """The login name (the default operator); ``LabelError`` asking for ``--operator`` where there is none."""
    try:
        return getpass.getuser()
    except (KeyError, OSError) as exc:
        raise LabelError("No login name to record as the operator here: pass --operator <name>.") from exc


def find_episode(path: Path, name: str | None) -> Path:
    """``path`` itself, or in the run directory ``path`` the episode whose file stem or ``episode_id`` is ``name``."""
    if name is None:
        if path.is_dir():
            raise LabelError(f"{path} is a directory: pass --episode <file stem or episode_id> or an .mcap file.")
        return path
    if not path.is_dir():
        raise LabelError(f"--episode needs a run directory, got {path}; pass the run directory (runs/<run>).")
    from failforward.learn.labels import episode_identity

    files = sorted(path.rglob("*.mcap"))
    for file in files:
        if name in (file.stem, file.name) or episode_identity(file) == name:
            return file
    known = ", ".join(f.stem for f in files[:10]) or "none"
    raise LabelError(
        f"No episode {name!r} in {path} (episodes: {known}); list them with `failforward label list {path}`."
    )
