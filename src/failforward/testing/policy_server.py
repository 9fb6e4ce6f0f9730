"""A policy server in a child process, for tests and benchmarks, and a zero-cost echo policy to serve.

:class:`ServerProcess` starts ``failforward serve`` (a real model) or this module's echo server
(``python -m failforward.testing.policy_server``), reads the endpoint it prints, and can kill it (SIGKILL, as a
crash would) and start it again on the same endpoint.

:class:`EchoPolicy` costs nothing: its chunk is the observed joints repeated ``H`` times (plus the noise, when
given), and its "guidance" is one CRC-32 per camera image, so a test sees that every pixel arrived.

Example:
    python -m failforward.testing.policy_server --joints 14 --objects 1 --camera top:224x224 --horizon 50
"""

from __future__ import annotations

import argparse
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from failforward.policy.base import PolicyBackend
from failforward.types import ActionChunk, ChunkPrefix, Observation

_ENDPOINT = re.compile(r"^serving .* on (\S+) \(CURVE")


class EchoPolicy(PolicyBackend):
    """Zero-cost stand-in for a model (see the module docstring): ``horizon`` ``H`` rows per chunk; ``delay_s`` [s]
    of sleep per call emulates a slow model."""

    def __init__(self, horizon: int, delay_s: float = 0.0) -> None:
        self.horizon, self.delay_s = horizon, delay_s

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        if self.delay_s:
            time.sleep(self.delay_s)
        actions = np.tile(obs.joint_positions, (self.horizon, 1))
        if noise is not None:
            actions = actions + noise
        checksums = [float(zlib.crc32(obs.images[name].tobytes())) for name in sorted(obs.images)]
        return ActionChunk(actions, guidance=np.asarray(checksums), source="echo")


class ServerProcess:
    """A policy server in a child process (see the module docstring).

    Args:
        argv: the server's command line after the interpreter (e.g. ``["-m", "failforward.cli.main", "serve",
            "--model", ...]``), without ``--bind``.
        bind: endpoint to bind first (``tcp://127.0.0.1:*``: a free port, kept by :meth:`restart`).
        env: extra environment variables.
    """

    def __init__(self, argv: Sequence[str], bind: str = "tcp://127.0.0.1:*", env: dict[str, str] | None = None) -> None:
        self.argv, self.bind, self.env = list(argv), bind, {**os.environ, **(env or {})}
        self.process: subprocess.Popen[str] | None = None
        self.endpoint = ""
        self.output: deque[str] = deque(maxlen=2000)  # the server's last log lines

    @classmethod
    def model(cls, model_dir: Path, *extra: str, **kwargs: object) -> ServerProcess:
        """``failforward serve --model model_dir`` (onnxruntime, one thread) in a child process."""
        argv = ["-m", "failforward.cli.main", "serve", "--model", str(model_dir), *extra]
        return cls(argv, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def echo(cls, *extra: str, **kwargs: object) -> ServerProcess:
        """This module's echo server in a child process (``extra``: its options, see :func:`main`)."""
        return cls(["-m", "failforward.testing.policy_server", *extra], **kwargs)  # type: ignore[arg-type]

    def start(self, timeout_s: float = 60.0) -> str:
        """Start the server and wait for the line naming its endpoint; returns the endpoint."""
        bind = self.endpoint or self.bind
        self.process = subprocess.Popen(
            [sys.executable, *self.argv, "--bind", bind],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )
        self.endpoint = self._read_endpoint(timeout_s)
        return self.endpoint

    def _read_endpoint(self, timeout_s: float) -> str:
        if self.process is None or self.process.stdout is None:
            raise RuntimeError("the policy server process is not running; call start()")
        deadline, seen = time.monotonic() + timeout_s, []
        while time.monotonic() < deadline:
            if select.select([self.process.stdout], [], [], 0.1)[0]:
                line = self.process.stdout.readline()
                match = _ENDPOINT.match(line)
                if match:
                    threading.Thread(target=self._collect, args=(self.process.stdout,), daemon=True).start()
                    return match.group(1)
                seen.append(line)
                if not line:  # end of output: the server exited
                    break
        self.kill()
        raise RuntimeError("the policy server did not start:\n" + "".join(seen)[-3000:])

    def _collect(self, stream: IO[str]) -> None:
        """Keep reading the server's output (its log) so that it never blocks on a full pipe."""
        for line in stream:
            self.output.append(line)

    def kill(self) -> None:
        """SIGKILL, as a crash or a power cut would end it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int | None:
        """SIGTERM (a clean shutdown); returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        return self.process.returncode

    def restart(self, timeout_s: float = 60.0) -> str:
        """Kill it if running, then start it again on the same endpoint."""
        self.kill()
        return self.start(timeout_s)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_bytes(self) -> int:
        """[bytes] the server's resident memory (Linux ``/proc``)."""
        if self.process is None:
            raise RuntimeError("the policy server process is not running; call start()")
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve :class:`EchoPolicy` with a card built from the options (a robot shape without a model)."""
    from failforward.cli.serve import serve_until_stopped
    from failforward.transport.keys import load_server_keys
    from failforward.transport.model_card import CameraSpec, ModelCard
    from failforward.transport.server import PolicyServer
    from failforward.transport.wire import WireLimits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="tcp://127.0.0.1:5555")
    parser.add_argument("--joints", type=int, default=14)
    parser.add_argument("--objects", type=int, default=0, help="task objects (7 state numbers each)")
    parser.add_argument("--horizon", type=int, default=50)
    parser.add_argument("--control-hz", type=float, default=50.0)
    parser.add_argument("--camera", action="append", default=[], help="NAME:WIDTHxHEIGHT, repeatable")
    parser.add_argument("--keys", type=Path)
    parser.add_argument("--delay-s", type=float, default=0.0, help="[s] sleep per inference (a slow model)")
    parser.add_argument("--max-message-bytes", type=int, default=16 << 20)
    args = parser.parse_args(argv)
    cameras = []
    for spec in args.camera:
        name, _, size = spec.partition(":")
        width, _, height = size.partition("x")
        cameras.append(CameraSpec(name, int(height), int(width)))
    state_dim = args.joints + 7 * args.objects
    card = ModelCard("echo", "0" * 64, args.joints, state_dim, args.horizon, args.control_hz, tuple(cameras))
    limits = WireLimits(max_message_bytes=args.max_message_bytes)
    server = PolicyServer(
        EchoPolicy(args.horizon, args.delay_s), card, bind=args.bind, keys=load_server_keys(args.keys), limits=limits
    )
    return serve_until_stopped(server, "echo")


if __name__ == "__main__":
    sys.exit(main())
