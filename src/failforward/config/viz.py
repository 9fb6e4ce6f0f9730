"""Live visualization: the Foxglove WebSocket server (``failforward.viz``)."""

from __future__ import annotations

from pydantic import Field

from failforward.config.base import FrozenModel


class FoxgloveConfig(FrozenModel):
    """The Foxglove live view (``failforward demo --foxglove``; the policy node's ``viz.foxglove.enabled``).

    Attributes:
        enabled: start a Foxglove WebSocket server next to the control loop.
        host: interface to listen on; ``127.0.0.1`` keeps it on this machine, ``0.0.0.0`` opens it to the
            network (no authentication: only on a trusted network).
        port: TCP port (``0``: any free port, printed at start).
        image_hz: [1/s] most camera frames per camera sent to viewers (JPEG encoding costs CPU).
        queue_size: ticks waiting for the publisher thread; when it falls behind, the oldest are dropped
            (counted), never the control loop slowed.
        jpeg_quality: JPEG quality (10–100) of the camera and annotated frames.
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    image_hz: float = Field(10.0, gt=0.0, le=60.0)
    queue_size: int = Field(8, ge=1, le=1024)
    jpeg_quality: int = Field(80, ge=10, le=100)


class VizConfig(FrozenModel):
    """Live visualization of a run."""

    foxglove: FoxgloveConfig = FoxgloveConfig()
