"""Evaluating one model as §4 does: the same prompts for every model, per digit count (in and out of
distribution), one sampled episode per prompt plus T fresh first attempts for pass@T."""

from __future__ import annotations

import numpy as np
import torch

from .bootstrap import bootstrap_ci
from .generation import generate, sample_prompts
from .metrics import episode_stats, metrics
from .presets import Preset


def evaluate(model, preset: Preset, seed: int, export: bool = False) -> dict[int, dict]:
    """Per digit count: metrics with bootstrap CIs and the raw per-episode stats (same prompts for every model).
    With ``export`` each digit count also carries ``generations``: its episodes as lines of a generations file
    (numerics.generations.export_records, what ``dsproof decompose`` reads); the draws and results are the same."""
    out = {}
    g = torch.Generator(device=preset.device).manual_seed(seed)
    for n in preset.id_digits + preset.ood_digits:
        rng = np.random.default_rng(seed + 1000 * n)
        prompts, prods = sample_prompts(preset, n, preset.eval_prompts, rng)
        episodes = generate(model, prompts, prods, n, preset, g)
        st = episode_stats(episodes)
        fresh = generate(model, [p for p in prompts for _ in range(preset.T)],
                         [v for v in prods for _ in range(preset.T)], n, preset, g)
        fresh_correct = np.array([c[0] for c in fresh.correct], dtype=np.float64).reshape(-1, preset.T)
        st[:, 8] = fresh_correct.sum(1)
        st[:, 9] = preset.T
        out[n] = dict(metrics=metrics(st, preset.T), ci=bootstrap_ci(st, preset.T, preset.bootstrap, seed + n),
                      stats=st)
        if export:
            from ..generations import export_records

            out[n]["generations"] = export_records(prompts, prods, n, preset.a, preset.attempt_format, episodes,
                                                   (fresh_correct > 0).tolist())
    return out
