"""Uncertainty of §4's measurements: percentile bootstrap over prompts, for one model and for the paired
SFT-reflect -> RL difference (both models evaluated on the same prompts).

A replicate resamples prompts with replacement.  With one episode per prompt (the proxy) a prompt is a row of the
stats; with several generations per prompt (``clusters``: the prompt index of every row, 0..K-1) a replicate draws K
prompts and takes every row of each (a cluster bootstrap: generations of one prompt are not independent).
Replicates are drawn and evaluated in chunks, so memory stays bounded by about CHUNK_CELLS stats cells whatever the
number of replicates; the draws are the same numbers one (reps, N) draw would give."""

from __future__ import annotations

import warnings

import numpy as np

from .metrics import METRIC_KEYS, metric_array

#: stats cells (replicates x rows x columns) evaluated at once
CHUNK_CELLS = 1 << 20


def _percentiles(vals: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():  # a metric with no defined value in any replicate stays nan
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(vals, [50 * (1 - level), 50 * (1 + level)], axis=0)


#: the percentile interval of replicate values [reps, ...] at ``level`` (nan-aware): (lo, hi)
percentiles = _percentiles


def _units(clusters: np.ndarray | None, n_rows: int) -> int:
    if clusters is None:
        return n_rows
    clusters = np.asarray(clusters)
    if clusters.shape != (n_rows,):
        raise ValueError(f"clusters must give one prompt index per row ({n_rows}), got shape {clusters.shape}")
    return int(clusters.max()) + 1 if n_rows else 0


def _rows_of(clusters: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(row order grouping rows by prompt, start of each prompt's rows in it) for prompt indices 0..k-1."""
    order = np.argsort(clusters, kind="stable")
    starts = np.searchsorted(clusters[order], np.arange(k + 1))
    return order, starts


def _expand(drawn: np.ndarray, order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The rows of the drawn prompts (1-D), each prompt's rows in file order."""
    lens = starts[drawn + 1] - starts[drawn]
    offsets = np.repeat(starts[drawn] - np.cumsum(lens) + lens, lens)
    return order[offsets + np.arange(lens.sum())]


def _replicates(stats_list: list[np.ndarray], T: int, reps: int, seed: int,
                clusters: list[np.ndarray] | None) -> list[np.ndarray]:
    """metric_array on ``reps`` resamples of the prompts, the same resampled prompts for every stats array in
    ``stats_list``: one [reps, len(METRIC_KEYS)] array per stats array."""
    rng = np.random.default_rng(seed)
    n = len(stats_list[0])
    k = _units(None if clusters is None else clusters[0], n)
    out = [np.empty((reps, len(METRIC_KEYS))) for _ in stats_list]
    if clusters is None:
        chunk = max(1, CHUNK_CELLS // max(1, n * stats_list[0].shape[-1]))
        for start in range(0, reps, chunk):
            idx = rng.integers(0, n, size=(min(chunk, reps - start), n))
            for o, st in zip(out, stats_list):
                o[start:start + len(idx)] = metric_array(st[idx], T)
        return out
    groups = [_rows_of(np.asarray(c), k) for c in clusters]
    rows = max(len(st) for st in stats_list)
    chunk = max(1, CHUNK_CELLS // max(1, rows * stats_list[0].shape[-1]))
    for start in range(0, reps, chunk):
        drawn = rng.integers(0, k, size=(min(chunk, reps - start), k))
        for o, st, (order, starts) in zip(out, stats_list, groups):
            sizes = np.diff(starts)
            if len(sizes) and (sizes == sizes[0]).all():  # every prompt has m rows: one [chunk, K m] gather
                idx = order[(starts[drawn][..., None] + np.arange(sizes[0])).reshape(len(drawn), -1)]
                o[start:start + len(drawn)] = metric_array(st[idx], T)
            else:
                for r, d in enumerate(drawn):
                    o[start + r] = metric_array(st[_expand(d, order, starts)], T)
    return out


def bootstrap_ci(stats: np.ndarray, T: int, reps: int, seed: int, level: float = 0.95,
                 clusters: np.ndarray | None = None) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap over prompts (episodes resampled with replacement; with ``clusters``, the prompt index
    of every row, prompts resampled with all their rows)."""
    if clusters is not None:
        _units(clusters, len(stats))
    (vals,) = _replicates([stats], T, reps, seed, None if clusters is None else [clusters])
    lo, hi = _percentiles(vals, level)
    return {k: (float(a), float(b)) for k, a, b in zip(METRIC_KEYS, lo, hi)}


def diff_level(id_digits, alpha: float = 0.05) -> float:
    """Confidence level of the SFT-reflect -> RL paired differences: Bonferroni over the in-distribution digit
    counts ``id_digits`` (a gain is called significant when its interval at this level excludes 0)."""
    return 1 - alpha / len(id_digits)


def paired_replicates(stats_a: np.ndarray, stats_b: np.ndarray, T: int, reps: int, seed: int,
                      clusters: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """metric_array of both models on the same resampled prompts: two [reps, len(METRIC_KEYS)] arrays.  Without
    ``clusters`` row i of both arrays is prompt i (same shape required); with ``clusters`` (the prompt index of
    every row of a and of b, the same K prompts) a replicate draws K prompts and takes each one's rows in both."""
    if clusters is None:
        if stats_a.shape != stats_b.shape:
            raise ValueError(f"paired stats must have the same shape, got {stats_a.shape} and {stats_b.shape}")
    else:
        ka, kb = _units(clusters[0], len(stats_a)), _units(clusters[1], len(stats_b))
        if ka != kb:
            raise ValueError(f"paired stats must cover the same prompts, got {ka} and {kb}")
    va, vb = _replicates([stats_a, stats_b], T, reps, seed, None if clusters is None else list(clusters))
    return va, vb


def difference_ci(stats_a: np.ndarray, stats_b: np.ndarray, T: int, va: np.ndarray, vb: np.ndarray,
                  level: float = 0.95) -> dict[str, tuple[float, float, float]]:
    """b - a for every metric (estimate on all rows) with the percentile interval of the paired replicates
    (:func:`paired_replicates`).  Returns key -> (estimate, lo, hi)."""
    est = metric_array(stats_b, T) - metric_array(stats_a, T)
    lo, hi = _percentiles(vb - va, level)
    return {k: (float(e), float(a), float(b)) for k, e, a, b in zip(METRIC_KEYS, est, lo, hi)}


def paired_difference(stats_a: np.ndarray, stats_b: np.ndarray, T: int, reps: int, seed: int,
                      level: float = 0.95, clusters: tuple[np.ndarray, np.ndarray] | None = None
                      ) -> dict[str, tuple[float, float, float]]:
    """b - a for every metric, with a paired percentile bootstrap: both models were evaluated on the same prompts,
    so the same resampled prompt indices are used for both.  Returns key -> (estimate, lo, hi)."""
    va, vb = paired_replicates(stats_a, stats_b, T, reps, seed, clusters)
    return difference_ci(stats_a, stats_b, T, va, vb, level)
