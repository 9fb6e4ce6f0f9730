"""Fast failure detection: a cheap per-chunk score asks the supervisor at once, before its schedule would.

Roles and parts: :class:`FailureDetector` (the role; ``dual_head`` scores ``(1 − cos(v_s, v_f)) / 2`` from AFIL's
guidance trace), the registry (``supervisor.detector.kind``), :class:`DetectorTrigger` (the scheduler as a report
source, asked at once on a trip), and :mod:`~failforward.supervisor.detector.calibrate` (a threshold from undisturbed
episodes).

Example:
    >>> detector = make_detector(DualHeadDetectorConfig(threshold=0.04), DetectorContext(gamma=1.0))
    >>> supervisor = DetectorTrigger(SupervisorScheduler(backend, schedule), detector)
"""

from failforward.supervisor.detector.base import FailureDetector, Verdict
from failforward.supervisor.detector.calibrate import Calibration, calibrate_threshold, episode_peak
from failforward.supervisor.detector.registry import DETECTORS, DetectorContext, make_detector, register_detector
from failforward.supervisor.detector.trigger import DetectorStats, DetectorTrigger

__all__ = [
    "DETECTORS",
    "Calibration",
    "DetectorContext",
    "DetectorStats",
    "DetectorTrigger",
    "FailureDetector",
    "Verdict",
    "calibrate_threshold",
    "episode_peak",
    "make_detector",
    "register_detector",
]
