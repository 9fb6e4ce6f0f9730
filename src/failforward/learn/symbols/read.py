"""Symbol-following episodes read back for training: the corrective ticks, their prompt and symbols, and the
VSF view a symbol-conditioned vision policy is trained on.

The generator (:mod:`failforward.learn.symbols.generate`) records the correction once, at the hand-over tick,
on ``/supervisor/diagnosis``; :func:`symbol_episode` finds it and cuts the episode there. :func:`vsf_arrays`
applies :func:`failforward.symbols.vsf.vsf_observation` to every kept tick exactly as the VSF mode does at
runtime (symbols drawn on the head image, everything outside their ROI zeroed, the idle arm's wrist image
zeroed); the symbols are pixels of the head image at the recorded size.

Example:
    >>> sample = symbol_episode(read_episode("runs/learn/tc_sym/symbols/episode_0000_seed50000.mcap"))
    >>> arrays = vsf_arrays(sample.arrays, sample.diagnosis)          # vision models
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from failforward.errors import RecordingError
from failforward.learn.episodes import ActionSource, EpisodeArrays, from_recorded
from failforward.record.reader import RecordedEpisode
from failforward.supervisor.diagnosis import Diagnosis
from failforward.symbols.vsf import ALOHA_WRIST_CAMERAS, vsf_observation
from failforward.types import Observation


@dataclass(frozen=True)
class SymbolEpisode:
    """The corrective part of one symbol episode.

    Attributes:
        arrays: ticks ``takeover ..`` (prompt = the correction's sentence, success = the motion was followed).
        diagnosis: the recorded correction (commands, symbols in head-image pixels, raw answer).
        takeover: [ticks] where the motion starts in the recorded file.
    """

    arrays: EpisodeArrays
    diagnosis: Diagnosis
    takeover: int


def recorded_correction(recorded: RecordedEpisode) -> tuple[Diagnosis, int]:
    """The correction's diagnosis and its hand-over tick, from the file's first ``/supervisor/diagnosis``."""
    for _, payload in recorded.diagnoses:
        result = payload.get("result", {})
        if result.get("kind") == "diagnosis":
            return Diagnosis.model_validate(result), int(payload["step"])
    raise RecordingError(
        f"{recorded.path} has no correction on /supervisor/diagnosis: it is not a symbol episode "
        "(or its motion was refused; those carry no diagnosis)."
    )


def symbol_episode(recorded: RecordedEpisode, action_source: ActionSource = "sent") -> SymbolEpisode:
    """Cut ``recorded`` at its hand-over tick (the prelude is the expert doing the task, not symbol data)."""
    diagnosis, takeover = recorded_correction(recorded)
    arrays = from_recorded(recorded, action_source).tail(takeover)
    return SymbolEpisode(replace(arrays, prompt=diagnosis.command_text), diagnosis, takeover)


def vsf_arrays(
    arrays: EpisodeArrays, diagnosis: Diagnosis, *, head_camera: str = "top", margin: int = 50, min_size: int = 50
) -> EpisodeArrays:
    """``arrays`` with every tick's images as the VSF policy sees them (``vsf_observation``); the head camera must
    have been recorded at the size the symbols refer to."""
    if head_camera not in arrays.images:
        raise RecordingError(
            f"VSF needs the head camera {head_camera!r}; the episode has {sorted(arrays.images)} "
            "(record symbol episodes with a vision model's cameras)."
        )
    frames: dict[str, list[np.ndarray]] = {camera: [] for camera in arrays.images}
    for t in range(arrays.length):
        obs = Observation(
            0.0,
            arrays.joint_positions[t],
            np.zeros_like(arrays.joint_positions[t]),
            images={camera: video[t] for camera, video in arrays.images.items()},
        )
        seen = vsf_observation(
            obs,
            diagnosis.symbols,
            diagnosis.active_grippers,
            head_camera=head_camera,
            wrist_cameras=ALOHA_WRIST_CAMERAS,
            margin=margin,
            min_size=min_size,
        )
        for camera in frames:
            frames[camera].append(seen.images[camera])
    return replace(arrays, images={camera: np.stack(video) for camera, video in frames.items()})
