"""Supervisor configuration: which backend answers, and when it is asked.

The backend is chosen by the ``kind`` of ``SupervisorConfig.backend`` (a discriminated union): each kind
names a registered backend class. Secrets never live in a config: the OpenAI-compatible backend reads its
API key from the environment variable named by ``api_key_env``.

Example:
    >>> cfg = SupervisorConfig(backend=OpenAIBackendConfig(base_url="http://gpu-box:8000/v1", model="ViFailback-8B"))
    >>> backend = make_backend(cfg.backend)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from failforward.config.base import AlohaCamera, FrozenModel, SimAlohaTask
from failforward.config.detector import DetectorConfig

CotQuestion = Literal[
    "visual_correction_cot", "visual_avoidance_cot", "low_level_correction_cot", "low_level_avoidance_cot"
]
"""Question types a backend may ask in the loop: those whose answers :func:`parse_answer` reads."""


class OpenAIBackendConfig(FrozenModel):
    """Any OpenAI-compatible chat-completions server (vLLM, SGLang, a hosted API).

    Attributes:
        base_url: server root including the API version, e.g. ``http://127.0.0.1:8000/v1``.
        model: model name the server serves (``ViFailback-8B``, ``Qwen/Qwen3-VL-8B-Instruct``…).
        api_key_env: environment variable holding the API key (unset = no ``Authorization`` header).
        timeout_s: per-attempt timeout [s]; retries: extra attempts after timeouts, connection errors,
            HTTP 429 and 5xx, waiting ``backoff_s · 2^k`` [s] before attempt ``k + 1``.
    """

    kind: Literal["openai"] = "openai"
    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "ViFailback-8B"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = Field(60.0, gt=0.0, le=600.0)
    retries: int = Field(2, ge=0, le=10)
    backoff_s: float = Field(0.5, ge=0.0, le=30.0)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(2048, ge=16, le=32768)
    jpeg_quality: int = Field(90, ge=10, le=100)
    question: CotQuestion = "visual_correction_cot"


class SimOracleConfig(FrozenModel):
    """Privileged simulation oracle: diagnoses from simulator state, answers in ViFailback text.

    Attributes:
        task: the simulated task whose stages and objects it knows: gym-aloha's ``transfer_cube`` and ``insertion``
            (per-stage roles, ``supervisor.oracle.rules``), or ``plug_strip`` (a plug let go outside a socket,
            ``supervisor.oracle.plug_strip_rules``).
        camera: camera whose pixels the symbols are written for (the head camera).
        stall_s: no task-stage progress for this long [s of sim time] while the gripper is not closing in
            on its target counts as a failure.
        near_m: gripper-to-target distance [m] under which the gripper counts as "at" the target.
    """

    kind: Literal["sim_oracle"] = "sim_oracle"
    task: SimAlohaTask = "transfer_cube"
    camera: AlohaCamera = "top"
    stall_s: float = Field(4.0, gt=0.0)
    near_m: float = Field(0.03, gt=0.0)
    question: CotQuestion = "visual_correction_cot"


class QwenLocalConfig(FrozenModel):
    """Qwen3-VL through ``transformers`` on a local GPU, optionally with a LoRA adapter (ViFailback-8B)."""

    kind: Literal["qwen_local"] = "qwen_local"
    model_path: str = "Qwen/Qwen3-VL-8B-Instruct"
    lora_path: Path | None = None
    device_map: str = "auto"
    dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"
    max_new_tokens: int = Field(2048, ge=16, le=32768)
    question: CotQuestion = "visual_correction_cot"


class ScriptedBackendConfig(FrozenModel):
    """Replays fixed answer texts in turn (tests, demos); ``delay_s`` [s] simulates a slow model."""

    kind: Literal["scripted"] = "scripted"
    answers: tuple[str, ...] = Field(min_length=1)
    delay_s: float = Field(0.0, ge=0.0)
    question: CotQuestion = "visual_correction_cot"


BackendConfig = Annotated[
    OpenAIBackendConfig | SimOracleConfig | QwenLocalConfig | ScriptedBackendConfig, Field(discriminator="kind")
]


class ScheduleConfig(FrozenModel):
    """When and over what the supervisor is queried (paper 4.3: every 6 chunks, last 5 s at 1 fps).

    Attributes:
        every_chunks: query after every K-th newly inferred action chunk.
        window_s: [s] of head-camera history sent with a query.
        fps: [1/s] frame rate of that history.
        camera: the head camera's name in ``Observation.images``.
        max_age_s: [s] of observation time; an answer collected more than this after its query was
            launched is dropped as stale.
    """

    every_chunks: int = Field(6, ge=1)
    window_s: float = Field(5.0, gt=0.0, le=60.0)
    fps: float = Field(1.0, gt=0.0, le=30.0)
    camera: str = "top"
    max_age_s: float = Field(10.0, gt=0.0)


class SupervisorConfig(FrozenModel):
    """The supervisor as a whole: which backend, and when it is asked.

    ``detector`` (``None``: the schedule alone) also asks it at once when a cheap per-chunk failure score trips
    (:mod:`failforward.config.detector`); the schedule stays as the fallback.
    """

    enabled: bool = True
    backend: BackendConfig = SimOracleConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    detector: DetectorConfig | None = None
