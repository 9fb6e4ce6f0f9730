"""CURVE keys of the policy server and its robots: made by ``failforward keys``, read from files or environment.

A key directory made by :func:`make_keys` holds::

    server.key            the server's public key      → every robot
    server.key_secret     the server's keypair          → the server only
    <robot>.key_secret    one robot's keypair           → that robot only
    authorized_clients/   the robots' public keys       → the server (its allow-list)

The server reads ``server.key_secret`` and ``authorized_clients/*.key`` (``failforward serve --keys DIR``), or the
environment variables ``FAILFORWARD_SERVER_SECRET_KEY`` (z85, 40 characters) and
``FAILFORWARD_AUTHORIZED_CLIENT_KEYS`` (z85 public keys, comma-separated). A robot reads ``server.key`` and its
``<robot>.key_secret`` (``policy.server_key`` / ``policy.client_key``), or ``FAILFORWARD_SERVER_PUBLIC_KEY`` and
``FAILFORWARD_CLIENT_SECRET_KEY``. Keys never appear in logs, reprs or error messages.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.utils import z85

from failforward.transport.errors import KeyFileError

SERVER = "server"
AUTHORIZED = "authorized_clients"
ENV_SERVER_SECRET = "FAILFORWARD_SERVER_SECRET_KEY"
ENV_AUTHORIZED = "FAILFORWARD_AUTHORIZED_CLIENT_KEYS"
ENV_SERVER_PUBLIC = "FAILFORWARD_SERVER_PUBLIC_KEY"
ENV_CLIENT_SECRET = "FAILFORWARD_CLIENT_SECRET_KEY"


@dataclass(frozen=True, repr=False)
class ServerKeys:
    """The server's keypair (z85) and the allow-list of client public keys (z85)."""

    public: bytes
    secret: bytes
    authorized: frozenset[bytes]

    def __repr__(self) -> str:
        return f"ServerKeys(<hidden>, {len(self.authorized)} authorized clients)"


@dataclass(frozen=True, repr=False)
class ClientKeys:
    """A robot's keypair (z85) and the public key of the server it trusts (z85)."""

    public: bytes
    secret: bytes
    server_public: bytes

    def __repr__(self) -> str:
        return "ClientKeys(<hidden>)"


def make_keys(out: Path, clients: Sequence[str] = ("client",)) -> list[Path]:
    """Write a server keypair and one keypair per client into ``out`` (see the module docstring).

    Secret files are readable by their owner only. Refuses to overwrite an existing key directory's secrets.
    Returns the paths written.
    """
    out, authorized = Path(out), Path(out) / AUTHORIZED
    if (out / f"{SERVER}.key_secret").exists():
        raise KeyFileError(f"{out} already holds {SERVER}.key_secret; choose another --out or delete it first.")
    authorized.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in (SERVER, *clients):
        public, secret = (Path(p) for p in zmq.auth.create_certificates(out, name))
        secret.chmod(0o600)
        moved = public if name == SERVER else Path(shutil.move(str(public), authorized / public.name))
        written += [moved, secret]
    return written


def load_server_keys(keys_dir: Path | None, env: Mapping[str, str] = os.environ) -> ServerKeys | None:
    """The server's keys from ``keys_dir`` or, without one, from the environment; ``None`` when neither has any."""
    if keys_dir is not None:
        public, secret = _keypair(Path(keys_dir) / f"{SERVER}.key_secret")
        folder = Path(keys_dir) / AUTHORIZED
        if not folder.is_dir():
            raise KeyFileError(f"{folder} is missing: put the robots' public keys (<robot>.key) there.")
        authorized = frozenset(zmq.auth.load_certificates(folder))
    elif ENV_SERVER_SECRET in env:
        secret = _z85(env[ENV_SERVER_SECRET], ENV_SERVER_SECRET)
        public = zmq.curve_public(secret)
        authorized = frozenset(_z85(k, ENV_AUTHORIZED) for k in env.get(ENV_AUTHORIZED, "").split(",") if k.strip())
    else:
        return None
    if not authorized:
        raise KeyFileError("no authorized client keys: every robot would be refused. Add their public keys.")
    return ServerKeys(public, secret, authorized)


def load_client_keys(
    server_key: Path | None, client_key: Path | None, env: Mapping[str, str] = os.environ
) -> ClientKeys | None:
    """A robot's keys from files (``server.key``, ``<robot>.key_secret``) or the environment; ``None`` when
    neither names any. Giving only one of the two raises."""
    server = _z85(env[ENV_SERVER_PUBLIC], ENV_SERVER_PUBLIC) if ENV_SERVER_PUBLIC in env else None
    if server_key is not None:
        server = _keypair(server_key, secret=False)[0]
    secret = _z85(env[ENV_CLIENT_SECRET], ENV_CLIENT_SECRET) if ENV_CLIENT_SECRET in env else None
    if client_key is not None:
        secret = _keypair(client_key)[1]
    if server is None and secret is None:
        return None
    if server is None or secret is None:
        raise KeyFileError(
            "CURVE needs both the server's public key (policy.server_key or $FAILFORWARD_SERVER_PUBLIC_KEY) and "
            "this robot's secret key (policy.client_key or $FAILFORWARD_CLIENT_SECRET_KEY); only one was given."
        )
    return ClientKeys(zmq.curve_public(secret), secret, server)


def _keypair(path: Path, secret: bool = True) -> tuple[bytes, bytes]:
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeyFileError(
            f"cannot read the CURVE key file {path} ({type(exc).__name__}); make keys with "
            "`failforward keys --out DIR`."
        ) from None
    if secret and not secret_key:
        raise KeyFileError(f"{path} holds no secret key; pass the .key_secret file, not the public .key.")
    return _z85(public.decode(), str(path)), _z85(secret_key.decode(), str(path)) if secret_key else b""


def _z85(text: str, source: str) -> bytes:
    """A 40-character z85 key; ``source`` names where it came from (the value is never shown)."""
    key = text.strip().encode()
    try:
        valid = len(key) == 40 and len(z85.decode(key)) == 32
    except Exception:  # z85 raises KeyError/ValueError/struct.error on characters outside its alphabet
        valid = False
    if not valid:
        raise KeyFileError(f"{source} does not hold a 40-character z85 CURVE key; make keys with `failforward keys`.")
    return key
