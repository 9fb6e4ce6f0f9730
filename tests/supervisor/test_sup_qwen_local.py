"""Local Qwen3-VL backend: import guard here; a real generation on a GPU machine (``-m gpu``)."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from failforward.config import QwenLocalConfig
from failforward.supervisor.backends.qwen_local import qwen_messages
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.diagnosis import Diagnosis, Unreadable
from failforward.supervisor.errors import BackendUnavailableError
from failforward.supervisor.prompts import visual_correction_cot

FRAMES = [np.full((48, 64, 3), 30 * i, np.uint8) for i in range(3)]


def test_messages_keep_images_and_text_in_prompt_order() -> None:
    (message,) = qwen_messages(visual_correction_cot(FRAMES, "Hand the cube over."))
    assert [part["type"] for part in message["content"]] == ["image", "image", "image", "text"]
    assert np.asarray(message["content"][1]["image"])[0, 0, 0] == 30


@pytest.mark.skipif(importlib.util.find_spec("transformers") is not None, reason="transformers is installed")
def test_without_transformers_construction_says_what_to_install() -> None:
    with pytest.raises(BackendUnavailableError, match="pip install 'transformers"):
        make_backend(QwenLocalConfig())


@pytest.mark.gpu
def test_qwen3_vl_answers_a_visual_correction_question() -> None:
    """Needs a CUDA GPU, transformers ≥ 4.57 and the model (``FAILFORWARD_QWEN_MODEL`` / ``FAILFORWARD_QWEN_LORA``)."""
    model = os.environ.get("FAILFORWARD_QWEN_MODEL", "Qwen/Qwen3-VL-8B-Instruct")
    lora = os.environ.get("FAILFORWARD_QWEN_LORA")
    backend = make_backend(QwenLocalConfig(model_path=model, lora_path=lora, max_new_tokens=512))
    try:
        result = backend.diagnose([np.zeros((240, 320, 3), np.uint8)] * 5, "Pick up the red cube.")
    finally:
        backend.close()
    assert isinstance(result, Diagnosis | Unreadable)
    if lora:  # the fine-tuned model must speak the format
        assert isinstance(result, Diagnosis)
