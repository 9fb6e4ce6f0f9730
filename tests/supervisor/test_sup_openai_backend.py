"""OpenAI-compatible backend against a local HTTP server that speaks chat completions."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

from failforward.config import OpenAIBackendConfig
from failforward.supervisor.backends.openai_compat import OpenAIChatBackend
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.diagnosis import Diagnosis, NoDiagnosis, Unreadable
from failforward.symbols.types import GripperState

ANSWER = (
    "<Think>The provided data indicates a failure occurred. The failure type is identified as 'gripper state'."
    "</Think>\n<Answer>\n\"success detection\": \"Failed\",\n\"low level commands\": \"Open the left gripper.\",\n"
    "\"visual prompts\": \"Draw ON: {'position': [500, 250]}\"\n</Answer>"
)
FRAMES = [np.full((48, 64, 3), (10 * i, 100, 200), np.uint8) for i in range(5)]
SECRET = "sk-test-do-not-log-1234567890"


class FakeServer:
    """Chat-completions server on 127.0.0.1 (ephemeral port). ``script`` holds one behaviour per request:
    ``"ok"``, ``"slow"`` (sleeps ``slow_s``), ``"garbage"`` (non-JSON 200), ``"empty"`` (JSON without choices),
    or an HTTP status code; when the script runs out it answers ``"ok"``."""

    def __init__(self) -> None:
        self.script: list[str | int] = []
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.slow_s = 2.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.requests.append({"path": self.path, "body": json.loads(body)})
                server.headers.append(dict(self.headers))
                action = server.script.pop(0) if server.script else "ok"
                if action == "slow":
                    time.sleep(server.slow_s)
                if isinstance(action, int):
                    self.send_response(action)
                    self.end_headers()
                    return
                payload = {
                    "ok": json.dumps({"choices": [{"message": {"role": "assistant", "content": ANSWER}}]}),
                    "slow": json.dumps({"choices": [{"message": {"content": ANSWER}}]}),
                    "garbage": "<html>502 upstream hiccup</html>",
                    "empty": json.dumps({"choices": []}),
                    "nonsense": json.dumps({"choices": [{"message": {"content": "I like turtles."}}]}),
                }[action].encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
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
