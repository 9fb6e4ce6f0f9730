"""A local HTTP server speaking the OpenAI chat-completions API: the edge of the world for VLM tests.

It stands in for vLLM/SGLang serving ViFailback-8B, on 127.0.0.1 with an ephemeral port, so the real
HTTP client, retries and timeouts are exercised. Scripted behaviours per request emulate a slow, dead
or broken server.

Example:
    >>> server = ChatCompletionsServer(answer="<Answer>...</Answer>")
    >>> OpenAIBackendConfig(base_url=server.url)
    >>> server.close()
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ChatCompletionsServer:
    """Chat-completions server on 127.0.0.1 (ephemeral port). ``script`` holds one behaviour per request:
    ``"ok"``, ``"slow"`` (sleeps ``slow_s``), ``"garbage"`` (non-JSON 200), ``"empty"`` (JSON without choices),
    or an HTTP status code; when the script runs out it answers ``"ok"``."""

    def __init__(self, answer: str, port: int = 0) -> None:
        self.answer = answer
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
                    "ok": json.dumps({"choices": [{"message": {"role": "assistant", "content": server.answer}}]}),
                    "slow": json.dumps({"choices": [{"message": {"content": server.answer}}]}),
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

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)  # port 0: ephemeral; a fixed one to restart
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
