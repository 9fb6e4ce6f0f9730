"""What a node does on SIGINT / SIGTERM (no ROS here; ``spin.spin_node`` drives it).

The node's process keeps spinning while the node finishes its episode: the policy node ends the running episode
as ``aborted: interrupted`` (its file finished, its outcome published), the recorder node closes the episode's
file with that outcome; then the node is released and ROS shut down. A node that implements :class:`Finishing`
says when it is done; the others are released at once.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from failforward.control.interrupt import EXIT_CODE, INTERRUPTED, Interrupt

__all__ = ["EXIT_CODE", "FINISH_TIMEOUT_S", "INTERRUPTED", "Finishing", "Interrupt"]

FINISH_TIMEOUT_S = 4.0  # [s] the longest a node finishes after a signal (ros2 launch escalates to SIGTERM after 5 s)


@runtime_checkable
class Finishing(Protocol):
    """A node with work to finish before it is released (called on the spinning thread, between callbacks)."""

    def interrupt(self) -> None:
        """Begin finishing (never blocks): end the episode in progress as ``aborted: interrupted``."""
        ...

    def finishing(self) -> bool:
        """True while the node still finishes (the process keeps spinning for it)."""
        ...
