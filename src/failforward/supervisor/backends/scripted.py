"""A backend that replays fixed answers: the fake for tests and demos, registered like the real ones."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

from failforward.config import ScriptedBackendConfig
from failforward.supervisor.backends.base import ChatBackend
from failforward.supervisor.backends.registry import register_backend
from failforward.supervisor.prompts import Prompt
from failforward.supervisor.questions import QuestionType


@register_backend("scripted")
class ScriptedBackend(ChatBackend):
    """Answers with ``answers[0]``, ``answers[1]``… in turn (cycling), after ``delay_s`` [s].

    ``prompts`` records every prompt it was asked (for tests). An answer that is an ``Exception``
    instance is raised instead, to exercise error handling.
    """

    def __init__(
        self,
        answers: tuple[str | Exception, ...],
        *,
        delay_s: float = 0.0,
        question: QuestionType = QuestionType.VISUAL_CORRECTION_COT,
    ) -> None:
        super().__init__(question)
        self._answers = itertools.cycle(answers)
        self._lock = threading.Lock()
        self.delay_s = delay_s
        self.prompts: list[Prompt] = []

    @classmethod
    def from_config(cls, config: ScriptedBackendConfig, **_: Any) -> ScriptedBackend:
        return cls(config.answers, delay_s=config.delay_s, question=QuestionType(config.question))

    def _complete(self, prompt: Prompt) -> str:
        with self._lock:
            self.prompts.append(prompt)
            answer = next(self._answers)
        if self.delay_s:
            time.sleep(self.delay_s)
        if isinstance(answer, Exception):
            raise answer
        return answer
