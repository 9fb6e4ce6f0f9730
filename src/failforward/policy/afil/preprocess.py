"""Observation + prompt → the model's input arrays, checked; normalized chunk → joint targets.

Shared by every backend (NumPy; MuJoCo only for a model with kinematic ``state_features``), so a bad observation fails
the same way everywhere.
Input arrays carry a batch axis of 1:

    state       float32 [1, S]            standardized joint positions, then object state if the robot has it, then
                                          the model's derived state features (``state_features``)
    tokens      int64   [1, L]            prompt ids (0 = padding)              ``hash`` text encoder
    token_mask  bool    [1, L]                                                  ``hash``
    prompt_embedding float32 [1, E]       unit-norm sentence embedding          ``minilm`` (see ``text_encoder``)
    images      uint8   [1, C, H, W, 3]   RGB in ``config.cameras`` order (only if the model has cameras)
    noise       float32 [1, H, A]         flow noise at τ = 0
"""

from __future__ import annotations

import numpy as np

from failforward.errors import ExpertError, ShapeError
from failforward.policy.afil.action_space import AlohaToolIK, aloha_tool_actions
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.errors import ObservationError
from failforward.policy.afil.normalize import NormStats, action_reference
from failforward.policy.afil.state_features import model_state
from failforward.policy.afil.text_encoder import TextEncoder, make_text_encoder
from failforward.types import Observation

BLACK_LEVEL = 8  # a frame whose brightest pixel is at most this (of 255) shows nothing: a dead or covered camera


def _refuse_black(name: str, image: np.ndarray) -> None:
    """Raise ``ObservationError`` for a black frame ``uint8 [H, W, 3]`` (max pixel ≤ ``BLACK_LEVEL``)."""
    brightest = int(image.max())
    if brightest <= BLACK_LEVEL:
        raise ObservationError(
            f"camera {name!r} frame is black (brightest pixel {brightest} of 255): the camera is covered, "
            "unpowered or not streaming yet; check it and its exposure, the policy will not act on it."
        )


class InputEncoder:
    """Builds checked input arrays for one model (shape from ``config``, stats from ``norm``).

    ``text``: the model's text encoder (with its model directory's prompt table); default one for ``config``.
    """

    def __init__(self, config: AfilModelConfig, norm: NormStats, text: TextEncoder | None = None) -> None:
        self.config, self.norm = config, norm
        self.text = text if text is not None else make_text_encoder(config)
        self._tool_ik: AlohaToolIK | None = AlohaToolIK() if config.action_space == "aloha_tool" else None

    def encode(self, obs: Observation, prompt: str) -> dict[str, np.ndarray]:
        """Arrays for ``obs`` and ``prompt`` (see module docstring); raises on anything malformed."""
        inputs = {"state": self._state(obs), **{k: v[None] for k, v in self.text.encode(prompt).items()}}
        if self.config.cameras:
            inputs["images"] = self._images(obs)
        return inputs

    def noise(self, noise: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        """``[1, H, A]`` float32: the caller's noise (``[H, A]`` or ``[1, H, A]``) checked, or a fresh draw."""
        shape = (self.config.horizon, self.config.action_dim)
        if noise is None:
            return rng.standard_normal((1, *shape)).astype(np.float32)
        noise = np.asarray(noise, dtype=np.float32)
        if noise.shape not in (shape, (1, *shape)):
            raise ShapeError(f"noise must be [H, A] = {list(shape)}, got {list(noise.shape)}.")
        if not np.all(np.isfinite(noise)):
            raise ObservationError("noise contains NaN or inf; pass finite standard-normal noise or None.")
        return noise.reshape(1, *shape)

    def actions(self, z: np.ndarray, obs: Observation) -> np.ndarray:
        """Normalized chunk ``[1, H, A]`` sampled at ``obs`` → float64 absolute joint targets ``[H, robot joints]``
        (relative action dimensions get ``obs``'s joint positions back; tool rows become joints by IK from ``obs``'s
        joints, ``action_space``); refuses non-finite output."""
        actions = self.norm.unnormalize_actions(np.asarray(z)[0]) + self.reference(obs)
        if not np.all(np.isfinite(actions)):
            raise ObservationError("The policy produced NaN/inf actions; check the weights and the input state.")
        if self._tool_ik is None:
            return actions
        try:
            return self._tool_ik.to_joints(actions, obs.joint_positions)
        except ExpertError as exc:
            raise ObservationError(f"The tool-space chunk has no IK solution from the measured joints: {exc}") from exc

    def model_actions(self, joints: np.ndarray) -> np.ndarray:
        """Joint targets ``[P, robot joints]`` → the model's action rows ``[P, A]`` (an RTC prefix)."""
        return aloha_tool_actions(joints) if self._tool_ik is not None else joints

    def reference(self, obs: Observation) -> np.ndarray:
        """``[A]``: what this model's actions are relative to at ``obs`` (``normalize.action_reference``)."""
        c = self.config
        return action_reference(obs.state, c.relative_actions, c.action_dim, c.action_space)

    def _state(self, obs: Observation) -> np.ndarray:
        q = obs.state
        if q.shape != (self.config.state_dim,):
            raise ShapeError(
                f"state must be [{self.config.state_dim}] for this model, got {obs.joint_positions.size} joints + "
                f"{obs.object_state.size} object state; enable or disable the robot's object_state to match the model."
            )
        bad = np.flatnonzero(~np.isfinite(q))
        if bad.size:
            n = obs.joint_positions.size
            raise ObservationError(
                f"state has NaN/inf at joints {bad[bad < n].tolist()} and object-state entries "
                f"{(bad[bad >= n] - n).tolist()}; fix the state reader or the pose estimator."
            )
        return self.norm.normalize_state(model_state(q, self.config.state_features))[None]

    def _images(self, obs: Observation) -> np.ndarray:
        """``uint8 [1, C, H, W, 3]``; refuses a missing, wrong-size or black frame (unless the runtime blanked it
        on purpose, ``Observation.blanked``)."""
        c, images = self.config, obs.images
        missing = [name for name in c.cameras if name not in images]
        if missing:
            raise ObservationError(
                f"Missing camera(s) {missing}: the model needs {list(c.cameras)}, the observation has "
                f"{sorted(images)}. Enable them in the robot config's cameras."
            )
        want = (c.image_height, c.image_width, 3)
        for name in c.cameras:
            if images[name].shape != want or images[name].dtype != np.uint8:
                raise ShapeError(
                    f"camera {name!r} image must be uint8 {list(want)}, got {images[name].dtype} "
                    f"{list(images[name].shape)}; set the camera resolution to {c.image_width}x{c.image_height}."
                )
            if name not in obs.blanked:
                _refuse_black(name, images[name])
        return np.stack([images[name] for name in c.cameras])[None]
