"""NumPy twin of :func:`failforward.policy.afil.guidance.guided_velocity` for torch-free hosts (split layout)."""

from __future__ import annotations

import numpy as np

_EPS = 1e-8


def guided_velocity_numpy(v_s: np.ndarray, v_f: np.ndarray, coeffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``v_s, v_f: [B, H, A]``, ``coeffs: [3] = (λ_static, γ, clamp)`` → ``(v [B, H, A], λ_t [B])``."""
    s, f = v_s.reshape(len(v_s), -1), v_f.reshape(len(v_f), -1)
    cos = (s * f).sum(1) / np.maximum(np.linalg.norm(s, axis=1) * np.linalg.norm(f, axis=1), _EPS)
    lam = np.minimum(np.maximum(coeffs[0] + coeffs[1] * (1.0 - cos) * 0.5, 0.0), coeffs[2]).astype(v_s.dtype)
    return v_s + lam[:, None, None] * (v_s - v_f), lam
