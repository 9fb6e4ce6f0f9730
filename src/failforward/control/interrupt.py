"""Ctrl-C (SIGINT) and SIGTERM as a request to finish, never an exception in the middle of a write.

The first signal sets ``Interrupt.requested``; whoever runs episodes checks it (the control loop through
:class:`StopWhenInterrupted`, after the current tick), ends the episode with the outcome ``aborted: interrupted``,
finishes its file (footer, metadata) and writes what else it owes (the report), then exits with ``EXIT_CODE``.
A second signal while finishing only says so: the finishing goes on, the files stay intact. A third one exits at
once (``os._exit``): the episode file then lacks its footer, and ``failforward record repair`` rewrites its
complete chunks (at most ``record.chunk_kib`` KiB are lost).

Example:
    >>> interrupt = Interrupt()
    >>> with interrupt.installed():          # SIGINT and SIGTERM handled until the block ends
    ...     run(config, interrupt=interrupt)  # the running episode ends "aborted: interrupted"
    >>> exit_code = EXIT_CODE if interrupt.requested else 0
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from failforward.types import EpisodeInfo, TickRecord, TickSubscriber

INTERRUPTED = "interrupted"  # the stop reason: the episode's outcome reads "aborted: interrupted"
EXIT_CODE = 130  # 128 + SIGINT: the shell's exit status of a process ended by Ctrl-C
SIGNALS = (signal.SIGINT, signal.SIGTERM)
FORCE_AFTER = 3  # the signal count that exits at once, without finishing


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Interrupt:
    """Whether SIGINT or SIGTERM arrived; thread-safe to read (``requested``), set only by the signal handler
    (main thread) or ``request``.

    Args:
        announce: says one line to the operator per signal (stderr by default).
    """

    def __init__(self, announce: Callable[[str], None] = _to_stderr) -> None:
        self._event = threading.Event()
        self._announce = announce
        self.count = 0  # signals received
        self.signal_name = ""  # of the first one

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def request(self, name: str = "SIGINT") -> None:
        """Ask to finish, as the first signal does."""
        self.signal_name = self.signal_name or name
        self._event.set()

    def handle(self, signum: int, frame: FrameType | None = None) -> None:
        """The signal handler: request on the first signal, reassure on the second, exit at once on the third."""
        self.count += 1
        name = signal.Signals(signum).name
        if self.count == 1:
            self.request(name)
            self._announce(f"{name}: finishing the current episode (file, report); Ctrl-C twice more quits at once")
        elif self.count < FORCE_AFTER:
            self._announce(f"{name}: still finishing the episode file so that it stays complete; once more quits now")
        else:
            self._announce(f"{name}: quitting now; repair an unfinished file with: failforward record repair FILE")
            os._exit(EXIT_CODE)

    @contextmanager
    def installed(self, signals: tuple[signal.Signals, ...] = SIGNALS) -> Iterator[Interrupt]:
        """Handle ``signals`` with ``handle`` inside the block (main thread only), the previous handlers after it."""
        previous = {sig: signal.signal(sig, self.handle) for sig in signals}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class StopWhenInterrupted(TickSubscriber):
    """A loop subscriber that ends the running episode after the current tick once ``interrupt.requested``, with
    the reason ``interrupted`` (also when the request came before the episode's first tick)."""

    def __init__(self, interrupt: Interrupt, stop: Callable[[str], None]) -> None:
        self.interrupt, self.stop = interrupt, stop

    def on_episode_start(self, info: EpisodeInfo) -> None:
        self._check()

    def on_tick(self, tick: TickRecord) -> None:
        self._check()

    def _check(self) -> None:
        if self.interrupt.requested:
            self.stop(INTERRUPTED)
