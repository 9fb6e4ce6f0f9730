"""Qwen3-VL on a local GPU through ``transformers``, optionally with a LoRA adapter (ViFailback-8B).

Example (on the GPU box):
    >>> backend = make_backend(QwenLocalConfig(model_path="Qwen/Qwen3-VL-8B-Instruct",
    ...                                        lora_path=Path("/models/ViFailback-8B")))

``transformers`` (≥ 4.57, Qwen3-VL), ``torch`` and, for a LoRA, ``peft`` are imported when the backend is
built, never at module import; without them construction raises :class:`BackendUnavailableError` with
the install line. Decoding is greedy (temperature 0), ``max_new_tokens`` 2048 by default.
"""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Any

from failforward.config import QwenLocalConfig
from failforward.supervisor.backends.base import ChatBackend
from failforward.supervisor.backends.registry import register_backend
from failforward.supervisor.errors import BackendUnavailableError
from failforward.supervisor.prompts import ImageRef, Prompt
from failforward.supervisor.questions import QuestionType

log = logging.getLogger(__name__)
_INSTALL = "pip install 'transformers>=4.57' accelerate peft (with the project's torch==2.13.0) on a CUDA machine"


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendUnavailableError(f"the qwen_local backend needs {module!r}: {_INSTALL}") from exc


def qwen_messages(prompt: Prompt) -> list[dict[str, Any]]:
    """Chat-template messages with PIL images in prompt order (as the release's inference script builds)."""
    image_module = _require("PIL.Image")
    content: list[dict[str, Any]] = []
    for segment in prompt.segments:
        if isinstance(segment, ImageRef):
            content.append({"type": "image", "image": image_module.fromarray(prompt.images[segment.index])})
        elif segment:
            content.append({"type": "text", "text": segment})
    return [{"role": "user", "content": content}]


@register_backend("qwen_local")
class QwenLocalBackend(ChatBackend):
    """Generates answers with a local Qwen3-VL (+ LoRA); one query at a time."""

    def __init__(self, config: QwenLocalConfig) -> None:
        super().__init__(QuestionType(config.question))
        self.config = config
        transformers = _require("transformers")  # checked first: importing torch alone takes seconds
        torch = _require("torch")
        dtype = getattr(torch, config.dtype)
        log.info("loading %s (%s) for the supervisor", config.model_path, config.dtype)
        model = transformers.AutoModelForImageTextToText.from_pretrained(
            config.model_path, dtype=dtype, device_map=config.device_map
        )
        if config.lora_path is not None:
            peft = _require("peft")
            model = peft.PeftModel.from_pretrained(model, str(config.lora_path))
        self._model = model.eval()
        self._processor = transformers.AutoProcessor.from_pretrained(config.model_path)
        self._torch = torch
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: QwenLocalConfig, **_: Any) -> QwenLocalBackend:
        return cls(config)

    def _complete(self, prompt: Prompt) -> str:
        inputs = self._processor.apply_chat_template(
            qwen_messages(prompt), tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        ).to(self._model.device)
        with self._lock, self._torch.inference_mode():
            output = self._model.generate(**inputs, max_new_tokens=self.config.max_new_tokens, do_sample=False)
        generated = output[:, inputs["input_ids"].shape[1] :]
        return self._processor.batch_decode(generated, skip_special_tokens=True)[0]

    def close(self) -> None:
        self._model = None
        if self._torch.cuda.is_available():
            self._torch.cuda.empty_cache()
