"""What must be up before the policy node drives the robot: the bridge publishing, the recorder ready.

The launch file brings the nodes up in order (bridge → recorder → supervisor → policy); this gate keeps
the promise when the graph is started by hand too. The bridge counts as publishing once the policy node
heard its latched ``episode/start`` (sent on activation) or a ``joint_states`` message; the recorder
once its latched ``recorder/ready`` says true. No ROS here: the node feeds the gate from its callbacks.
"""

from __future__ import annotations

import threading
import time

RECORDER_READY_TOPIC = "recorder/ready"  # std_msgs/Bool, latched: true while recorder_node is active


class StartGate:
    """Waits until the robot bridge publishes and (when required) the recorder node reports ready."""

    def __init__(self, require_recorder: bool) -> None:
        self.require_recorder = require_recorder
        self._changed = threading.Condition()
        self._bridge = False
        self._recorder = False

    def bridge_published(self) -> None:
        """The bridge was heard (an episode start or a joint state). Called for every joint state: once it is known,
        nothing more to do (no lock, no wake-up on the 50 Hz path)."""
        if self._bridge:
            return
        with self._changed:
            self._bridge = True
            self._changed.notify_all()

    def recorder_ready(self, ready: bool) -> None:
        """The recorder node said it records (true) or stopped recording (false)."""
        with self._changed:
            self._recorder = ready
            self._changed.notify_all()

    def missing(self) -> list[str]:
        """What is not up yet, each with how to bring it up (empty: ready)."""
        with self._changed:
            return self._missing()

    def wait(self, timeout_s: float, stop: threading.Event) -> list[str]:
        """Block until ready, ``stop`` is set or ``timeout_s`` [s] passes; returns what is still missing."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self._missing() and not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 0.1))  # short waits: ``stop`` is not a condition of its own
            return self._missing()

    def _missing(self) -> list[str]:
        missing = []
        if not self._bridge:
            missing.append("robot_bridge publishes nothing: configure and activate it first")
        if self.require_recorder and not self._recorder:
            missing.append(
                "recorder_node is not recording: configure and activate it (or start the policy node with "
                "-p require_recorder:=false to run without a recording)"
            )
        return missing
