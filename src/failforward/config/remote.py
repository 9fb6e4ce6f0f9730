"""Config of the ``remote`` policy: a policy served by ``failforward serve`` over ZeroMQ (failforward.transport).

Example (``failforward serve --model models/afil_aloha_transfer_cube`` running on this machine):
    failforward demo --preset sim_transfer_cube_remote
    failforward demo --preset sim_transfer_cube_remote --set policy.endpoint='"tcp://gpu-box:5555"' \\
        --set policy.server_key='"keys/server.key"' --set policy.client_key='"keys/client.key_secret"'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from failforward.config.base import FrozenModel


class RemotePolicyConfig(FrozenModel):
    """A policy on a policy server (a GPU box beside the robot PC, or another process).

    Attributes:
        kind: policy registry name (always ``"remote"``).
        endpoint: the server's ZeroMQ endpoint. Loopback (``tcp://127.0.0.1:5555``) needs no keys; any other host
            needs CURVE keys (the client refuses to connect without them, the server to listen).
        server_key: the server's public key file (``server.key`` from ``failforward keys``); ``None``: the
            ``FAILFORWARD_SERVER_PUBLIC_KEY`` environment variable, or no CURVE when unset.
        client_key: this robot's keypair file (``<robot>.key_secret``); ``None``: ``FAILFORWARD_CLIENT_SECRET_KEY``.
        timeout_s: [s] limit of one inference request, a reconnection's handshake included; past it the call
            raises ``PolicyTimeoutError`` (the loop executes its queue, then holds).
        connect_timeout_s: [s] limit of the first handshake, when the policy is built.
        max_message_mib: [MiB] largest message either side accepts (requests with images, replies).
        expect_sha256: pin the served model: the sha256 of its ``manifest.json``; ``None``: any model that fits.
    """

    kind: Literal["remote"] = "remote"
    endpoint: str = "tcp://127.0.0.1:5555"
    server_key: Path | None = None
    client_key: Path | None = None
    timeout_s: float = Field(1.0, gt=0.0, le=60.0)
    connect_timeout_s: float = Field(5.0, gt=0.0, le=300.0)
    max_message_mib: float = Field(16.0, gt=0.0, le=1024.0)
    expect_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
