"""Fine-tune a model with more state features than it was trained with (``TrainConfig.init_weights``).

A derived state feature (``AfilModelConfig.state_features``) appends numbers to the model's state input. Training a
model from scratch for a new one costs the whole run again; instead the trained model is widened: every layer that
reads the state (the backbone's state token, the mean head's input) gets zero weights for the new numbers, so the
widened model computes exactly what the trained one did, and fine-tuning teaches it to use them. The state's norm
stats keep the trained model's values for the numbers it knew and take the training data's for the new ones.

Only appended features widen (the trained model's ``state_features`` a prefix of the run's, the rest of the config
equal but for ``state_norm``, which then says how the new numbers' stats are fitted: ``robust`` for a feature that a
parked plug sets far off), and not with ``state_in_rows`` (its stacked per-row input is not widened here).
"""

from __future__ import annotations

import numpy as np
import torch

from failforward.errors import ConfigError
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.model import DualActionGenerator
from failforward.policy.afil.normalize import NormStats


def widens(trained: AfilModelConfig, run: AfilModelConfig) -> bool:
    """Whether ``run`` is ``trained`` with state features appended (nothing else changed but ``state_norm``)."""
    old, new = trained.state_features, run.state_features
    free = {"state_features", "state_norm"}
    same_rest = trained.model_dump(exclude=free) == run.model_dump(exclude=free)
    return same_rest and len(new) > len(old) and new[: len(old)] == old


def widen_state_input(
    model: DualActionGenerator, norm: NormStats, config: AfilModelConfig, fitted: NormStats
) -> tuple[DualActionGenerator, NormStats]:
    """``model`` (and its ``norm``) as a model of ``config``, whose state input has more numbers at its end (the
    appended features'): the same outputs for any state (zero weights on the new numbers), norm stats from ``norm``
    for the old numbers and from ``fitted`` (fitted to the run's data in ``config``'s state) for the new ones."""
    if not widens(model.config, config):
        raise ConfigError(
            f"widening appends state features and changes nothing else; the weights have {model.config}, the run "
            f"asks for {config}. Append the new features after the model's own ({model.config.state_features})."
        )
    if config.state_in_rows:
        raise ConfigError("widening does not reach the experts' per-row state input: set state_in_rows to false.")
    old_dim, new_dim = model.config.input_state_dim, config.input_state_dim
    wide = DualActionGenerator(config)
    trained = model.state_dict()
    state = {}
    for name, tensor in wide.state_dict().items():
        source = trained[name]
        if source.shape == tensor.shape:
            state[name] = source
        elif source.shape[:-1] == tensor.shape[:-1] and tensor.shape[-1] - source.shape[-1] == new_dim - old_dim:
            state[name] = torch.cat([source, torch.zeros(*source.shape[:-1], new_dim - old_dim)], dim=-1)
        else:
            raise ConfigError(f"internal: {name} is {list(source.shape)} trained, {list(tensor.shape)} widened")
    wide.load_state_dict(state)
    widened = NormStats(
        np.r_[norm.state_mean, fitted.state_mean[old_dim:]],
        np.r_[norm.state_std, fitted.state_std[old_dim:]],
        norm.action_mean,
        norm.action_std,
    )
    return wide, widened
