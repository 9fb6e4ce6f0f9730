"""One contract every SupervisorBackend passes: typed results only, never an exception into the loop."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.config import OpenAIBackendConfig, ScriptedBackendConfig, SimOracleConfig
from failforward.errors import UnknownNameError
from failforward.sim.aloha_scene import AlohaScene
from failforward.sim.tasks import get_task
from failforward.supervisor.backends.base import SupervisorBackend
from failforward.supervisor.backends.registry import make_backend, register_backend, registered_backends
from failforward.supervisor.backends.scripted import ScriptedBackend
from failforward.supervisor.diagnosis import Diagnosis, NoDiagnosis, Unreadable

GOOD = [np.zeros((48, 64, 3), np.uint8)] * 3
ANSWER = '<Answer>\n"success detection": "Failed",\n"low level commands": "Open the left gripper."\n</Answer>'


class SupervisorBackendContract:
    """Mix into a test class that defines ``make_backend()``."""

    def make_backend(self) -> SupervisorBackend:
        raise NotImplementedError

    @pytest.fixture
    def backend(self):
        made = self.make_backend()
        yield made
        made.close()

    def test_returns_a_typed_result(self, backend) -> None:
        result = backend.diagnose(GOOD, "Hand the cube over.", context=backend.capture_context())
        assert isinstance(result, Diagnosis | Unreadable | NoDiagnosis)

    @pytest.mark.parametrize(
        "frames",
        [
            [],
            [np.zeros((48, 64), np.uint8)],
            [np.zeros((48, 64, 3), np.float32)],
            [None],
            [np.zeros((48, 64, 4), np.uint8)],
        ],
    )
    def test_bad_frames_are_an_empty_frames_no_diagnosis(self, backend, frames) -> None:
        result = backend.diagnose(frames, "task")
        assert isinstance(result, NoDiagnosis) and result.reason == "empty_frames" and result.message

    def test_reset_and_repeat(self, backend) -> None:
        backend.reset()
        first = backend.diagnose(GOOD, "task")
        backend.reset()
        assert type(backend.diagnose(GOOD, "task")) is type(first)


class TestScriptedContract(SupervisorBackendContract):
    def make_backend(self) -> SupervisorBackend:
        return make_backend(ScriptedBackendConfig(answers=(ANSWER,)))


class TestRaisingScriptedContract(SupervisorBackendContract):
    def make_backend(self) -> SupervisorBackend:
        return ScriptedBackend((ValueError("model crashed"),))

    def test_exceptions_become_backend_error(self, backend) -> None:
        result = backend.diagnose(GOOD, "task")
        assert isinstance(result, NoDiagnosis) and result.reason == "backend_error"
        assert "model crashed" in result.message


class TestDeadOpenAIContract(SupervisorBackendContract):
    def make_backend(self) -> SupervisorBackend:
        return make_backend(OpenAIBackendConfig(base_url="http://127.0.0.1:9/v1", timeout_s=0.5, retries=0))


class TestSimOracleContract(SupervisorBackendContract):
    def make_backend(self) -> SupervisorBackend:
        scene = AlohaScene(get_task("transfer_cube"))
        scene.reset(seed=0)
        return make_backend(SimOracleConfig(task="transfer_cube"), state_source=scene.state)


def test_registry_lists_builtins_and_suggests_close_names() -> None:
    assert {"openai", "sim_oracle", "qwen_local", "scripted"} <= set(registered_backends())

    class Config:
        kind = "opnai"

    with pytest.raises(UnknownNameError, match="Did you mean 'openai'"):
        make_backend(Config())


def test_third_party_backends_register_like_builtins() -> None:
    @register_backend("echo_test")
    class Echo(ScriptedBackend):
        @classmethod
        def from_config(cls, config, **_):
            return cls((config.answer,))

    class Config:
        kind = "echo_test"
        answer = ANSWER

    assert isinstance(make_backend(Config()).diagnose(GOOD, "task"), Diagnosis)
