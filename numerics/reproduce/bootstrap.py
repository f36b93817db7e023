"""Uncertainty of §4's measurements: percentile bootstrap over prompts, for one model and for the paired
SFT-reflect -> RL difference (both models evaluated on the same prompts)."""

from __future__ import annotations

import warnings

import numpy as np

from .metrics import METRIC_KEYS, metric_array


def _percentiles(vals: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():  # a metric with no defined value in any replicate stays nan
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(vals, [50 * (1 - level), 50 * (1 + level)], axis=0)


def bootstrap_ci(stats: np.ndarray, T: int, reps: int, seed: int, level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap over prompts (episodes resampled with replacement)."""
    idx = np.random.default_rng(seed).integers(0, len(stats), size=(reps, len(stats)))
    lo, hi = _percentiles(metric_array(stats[idx], T), level)
    return {k: (float(a), float(b)) for k, a, b in zip(METRIC_KEYS, lo, hi)}


def diff_level(id_digits, alpha: float = 0.05) -> float:
    """Confidence level of the SFT-reflect -> RL paired differences: Bonferroni over the in-distribution digit
    counts ``id_digits`` (a gain is called significant when its interval at this level excludes 0)."""
    return 1 - alpha / len(id_digits)


def paired_difference(stats_a: np.ndarray, stats_b: np.ndarray, T: int, reps: int, seed: int,
                      level: float = 0.95) -> dict[str, tuple[float, float, float]]:
    """b - a for every metric, with a paired percentile bootstrap: both models were evaluated on the same prompts,
    so the same resampled prompt indices are used for both.  Returns key -> (estimate, lo, hi)."""
    if stats_a.shape != stats_b.shape:
        raise ValueError(f"paired stats must have the same shape, got {stats_a.shape} and {stats_b.shape}")
    idx = np.random.default_rng(seed).integers(0, len(stats_a), size=(reps, len(stats_a)))
    est = metric_array(stats_b, T) - metric_array(stats_a, T)
    lo, hi = _percentiles(metric_array(stats_b[idx], T) - metric_array(stats_a[idx], T), level)
    return {k: (float(e), float(a), float(b)) for k, e, a, b in zip(METRIC_KEYS, est, lo, hi)}
