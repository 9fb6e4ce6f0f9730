"""OpenAI-compatible backend against a local HTTP server that speaks chat completions."""

from __future__ import annotations

import base64
import logging
import socket
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from failforward.config import OpenAIBackendConfig
from failforward.supervisor.backends.openai_compat import OpenAIChatBackend
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.diagnosis import Diagnosis, NoDiagnosis, Unreadable
from failforward.symbols.types import GripperState
from failforward.testing.chat_server import ChatCompletionsServer

ANSWER = (
    "<Think>The provided data indicates a failure occurred. The failure type is identified as 'gripper state'."
    '</Think>\n<Answer>\n"success detection": "Failed",\n"low level commands": "Open the left gripper.",\n'
    '"visual prompts": "Draw ON: {\'position\': [500, 250]}"\n</Answer>'
)
FRAMES = [np.full((48, 64, 3), (10 * i, 100, 200), np.uint8) for i in range(5)]
SECRET = "sk-test-do-not-log-1234567890"


@pytest.fixture
def server() -> Iterator[ChatCompletionsServer]:
    fake = ChatCompletionsServer(ANSWER)
    yield fake
    fake.close()


def _backend(url: str, **overrides: object) -> OpenAIChatBackend:
    fields: dict = {"api_key_env": "FF_TEST_KEY", "timeout_s": 2.0, "retries": 1, "backoff_s": 0.01}
    config = OpenAIBackendConfig(base_url=url, model="ViFailback-8B", **{**fields, **overrides})
    backend = make_backend(config)
    assert isinstance(backend, OpenAIChatBackend)
    return backend


def test_request_follows_the_chat_completions_api_and_the_answer_is_parsed(server, monkeypatch) -> None:
    monkeypatch.setenv("FF_TEST_KEY", SECRET)
    result = _backend(server.url).diagnose(FRAMES, "Hand the cube over.")
    assert isinstance(result, Diagnosis) and result.failure_type == "gripper state"
    assert result.symbols == (GripperState(position=(32.0, 12.0), state="ON"),) and result.symbol_frame == 4
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    body = request["body"]
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("ViFailback-8B", 0.0, 2048)
    (message,) = body["messages"]
    kinds = [part["type"] for part in message["content"]]
    assert kinds == ["image_url"] * 5 + ["text"]
    assert message["content"][-1]["text"].startswith("These images are captured by the head camera")
    first = message["content"][0]["image_url"]["url"]
    assert first.startswith("data:image/jpeg;base64,")
    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(first.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (48, 64, 3) and abs(int(decoded[..., 0].mean()) - 200) < 4  # BGR of RGB (0,100,200)
    assert server.headers[0]["Authorization"] == f"Bearer {SECRET}"


def test_api_key_is_never_logged_or_shown(server, monkeypatch, caplog) -> None:
    monkeypatch.setenv("FF_TEST_KEY", SECRET)
    backend = _backend(server.url)
    server.script = [503, 503]
    with caplog.at_level(logging.DEBUG):
        result = backend.diagnose(FRAMES, "task")
    assert isinstance(result, NoDiagnosis) and result.reason == "http_error"
    assert SECRET not in caplog.text and SECRET not in repr(backend) and SECRET not in repr(backend.config)
    assert SECRET not in result.model_dump_json()


def test_no_key_means_no_authorization_header(server, monkeypatch) -> None:
    monkeypatch.delenv("FF_TEST_KEY", raising=False)
    _backend(server.url).diagnose(FRAMES, "task")
    assert "Authorization" not in server.headers[0]


def test_dead_server_is_a_connection_no_diagnosis() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    result = _backend(f"http://127.0.0.1:{port}/v1").diagnose(FRAMES, "task")
    assert isinstance(result, NoDiagnosis) and result.reason == "connection"
    assert time.monotonic() - start < 2.0


def test_slow_server_times_out_then_retry_succeeds(server) -> None:
    server.slow_s = 1.0
    server.script = ["slow", "ok"]
    start = time.monotonic()
    result = _backend(server.url, timeout_s=0.3).diagnose(FRAMES, "task")
    assert isinstance(result, Diagnosis) and len(server.requests) == 2
    assert 0.3 <= time.monotonic() - start < 1.0


def test_slow_server_past_all_retries_is_a_timeout(server) -> None:
    server.slow_s = 1.0
    server.script = ["slow", "slow"]
    result = _backend(server.url, timeout_s=0.2).diagnose(FRAMES, "task")
    assert isinstance(result, NoDiagnosis) and result.reason == "timeout"


def test_server_error_is_retried_with_backoff(server) -> None:
    server.script = [500]
    assert isinstance(_backend(server.url).diagnose(FRAMES, "task"), Diagnosis)
    assert len(server.requests) == 2


def test_client_error_is_not_retried(server) -> None:
    server.script = [404]
    result = _backend(server.url, retries=3).diagnose(FRAMES, "task")
    assert isinstance(result, NoDiagnosis) and result.reason == "http_error" and "404" in result.message
    assert len(server.requests) == 1


@pytest.mark.parametrize("action", ["garbage", "empty"])
def test_garbage_reply_is_a_typed_result(server, action: str) -> None:
    server.script = [action]
    result = _backend(server.url, retries=0).diagnose(FRAMES, "task")
    assert isinstance(result, NoDiagnosis) and result.reason == "http_error" and "chat-completions" in result.message


def test_nonsense_answer_text_is_unreadable(server) -> None:
    server.script = ["nonsense"]
    result = _backend(server.url).diagnose(FRAMES, "task")
    assert isinstance(result, Unreadable) and "I like turtles." in result.raw


def test_empty_frame_buffer_never_reaches_the_server(server) -> None:
    result = _backend(server.url).diagnose([], "task")
    assert isinstance(result, NoDiagnosis) and result.reason == "empty_frames" and server.requests == []
