"""CURVE: keys made by ``failforward keys``, read from files or the environment and never shown; an authorized
robot is served, an unauthorized or plaintext one gets nothing but a typed error, and the server survives."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import zmq
import zmq.auth

import transport_helpers as th
from failforward.cli.main import main
from failforward.config import RemotePolicyConfig
from failforward.errors import PolicyTimeoutError, PolicyUnavailableError
from failforward.policy.registry import PolicyContext, make_policy
from failforward.testing.policy_server import ServerProcess
from failforward.transport.client import PolicyClient
from failforward.transport.errors import AuthenticationError, KeyFileError
from failforward.transport.keys import ClientKeys, load_client_keys, load_server_keys
from failforward.transport.messages import HealthRequest
from failforward.transport.security import check_bind

CONTEXT = PolicyContext(features=th.features(), task="transfer_cube", prompt="")


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("keys") / "keys"
    assert main(["keys", "--out", str(out), "--clients", "robot1", "robot2"]) == 0
    return out


@pytest.fixture(scope="module")
def curve_server(keys_dir: Path) -> Iterator[ServerProcess]:
    with ServerProcess.echo("--objects", "1", "--keys", str(keys_dir)) as server:
        yield server


def _secrets(keys_dir: Path) -> list[bytes]:
    return [zmq.auth.load_certificate(path)[1] or b"" for path in keys_dir.glob("*.key_secret")]


def test_the_keys_command_writes_private_secrets_and_never_prints_them(
    keys_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = {p.relative_to(keys_dir).as_posix() for p in keys_dir.rglob("*") if p.is_file()}
    assert names == {
        "server.key",
        "server.key_secret",
        "robot1.key_secret",
        "robot2.key_secret",
        "authorized_clients/robot1.key",
        "authorized_clients/robot2.key",
    }
    for path in keys_dir.glob("*.key_secret"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert main(["keys", "--out", str(keys_dir)]) == 2  # never overwrites a server's secret
    out = tmp_path / "more"
    assert main(["keys", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    for secret in _secrets(out) + _secrets(keys_dir):
        assert secret.decode() not in printed.out + printed.err
    assert "already holds server.key_secret" in printed.err


def test_an_authorized_robot_is_served_over_curve(curve_server: ServerProcess, keys_dir: Path) -> None:
    config = RemotePolicyConfig(
        endpoint=curve_server.endpoint, server_key=keys_dir / "server.key", client_key=keys_dir / "robot1.key_secret"
    )
    policy = make_policy(config, CONTEXT)
    assert policy.infer(th.observation(np.random.default_rng(0))).actions.shape == (50, 14)
    policy.close()


def test_keys_from_the_environment(
    curve_server: ServerProcess, keys_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_public = zmq.auth.load_certificate(keys_dir / "server.key")[0].decode()
    robot_secret = (zmq.auth.load_certificate(keys_dir / "robot2.key_secret")[1] or b"").decode()
    monkeypatch.setenv("FAILFORWARD_SERVER_PUBLIC_KEY", server_public)
    monkeypatch.setenv("FAILFORWARD_CLIENT_SECRET_KEY", robot_secret)
    policy = make_policy(RemotePolicyConfig(endpoint=curve_server.endpoint), CONTEXT)
    assert policy.infer(th.observation(np.random.default_rng(1))).actions.shape == (50, 14)
    policy.close()
    server_secret = (zmq.auth.load_certificate(keys_dir / "server.key_secret")[1] or b"").decode()
    env = {"FAILFORWARD_SERVER_SECRET_KEY": server_secret, "FAILFORWARD_AUTHORIZED_CLIENT_KEYS": f" x ,{server_public}"}
    with pytest.raises(KeyFileError, match="FAILFORWARD_AUTHORIZED_CLIENT_KEYS does not hold") as info:
        load_server_keys(None, env)
    assert server_secret not in str(info.value)
    keys = load_server_keys(None, {**env, "FAILFORWARD_AUTHORIZED_CLIENT_KEYS": server_public})
    assert keys is not None and server_secret not in repr(keys)
    check_bind("tcp://0.0.0.0:5555", keys)  # with keys a server may listen beyond loopback


def test_unauthenticated_clients_get_nothing_and_the_server_survives(
    curve_server: ServerProcess, keys_dir: Path
) -> None:
    server_public = zmq.auth.load_certificate(keys_dir / "server.key")[0]
    stranger_public, stranger_secret = zmq.curve_keypair()
    stranger = PolicyClient(curve_server.endpoint, keys=ClientKeys(stranger_public, stranger_secret, server_public))
    start = time.monotonic()
    with pytest.raises(AuthenticationError, match="refused this robot's CURVE key"):
        stranger.request(HealthRequest, 5.0)
    assert time.monotonic() - start < 2.0  # refused at the handshake, not left to time out
    stranger.close()
    wrong = ClientKeys(stranger_public, stranger_secret, zmq.curve_keypair()[0])  # trusts another server key
    misled = PolicyClient(curve_server.endpoint, keys=wrong)
    with pytest.raises(PolicyTimeoutError, match="connection handshakes failed: check the CURVE keys"):
        misled.request(HealthRequest, 1.0)
    misled.close()
    plain = PolicyClient(curve_server.endpoint)  # no CURVE at all
    with pytest.raises((AuthenticationError, PolicyUnavailableError)):
        plain.request(HealthRequest, 1.0)
    plain.close()
    context = zmq.Context()
    try:
        raw = context.socket(zmq.DEALER)  # a plaintext peer sending garbage gets no byte back
        raw.connect(curve_server.endpoint)
        raw.send(b"\x91" * 1000)
        assert not raw.poll(500)
    finally:
        context.destroy(linger=0)
    assert curve_server.alive()
    test_an_authorized_robot_is_served_over_curve(curve_server, keys_dir)
    log = "".join(curve_server.output)
    assert "refused a CURVE client" in log
    for secret in _secrets(keys_dir):
        assert secret.decode() not in log


def test_key_files_are_checked() -> None:
    only_server = {"FAILFORWARD_SERVER_PUBLIC_KEY": zmq.curve_keypair()[0].decode()}
    with pytest.raises(KeyFileError, match="only one was given"):
        load_client_keys(None, None, only_server)
    with pytest.raises(KeyFileError, match="cannot read the CURVE key file"):
        load_client_keys(Path("/nonexistent/server.key"), Path("/nonexistent/robot.key_secret"), {})
    assert load_client_keys(None, None, {}) is None and load_server_keys(None, {}) is None


def test_a_public_key_file_is_not_a_secret(keys_dir: Path) -> None:
    with pytest.raises(KeyFileError, match="holds no secret key"):
        load_client_keys(keys_dir / "server.key", keys_dir / "authorized_clients" / "robot1.key", {})
    policy_keys = load_client_keys(keys_dir / "server.key", keys_dir / "robot1.key_secret", {})
    assert policy_keys is not None and "hidden" in repr(policy_keys)
