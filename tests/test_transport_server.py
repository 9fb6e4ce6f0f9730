"""A policy server in a child process, reached over loopback TCP: remote inference equals in-process inference
bit for bit, mismatches and refusals are typed, and a killed server fails a request fast and comes back."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
import zmq

import transport_helpers as th
from failforward.config import RemotePolicyConfig, get_preset
from failforward.errors import ConfigError, PolicyTimeoutError, PolicyUnavailableError
from failforward.policy.afil import BackendConfig, load_manifest, make_backend
from failforward.policy.registry import PolicyContext, make_policy
from failforward.testing.policy_server import EchoPolicy, ServerProcess
from failforward.transport.client import PolicyClient
from failforward.transport.errors import (
    ErrorCode,
    HandshakeMismatchError,
    InsecureBindError,
    RemotePolicyError,
    ServerDisconnectedError,
)
from failforward.transport.messages import HealthReply, HealthRequest, InferRequest, decode_reply, encode_request
from failforward.transport.model_card import ModelCard
from failforward.transport.remote_policy import RemotePolicy
from failforward.transport.server import PolicyServer
from failforward.transport.wire import WireLimits

CAMERAS = (("top", 224, 224), ("left_wrist", 224, 224), ("right_wrist", 224, 224))


@pytest.fixture(scope="module")
def model_server() -> Iterator[ServerProcess]:
    with ServerProcess.model(th.SHIPPED_MODEL) as server:
        yield server


@pytest.fixture(scope="module")
def echo_server() -> Iterator[ServerProcess]:
    camera_args = [f"--camera={name}:{width}x{height}" for name, height, width in CAMERAS]
    with ServerProcess.echo("--objects", "1", *camera_args) as server:
        yield server


def test_remote_inference_equals_in_process_inference_bit_for_bit(model_server: ServerProcess) -> None:
    manifest = load_manifest(th.SHIPPED_MODEL)
    local = make_backend(BackendConfig(model_dir=th.SHIPPED_MODEL, sampler=manifest.sampler, seed=0))
    context = PolicyContext(features=th.features(), task="transfer_cube", prompt="")
    remote = make_policy(RemotePolicyConfig(endpoint=model_server.endpoint, timeout_s=5.0), context)
    assert isinstance(remote, RemotePolicy) and remote.card.name == manifest.name and remote.card.horizon == 50
    assert remote.rtc == local.rtc
    rng = np.random.default_rng(0)
    for prompt in ("", "transfer the cube"):
        obs, noise = th.observation(rng), rng.standard_normal((50, 14)).astype(np.float32)
        want, got = local.infer(obs, prompt=prompt, noise=noise), remote.infer(obs, prompt=prompt, noise=noise)
        assert got.actions.dtype == np.float64 and got.actions.tobytes() == want.actions.tobytes()
        assert got.guidance.tobytes() == want.guidance.tobytes() and got.guidance.size == 10
        assert got.source == f"remote:{want.source}"
    assert remote.last_timing is not None and 0 < remote.last_timing.infer_s < remote.last_timing.round_trip_s
    remote.close()


def test_three_camera_images_arrive_bit_for_bit(echo_server: ServerProcess) -> None:
    rng = np.random.default_rng(1)
    robot = th.features(cameras=CAMERAS)
    policy = th.remote(echo_server.endpoint, robot)
    obs, noise = th.observation(rng, cameras=CAMERAS), rng.normal(size=(50, 14))
    chunk, want = policy.infer(obs, noise=noise), EchoPolicy(50).infer(obs, noise=noise)
    assert chunk.actions.tobytes() == want.actions.tobytes()
    assert chunk.guidance.tolist() == want.guidance.tolist() and len(want.guidance) == 3  # one CRC-32 per image
    policy.close()


def test_a_model_that_does_not_fit_the_robot_is_refused_at_the_handshake(
    model_server: ServerProcess, echo_server: ServerProcess
) -> None:
    cases = [
        (model_server, th.features(joints=7), r"state/action dims 21/14; this robot has 7 joints"),
        (model_server, th.features(objects=0), r"0 object-state numbers"),
        (model_server, th.features(control_hz=30.0), r"timed for 50 Hz, this robot runs at 30 Hz"),
        (echo_server, th.features(cameras=CAMERAS[:2]), r"needs camera 'right_wrist'"),
        (echo_server, th.features(cameras=(*CAMERAS[:2], ("right_wrist", 96, 128))), r"renders 128x96"),
    ]
    for server, robot, message in cases:
        with pytest.raises(HandshakeMismatchError, match=message):
            th.remote(server.endpoint, robot)
    pinned = RemotePolicyConfig(endpoint=model_server.endpoint, expect_sha256="0" * 64)
    with pytest.raises(HandshakeMismatchError, match="pins 000000000000"):
        make_policy(pinned, PolicyContext(features=th.features(), task="transfer_cube", prompt=""))


def test_an_observation_that_does_not_fit_gets_a_typed_refusal(echo_server: ServerProcess) -> None:
    policy = th.remote(echo_server.endpoint, th.features(cameras=CAMERAS))
    rng = np.random.default_rng(2)
    with pytest.raises(RemotePolicyError, match=r"camera 'top' must be uint8 \[224, 224, 3\]") as info:
        policy.infer(th.observation(rng))  # no images
    assert info.value.code is ErrorCode.MISMATCH
    with pytest.raises(RemotePolicyError, match=r"noise must be \[50, 14\]"):
        policy.infer(th.observation(rng, cameras=CAMERAS), noise=np.zeros((10, 14)))
    assert policy.infer(th.observation(rng, cameras=CAMERAS)).actions.shape == (50, 14)  # still served
    policy.close()


def test_health_reports_the_model_and_counts(echo_server: ServerProcess) -> None:
    client = PolicyClient(echo_server.endpoint)
    reply = client.request(HealthRequest, 2.0)
    assert isinstance(reply, HealthReply) and reply.status == "ok" and reply.model == "echo"
    assert reply.uptime_s > 0 and reply.pending == 0
    client.close()


def test_a_killed_server_fails_the_request_in_flight_fast_and_a_restarted_one_serves_again() -> None:
    with ServerProcess.echo("--objects", "1", "--delay-s", "0.5") as server:
        policy = th.remote(server.endpoint, th.features(), timeout_s=3.0)
        obs = th.observation(np.random.default_rng(3))
        assert policy.infer(obs).actions.shape == (50, 14)
        threading.Timer(0.2, server.kill).start()  # mid-request: the server sleeps 0.5 s per inference
        start = time.monotonic()
        with pytest.raises(ServerDisconnectedError):
            policy.infer(obs)
        assert time.monotonic() - start < 1.5  # noticed when the connection dropped, well within the 3 s timeout
        start = time.monotonic()
        with pytest.raises(PolicyTimeoutError):  # still down: the deadline holds
            policy.infer(obs)
        assert 2.9 < time.monotonic() - start < 4.0
        server.restart()
        assert policy.infer(obs).actions.shape == (50, 14)  # same policy object, reconnected and re-checked
        policy.close()
        assert server.stop() == 0  # SIGTERM: a clean shutdown


def test_a_restarted_server_with_another_model_is_not_used() -> None:
    with ServerProcess.echo("--objects", "1") as server:
        policy = th.remote(server.endpoint, th.features(), timeout_s=3.0)
        server.kill()
        server.argv += ["--control-hz", "25"]
        server.start()
        with pytest.raises(HandshakeMismatchError, match="now serves"):
            policy.infer(th.observation(np.random.default_rng(4)))
        policy.close()


def test_a_full_queue_answers_busy_at_once() -> None:
    context = zmq.Context()
    try:
        with ServerProcess.echo("--objects", "1", "--delay-s", "0.2") as server:
            sock = context.socket(zmq.DEALER)
            sock.connect(server.endpoint)
            obs = th.observation(np.random.default_rng(5))
            for i in range(8):
                sock.send(encode_request(InferRequest(i, obs)))
            replies = [decode_reply(sock.recv(), WireLimits()) for _ in range(8)]
    finally:
        context.destroy(linger=0)
    codes = [getattr(r, "code", "ok") for r in replies]
    # 4 queue per client (+ 1 when the server took the first before the others arrived); the rest: busy at once
    assert codes.count("ok") in (4, 5) and codes.count(ErrorCode.BUSY) == 8 - codes.count("ok"), codes


def test_listening_beyond_loopback_needs_keys() -> None:
    card = ModelCard("echo", "0" * 64, 14, 14, 50, 50.0)
    for bind in ("tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://192.168.1.20:5555", "tcp://eth0:5555"):
        with pytest.raises(InsecureBindError, match="failforward keys"):
            PolicyServer(EchoPolicy(50), card, bind=bind)
    for bind in ("tcp://127.0.0.1:5555", "tcp://localhost:5555", "tcp://[::1]:5555", "ipc:///tmp/ff.sock"):
        PolicyServer(EchoPolicy(50), card, bind=bind)  # constructing binds nothing
    with pytest.raises(ConfigError, match="not on this machine"):
        PolicyClient("tcp://10.0.0.2:5555")


def test_the_serve_command_refuses_a_public_bind_before_loading_the_model() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "failforward.cli.main", "serve", "--model", "models/none", "--bind", "tcp://0.0.0.0:5555"],
        capture_output=True, text=True, timeout=60, cwd=th.ROOT,
    )  # fmt: skip
    assert result.returncode == 2 and "refusing to listen on tcp://0.0.0.0:5555" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_the_remote_preset_and_overrides_select_the_remote_policy() -> None:
    preset = get_preset("sim_transfer_cube_remote")
    assert isinstance(preset.policy, RemotePolicyConfig) and preset.robot.object_state
    moved = preset.with_overrides({"policy.endpoint": "tcp://gpu-box:5555", "policy.timeout_s": 0.5})
    assert moved.policy.endpoint == "tcp://gpu-box:5555"  # type: ignore[union-attr]
    chosen = get_preset("sim_transfer_cube").with_overrides({"policy.kind": "remote"})
    assert isinstance(chosen.policy, RemotePolicyConfig)
    with pytest.raises(PolicyUnavailableError):  # nothing listens there: a typed error, not a hang
        make_policy(
            RemotePolicyConfig(endpoint="tcp://127.0.0.1:9", connect_timeout_s=0.3),
            PolicyContext(features=th.features(), task="transfer_cube", prompt=""),
        )


def test_the_serve_and_keys_commands_start_without_torch_or_the_simulator() -> None:
    from test_cli_lazy import _cli  # runs the CLI with torch, MuJoCo, ManiSkill... absent

    for command in ("serve", "keys"):
        result, report = _cli(command, "--help")
        assert result.returncode == 0, result.stderr[-2000:]
        assert ("--keys" if command == "serve" else "--out") in result.stdout
        assert report["asked"] == []
        assert not [m for m in report["loaded"] if m.startswith(("failforward.learn", "failforward.sim"))]
