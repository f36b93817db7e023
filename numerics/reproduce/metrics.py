"""§4's measurements on sampled episodes: per-episode counts, and from them accuracy, p_s, p_dC, p_dW, p_retry,
pass@T and the §4.2 predictions (finite budget T, unlimited retries, and the finite budget with the retries' own
accuracy)."""

from __future__ import annotations

import numpy as np

from .. import multiply

STAT_COLUMNS = ("first correct", "final correct", "decisions after correct", "STOP after correct",
                "decisions after wrong", "RESAMPLE after wrong", "later attempts", "later attempts correct",
                "fresh first attempts correct", "fresh first attempts")
METRIC_KEYS = ("accuracy", "p_s", "p_dC", "p_dW", "p_retry", "pass_at_T", "predicted_T", "predicted_inf",
               "predicted_T_retry")


def episode_stats(episodes: multiply.Episodes) -> np.ndarray:
    """Per episode, the counts of STAT_COLUMNS (the two 'fresh' columns 0: numerics.reproduce.evaluate fills
    them)."""
    rows = []
    for corr, decs in zip(episodes.correct, episodes.decisions):
        dC = [d for c, d in zip(corr, decs) if c]
        dW = [d for c, d in zip(corr, decs) if not c]
        rows.append([corr[0], corr[-1], len(dC), sum(d == multiply.STOP for d in dC), len(dW),
                     sum(d == multiply.RESAMPLE for d in dW), len(corr) - 1, sum(corr[1:]), 0, 0])
    return np.array(rows, dtype=np.float64).reshape(-1, len(STAT_COLUMNS))


def retry_accuracy(ps, pr):
    """The retries' accuracy the retry-accuracy formula is evaluated at: p_retry, or p_s where no retry was made
    (p_retry undefined; it then carries no weight).  Scalars or arrays."""
    return np.where(np.isnan(pr), ps, pr)


def metric_array(stats: np.ndarray, T: int) -> np.ndarray:
    """METRIC_KEYS for stats [..., N, 10] -> [..., 9] (vectorised over bootstrap replicates).

    accuracy = final attempt correct; p_s = first attempt correct; p_dC = P(STOP | attempt correct) and
    p_dW = P(RESAMPLE | attempt wrong), pooled over the decisions taken; p_retry = accuracy of attempts after the
    first (the §4.2 model assumes it equals p_s); pass_at_T = fraction of prompts with at least one correct answer
    among T fresh, independent first attempts: the accuracy perfect decisions would reach if every retry were a
    fresh first attempt (the headroom decisions have, pass_at_T - p_s); predicted_T / predicted_inf = theory/'s
    finite-budget and unlimited-retry formulas at (p_s, p_dC, p_dW); predicted_T_retry = the finite-budget
    formula with the retries' own accuracy (theory.calibration.predicted_accuracy_retry at p_retry, taken as p_s
    where no retry was made: then it carries no weight).  Undefined ratios are nan."""
    from theory.calibration import predicted_accuracy_numeric

    s = stats.sum(-2)
    N = stats.shape[-2]
    fT, finf = predicted_accuracy_numeric(T), predicted_accuracy_numeric(None)
    fR = predicted_accuracy_numeric(T, retry=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        acc, ps = s[..., 1] / N, s[..., 0] / N
        pdC, pdW, pr = s[..., 3] / s[..., 2], s[..., 5] / s[..., 4], s[..., 7] / s[..., 6]
        fresh = stats[..., 9] > 0
        pass_T = ((stats[..., 8] > 0) & fresh).sum(-1) / fresh.sum(-1)
        ones = np.ones_like(ps)
        return np.stack([acc, ps, pdC, pdW, pr, pass_T, fT(ps, pdC, pdW) * ones, finf(ps, pdC, pdW) * ones,
                         fR(ps, retry_accuracy(ps, pr), pdC, pdW) * ones], -1)


def metrics(stats: np.ndarray, T: int) -> dict[str, float]:
    """METRIC_KEYS -> value for one set of episodes (see :func:`metric_array`)."""
    return {k: float(v) for k, v in zip(METRIC_KEYS, metric_array(stats, T))}
