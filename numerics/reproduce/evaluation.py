"""Evaluating one model as §4 does: the same prompts for every model, per digit count (in and out of
distribution), one sampled episode per prompt plus T fresh first attempts for pass@T."""

from __future__ import annotations

import numpy as np
import torch

from .bootstrap import bootstrap_ci
from .generation import generate, sample_prompts
from .metrics import episode_stats, metrics
from .presets import Preset


def evaluate(model, preset: Preset, seed: int) -> dict[int, dict]:
    """Per digit count: metrics with bootstrap CIs and the raw per-episode stats (same prompts for every model)."""
    out = {}
    g = torch.Generator(device=preset.device).manual_seed(seed)
    for n in preset.id_digits + preset.ood_digits:
        rng = np.random.default_rng(seed + 1000 * n)
        prompts, prods = sample_prompts(preset, n, preset.eval_prompts, rng)
        st = episode_stats(generate(model, prompts, prods, n, preset, g))
        fresh = generate(model, [p for p in prompts for _ in range(preset.T)],
                         [v for v in prods for _ in range(preset.T)], n, preset, g)
        st[:, 8] = np.array([c[0] for c in fresh.correct], dtype=np.float64).reshape(-1, preset.T).sum(1)
        st[:, 9] = preset.T
        out[n] = dict(metrics=metrics(st, preset.T), ci=bootstrap_ci(st, preset.T, preset.bootstrap, seed + n),
                      stats=st)
    return out
