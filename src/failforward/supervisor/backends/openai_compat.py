"""OpenAI-compatible chat-completions client (vLLM, SGLang, hosted APIs), standard library only.

Example (a ViFailback-8B served by vLLM on the GPU box):
    >>> backend = OpenAIChatBackend(OpenAIBackendConfig(base_url="http://gpu-box:8000/v1", model="ViFailback-8B"))
    >>> result = backend.diagnose(frames, "Pick up the red cube and hand it over.")

Images go inline as base64 JPEG data URLs, in the order the prompt gives (frames first). Temperature 0,
``max_tokens`` 2048 by default. The API key is read from the environment variable named in the config,
sent only in the ``Authorization`` header, and never logged or shown in ``repr``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import Any

import cv2
import numpy as np

from failforward.config import OpenAIBackendConfig
from failforward.supervisor.backends.base import ChatBackend
from failforward.supervisor.backends.registry import register_backend
from failforward.supervisor.errors import (
    BackendCallError,
    BackendConnectionError,
    BackendHTTPError,
    BackendTimeoutError,
)
from failforward.supervisor.prompts import ImageRef, Prompt
from failforward.supervisor.questions import QuestionType

log = logging.getLogger(__name__)
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_RESPONSE_BYTES = 4 * 1024 * 1024


class MalformedResponseError(BackendCallError):
    """The server's reply is not a chat-completions response (not JSON, or no ``choices[0].message``)."""

    reason = "http_error"


def image_data_url(image: np.ndarray, quality: int = 90) -> str:
    """``uint8 [H, W, 3]`` RGB → ``data:image/jpeg;base64,…``."""
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise BackendCallError("could not JPEG-encode a frame")
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii")


def chat_messages(prompt: Prompt, quality: int = 90) -> list[dict[str, Any]]:
    """One user message whose content lists the prompt's images and text in order."""
    content: list[dict[str, Any]] = []
    for segment in prompt.segments:
        if isinstance(segment, ImageRef):
            url = image_data_url(prompt.images[segment.index], quality)
            content.append({"type": "image_url", "image_url": {"url": url}})
        elif segment:
            content.append({"type": "text", "text": segment})
    return [{"role": "user", "content": content}]


def _answer_text(body: bytes) -> str:
    try:
        reply = json.loads(body)
        content = reply["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise MalformedResponseError(f"not a chat-completions reply: {body[:120]!r}") from None
    if isinstance(content, list):  # some servers return content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise MalformedResponseError("choices[0].message.content is not text")
    return content


@register_backend("openai")
class OpenAIChatBackend(ChatBackend):
    """Asks an OpenAI-compatible server the configured ViFailback CoT question."""

    def __init__(self, config: OpenAIBackendConfig) -> None:
        super().__init__(QuestionType(config.question))
        self.config = config
        self._url = config.base_url.rstrip("/") + "/chat/completions"

    @classmethod
    def from_config(cls, config: OpenAIBackendConfig, **_: Any) -> OpenAIChatBackend:
        return cls(config)

    def __repr__(self) -> str:
        return f"OpenAIChatBackend(url={self._url!r}, model={self.config.model!r})"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.config.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def request_body(self, prompt: Prompt) -> dict[str, Any]:
        """The JSON body sent for ``prompt``."""
        return {
            "model": self.config.model,
            "messages": chat_messages(prompt, self.config.jpeg_quality),
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }

    def _post_once(self, data: bytes) -> str:
        request = urllib.request.Request(self._url, data=data, headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
                return _answer_text(response.read(MAX_RESPONSE_BYTES))
        except urllib.error.HTTPError as exc:
            raise BackendHTTPError(exc.code, str(exc.reason)) from None
        except TimeoutError:
            raise BackendTimeoutError(f"no answer from {self._url} within {self.config.timeout_s} s") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise BackendTimeoutError(f"no answer from {self._url} within {self.config.timeout_s} s") from None
            raise BackendConnectionError(f"cannot reach {self._url}: {exc.reason}") from None
        except (ConnectionError, OSError) as exc:
            raise BackendConnectionError(f"connection to {self._url} failed: {exc}") from None

    def _complete(self, prompt: Prompt) -> str:
        data = json.dumps(self.request_body(prompt)).encode("utf-8")
        attempts = self.config.retries + 1
        for attempt in range(attempts):
            try:
                return self._post_once(data)
            except (BackendTimeoutError, BackendConnectionError, BackendHTTPError) as exc:
                retryable = not isinstance(exc, BackendHTTPError) or exc.status in _RETRY_STATUS
                if not retryable or attempt == attempts - 1:
                    raise
                wait = self.config.backoff_s * 2**attempt
                log.info(
                    "supervisor query attempt %d/%d failed (%s); retrying in %.2f s", attempt + 1, attempts, exc, wait
                )
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover
