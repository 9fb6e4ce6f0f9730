"""Common part of every AFIL backend: checked inputs in, ``ActionChunk`` out.

A backend only implements :meth:`AfilBackend.run` on prepared arrays (see ``preprocess``); encoding,
noise, un-normalization and output checks are shared, so all backends fail alike on bad input.
"""

from __future__ import annotations

import abc

import numpy as np

from failforward.policy.afil.config import BackendConfig, GuidanceMode
from failforward.policy.afil.errors import ManifestError
from failforward.policy.afil.manifest import Manifest, load_manifest
from failforward.policy.afil.prefix import empty_prefix, encode_prefix, resolve_rtc
from failforward.policy.afil.preprocess import InputEncoder
from failforward.policy.afil.text_encoder import load_text_encoder
from failforward.policy.base import PolicyBackend, RtcSupport
from failforward.types import ActionChunk, ChunkPrefix, Observation


class AfilBackend(PolicyBackend):
    """A :class:`PolicyBackend` for one AFIL model directory.

    Args:
        manifest: the verified manifest of ``config.model_dir``.
        config: backend choice, threads, sampler and guidance.
    """

    kind: str = "afil"
    gradients: bool = False  # can run inference-time RTC (needs a vector-Jacobian product): torch only

    def __init__(self, manifest: Manifest, config: BackendConfig) -> None:
        self.manifest, self.config = manifest, config
        self.encoder = InputEncoder(manifest.model, manifest.norm_stats, load_text_encoder(manifest, config.model_dir))
        self.rng = np.random.default_rng(None if config.seed is None else config.seed % 2**64)
        self.guided = config.sampler.guidance.mode is not GuidanceMode.NONE
        self.coefficients = np.asarray(config.sampler.guidance.coefficients(), dtype=np.float32)
        if self.guided and manifest.training is not None and manifest.training.failure_ticks == 0:
            raise ManifestError(
                f"{manifest.name}: the failure head was never trained (no failure episodes), so guidance would "
                "steer away from noise. Use guidance mode 'none', or train with failure episodes."
            )
        if config.layout == "fused" and config.sampler.num_steps != manifest.sampler.num_steps:
            raise ManifestError(
                f"{manifest.name}: the fused graphs were exported with num_steps={manifest.sampler.num_steps}, "
                f"the config asks for {config.sampler.num_steps}. Use layout='split' or re-export with that many steps."
            )
        self._rtc = resolve_rtc(config.rtc, manifest, self.gradients)
        self._episode_noise: np.ndarray | None = None  # sampler.noise == "episode": this episode's draw

    def reset(self) -> None:
        """A new episode: with ``sampler.noise == "episode"`` its first chunk draws the noise its chunks share."""
        self._episode_noise = None

    def seed_episode(self, episode_seed: int) -> None:
        """With ``config.seed`` set, this episode's flow noise comes from ``SeedSequence((seed, episode_seed))``
        (both taken modulo 2⁶⁴, so negative seeds are fine); without one it stays fresh entropy."""
        self._episode_noise = None
        if self.config.seed is not None:
            self.rng = np.random.default_rng(np.random.SeedSequence([self.config.seed % 2**64, episode_seed % 2**64]))

    def _noise(self, noise: np.ndarray | None) -> np.ndarray:
        """``[1, H, A]``: the caller's noise, else this episode's draw (``sampler.noise == "episode"``), else fresh."""
        if noise is not None or self.config.sampler.noise == "chunk":
            return self.encoder.noise(noise, self.rng)
        if self._episode_noise is None:
            self._episode_noise = self.encoder.noise(None, self.rng)
        return self._episode_noise

    @property
    def rtc(self) -> RtcSupport:
        """``training`` (max delay from the manifest) / ``inference`` (torch) / ``none``, per ``config.rtc``."""
        return self._rtc

    @classmethod
    def from_config(cls, config: BackendConfig) -> AfilBackend:
        """Load and verify ``config.model_dir`` and build the backend."""
        return cls(load_manifest(config.model_dir), config)

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        """Sample one chunk of absolute joint targets ``[H, A]`` with its λ_t trace ``[N]`` (empty if unguided) and,
        for a model with a done head, the probability that the prompted subgoal has ended at ``obs`` (``done``).

        ``prefix`` is honoured as :attr:`rtc` says (ignored when ``none``); a delay beyond ``rtc.max_delay``
        raises ``PrefixError``.
        """
        inputs = self.encoder.encode(obs, prompt)
        inputs["noise"] = self._noise(noise)
        inputs.update(self.prefix_inputs(prefix, obs))
        z, lambdas = self.run(inputs)
        done = float(self.run_done(inputs)[0]) if self.manifest.model.done_head else None
        return ActionChunk(self.encoder.actions(z, obs), guidance=lambdas[0], source=f"afil-{self.kind}", done=done)

    def prefix_inputs(self, prefix: ChunkPrefix | None, obs: Observation) -> dict[str, np.ndarray]:
        """``prefix``/``prefix_len``[/``prefix_weights``] arrays (``afil.prefix``) for a chunk sampled at ``obs``;
        empty when not needed."""
        if prefix is not None and self._rtc.method != "none":
            reference = self.encoder.reference(obs)
            if self.manifest.model.action_space != "joints":  # the model's rows are not joints: convert the prefix
                prefix = ChunkPrefix(self.encoder.model_actions(prefix.actions), prefix.delay)
            return encode_prefix(prefix, self.encoder.norm, self.manifest.model.horizon, self._rtc, reference)
        if self.manifest.prefix_training is not None:  # its graphs take a prefix: none = length 0
            return empty_prefix(self.manifest.model.horizon, self.manifest.model.action_dim)
        return {}

    @abc.abstractmethod
    def run_done(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The done head's end-of-edge probability ``float32 [1]`` from the observation arrays of ``inputs``
        (called only for a model with a done head)."""

    @abc.abstractmethod
    def run(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Sample from prepared arrays (``preprocess`` names, batch 1, plus ``noise [1, H, A]`` and, with a
        real-time chunking prefix, the ``afil.prefix`` arrays).

        Returns:
            normalized chunk ``float32 [1, H, A]`` and λ trace ``float32 [1, N]`` (``[1, 0]`` unguided).
        """
