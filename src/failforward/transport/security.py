"""Security by default: a server listens on loopback unless it has CURVE keys; CURVE sockets and the allow-list.

Without keys a server may bind only loopback TCP (``tcp://127.0.0.1:PORT``, ``localhost``, ``[::1]``), ``ipc://``
or ``inproc://``. With keys every connection is CURVE-encrypted and authenticated: a ZAP handler
(pyzmq's ``ThreadAuthenticator``) lets in only the client public keys on the allow-list; others never get a
message through.
"""

from __future__ import annotations

import ipaddress
import logging
import threading

import zmq
from zmq.auth.thread import ThreadAuthenticator

from failforward.errors import ConfigError
from failforward.transport.errors import InsecureBindError
from failforward.transport.keys import ClientKeys, ServerKeys

logger = logging.getLogger(__name__)
# pyzmq's authenticator logs client public keys at DEBUG: it gets a logger of its own that never logs below INFO.
_ZAP_LOG = logging.getLogger("failforward.transport.zap")
_ZAP_LOG.setLevel(logging.INFO)
SCHEMES = ("tcp", "ipc", "inproc")


def is_local_endpoint(endpoint: str) -> bool:
    """Whether ``endpoint`` stays on this machine: loopback TCP, ``ipc://`` or ``inproc://``.

    Wildcards (``tcp://*:5555``, ``0.0.0.0``), interface names and other hosts are not local.
    """
    scheme, _, address = endpoint.partition("://")
    if scheme not in SCHEMES:
        raise ConfigError(f"endpoint {endpoint!r} must start with one of {[s + '://' for s in SCHEMES]}.")
    if scheme != "tcp":
        return True
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(endpoint: str, keys: ServerKeys | None) -> None:
    """Refuse (:class:`InsecureBindError`) to listen beyond loopback without CURVE keys."""
    if keys is None and not is_local_endpoint(endpoint):
        raise InsecureBindError(
            f"refusing to listen on {endpoint} without CURVE authentication: anyone on the network could drive the "
            "robots. Make keys with `failforward keys --out DIR` and pass `--keys DIR` (or set "
            "$FAILFORWARD_SERVER_SECRET_KEY and $FAILFORWARD_AUTHORIZED_CLIENT_KEYS), or bind tcp://127.0.0.1:PORT."
        )


class AllowList:
    """ZAP credentials provider: lets in the listed client public keys (z85), counts refusals."""

    def __init__(self, authorized: frozenset[bytes]) -> None:
        self.authorized = authorized
        self.refused = 0
        self._lock = threading.Lock()

    def callback(self, domain: str, key: bytes) -> bool:
        if key in self.authorized:
            return True
        with self._lock:
            self.refused += 1
            refused = self.refused
        if refused in (1, 10, 100) or refused % 1000 == 0:  # a refused robot retries every 0.5 s: log sparsely
            logger.warning("refused a CURVE client whose public key is not authorized (%d refused so far)", refused)
        return False


def secure_server(context: zmq.Context, socket: zmq.Socket, keys: ServerKeys) -> tuple[ThreadAuthenticator, AllowList]:
    """Start the ZAP handler with ``keys``' allow-list and make ``socket`` a CURVE server (before it binds)."""
    authenticator = ThreadAuthenticator(context, log=_ZAP_LOG)
    authenticator.start()
    allow = AllowList(keys.authorized)
    authenticator.configure_curve_callback("*", credentials_provider=allow)
    socket.curve_secretkey = keys.secret
    socket.curve_publickey = keys.public
    socket.curve_server = True
    return authenticator, allow


def secure_client(socket: zmq.Socket, keys: ClientKeys) -> None:
    """Make ``socket`` a CURVE client trusting ``keys.server_public`` (before it connects)."""
    socket.curve_secretkey = keys.secret
    socket.curve_publickey = keys.public
    socket.curve_serverkey = keys.server_public
