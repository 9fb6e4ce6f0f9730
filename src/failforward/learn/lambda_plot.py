"""Plot of the recorded guidance weights λ_t of evaluation episodes, successful vs failed.

Each guided chunk stores ``λ_t [N]`` (one per Euler step, flow time τ = k/N, τ = 0 noise → 1 data) on
``/policy/guidance``. Left: λ over the flow steps (mean and 10–90 % band over all chunks). Right: the
chunk-mean λ over episode time [s].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from failforward.record.reader import read_episode


def load_lambdas(files: list[tuple[Path, bool]]) -> dict[bool, list[tuple[np.ndarray, np.ndarray]]]:
    """``{success: [(chunk times [s] [C], λ [C, N]) per episode]}`` for the recorded episodes ``files``."""
    out: dict[bool, list[tuple[np.ndarray, np.ndarray]]] = {True: [], False: []}
    for path, success in files:
        guidance = read_episode(path, load_images=False).guidance
        if guidance:
            out[success].append((np.array([t for t, _ in guidance]), np.stack([g for _, g in guidance])))
    return out


def plot_lambdas(data: dict[bool, list[tuple[np.ndarray, np.ndarray]]], path: Path, title: str) -> Path:
    """Write the two-panel PNG to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_flow, ax_time) = plt.subplots(1, 2, figsize=(10, 3.8))
    for success, color in ((False, "tab:red"), (True, "tab:green")):  # successes drawn on top
        episodes = data[success]
        if not episodes:
            continue
        label = f"{'successful' if success else 'failed'} ({len(episodes)} episodes)"
        lam = np.concatenate([g for _, g in episodes])  # [chunks, N]
        steps = np.arange(lam.shape[1])
        ax_flow.plot(steps, lam.mean(0), color=color, label=label)
        ax_flow.fill_between(steps, *np.percentile(lam, [10, 90], axis=0), color=color, alpha=0.2)
        for i, (t, g) in enumerate(episodes):
            ax_time.plot(t, g.mean(1), color=color, alpha=0.35, lw=1, label=label if i == 0 else None)
    ax_flow.set(xlabel="Euler step k (τ = k/N)", ylabel="λ_t", title="λ_t over flow steps (mean, 10–90 %)")
    ax_time.set(xlabel="episode time [s]", ylabel="chunk-mean λ_t", title="λ_t over the episode")
    for ax in (ax_flow, ax_time):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
