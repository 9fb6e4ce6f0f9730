"""``failforward serve`` (a policy server for robots on other machines) and ``failforward keys`` (its CURVE keys).

Example:
    failforward serve --model models/afil_aloha_transfer_cube                  # loopback, tcp://127.0.0.1:5555
    failforward keys --out keys --clients robot1 robot2                         # server + one keypair per robot
    failforward serve --model models/afil_aloha_transfer_cube --bind tcp://0.0.0.0:5555 --keys keys

Without ``--keys`` the server reads ``$FAILFORWARD_SERVER_SECRET_KEY`` and ``$FAILFORWARD_AUTHORIZED_CLIENT_KEYS``;
with no keys at all it refuses to listen beyond loopback. See :mod:`failforward.transport`.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from failforward.transport.server import PolicyServer


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", type=Path, required=True, help="model directory, e.g. models/afil_aloha_transfer_cube"
    )
    parser.add_argument("--bind", default="tcp://127.0.0.1:5555", help="ZeroMQ endpoint (beyond loopback: --keys)")
    parser.add_argument("--backend", choices=("onnxruntime", "torch", "tensorrt"), default="onnxruntime")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of the backend")
    parser.add_argument("--keys", type=Path, help="key directory from `failforward keys` (CURVE on)")
    parser.add_argument("--control-hz", type=float, default=50.0, help="[Hz] rate the model's chunks are timed for")
    parser.add_argument("--max-message-mib", type=float, default=16.0, help="[MiB] largest request accepted")
    parser.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from failforward.policy.afil import BackendConfig, load_manifest, make_backend
    from failforward.transport.keys import load_server_keys
    from failforward.transport.model_card import card_from_model_dir
    from failforward.transport.security import check_bind
    from failforward.transport.server import PolicyServer
    from failforward.transport.wire import WireLimits

    keys = load_server_keys(args.keys)
    check_bind(args.bind, keys)  # before the model loads: a refused bind fails at once
    manifest = load_manifest(args.model)
    config = BackendConfig(
        model_dir=args.model, backend=args.backend, device=args.device, threads=args.threads, sampler=manifest.sampler
    )
    policy = make_backend(config)
    card = card_from_model_dir(args.model, policy.rtc, args.control_hz)
    limits = WireLimits(max_message_bytes=int(args.max_message_mib * (1 << 20)))
    server = PolicyServer(policy, card, bind=args.bind, keys=keys, limits=limits)
    return serve_until_stopped(server, f"{card.name} (manifest sha256 {card.sha256[:12]}…)")


def serve_until_stopped(server: PolicyServer, label: str) -> int:
    """Start ``server``, print where it listens (one line, parsed by tests), serve until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    endpoint = server.start()
    print(f"serving {label} on {endpoint} (CURVE {'on' if server.keys else 'off'}); Ctrl-C stops", flush=True)
    try:
        server.serve(stop)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def add_keys_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="directory for the key files (created)")
    parser.add_argument("--clients", nargs="+", default=["client"], help="one keypair per robot, by name")
    parser.set_defaults(handler=run_keys)


def run_keys(args: argparse.Namespace) -> int:
    from failforward.transport.keys import make_keys

    for path in make_keys(args.out, args.clients):
        print(path)
    print(
        f"server: {args.out}/server.key_secret and {args.out}/authorized_clients/ "
        f"(failforward serve --keys {args.out});"
        f" each robot: {args.out}/server.key and its <robot>.key_secret (policy.server_key, policy.client_key)."
        " Keep the .key_secret files private."
    )
    return 0
