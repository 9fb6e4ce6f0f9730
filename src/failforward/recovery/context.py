"""What a corrective mode may read when it plans: the observation, the joint history, depth and the camera.

Joint vectors ``[A]`` follow the driver's order and units (``failforward.types``); times are [s] of the
driver's clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from failforward.recovery.camera import CameraModel
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import Observation


class JointHistory:
    """Ring buffer of ``(time [s], measured [A], sent [A])`` spanning at most ``horizon_s`` [s]."""

    def __init__(self, horizon_s: float) -> None:
        self.horizon_s = horizon_s
        self._samples: deque[tuple[float, np.ndarray, np.ndarray]] = deque()

    def clear(self) -> None:
        self._samples.clear()

    def append(self, time: float, measured: np.ndarray, sent: np.ndarray) -> None:
        self._samples.append((time, np.asarray(measured).copy(), np.asarray(sent).copy()))
        while self._samples and time - self._samples[0][0] > self.horizon_s:
            self._samples.popleft()

    def __len__(self) -> int:
        return len(self._samples)

    @property
    def last_sent(self) -> np.ndarray | None:
        """The newest command sent ``[A]``, or ``None`` when empty."""
        return self._samples[-1][2].copy() if self._samples else None

    def sent_at(self, time: float) -> np.ndarray | None:
        """The command sent at the newest sample not after ``time`` (the oldest sample if all are later)."""
        if not self._samples:
            return None
        chosen = self._samples[0]
        for sample in self._samples:
            if sample[0] > time:
                break
            chosen = sample
        return chosen[2].copy()


@dataclass(frozen=True)
class PlanContext:
    """Everything a mode may use to plan one correction.

    Attributes:
        observation: the observation of the tick the diagnosis is handled in.
        hold_positions: ``[A]`` what "stay here" means (the last command sent, else the measured positions).
        history: joint history of this episode (rewind).
        report: the supervisor report carrying the diagnosis (frame times: the pre-failure window).
        depth: ``float32 [H, W]`` head-camera depth [m], or ``None`` when no depth is available.
        camera: the head camera's model, or ``None``.
        image_size: ``(height, width)`` [px] of the image the symbols refer to (the last head frame seen this
            episode: the head camera may be sampled for the supervisor, not rendered every tick).
        robot_mask: ``bool [H, W]`` pixels of ``depth`` that show the robot itself, or ``None``.
    """

    observation: Observation
    hold_positions: np.ndarray
    history: JointHistory
    report: SupervisorReport | None = None
    depth: np.ndarray | None = None
    camera: CameraModel | None = None
    image_size: tuple[int, int] | None = None
    robot_mask: np.ndarray | None = None
