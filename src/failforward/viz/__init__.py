"""Live visualization of the control loop: a Foxglove WebSocket server fed by a tick subscriber.

- :class:`~failforward.viz.foxglove_live.FoxgloveLiveView`: the subscriber and server (``foxglove-sdk``, the
  ``viz`` extra); imported from its module so that this package imports without the extra.
- :mod:`~failforward.viz.chunk_preview`: the tool paths of a chunk (shared with the ROS policy node's RViz preview).
- :data:`LAYOUT_PATH`: the Foxglove layout for the live view's topics (import it in Foxglove: Layouts → Import).
"""

from __future__ import annotations

from pathlib import Path

LAYOUT_PATH = Path(__file__).resolve().parent / "layouts" / "failforward.json"
"""The shipped Foxglove layout (package data; ``share/failforward_ros/foxglove/`` in the ROS package)."""

__all__ = ["LAYOUT_PATH"]
