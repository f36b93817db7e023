"""§4.2's attribution of RL's gain: a Shapley split of the predicted accuracy change SFT-reflect -> RL over the
model's probabilities (p_s, p_dC, p_dW; or with the retries' own accuracy p_retry)."""

from __future__ import annotations

import itertools

import numpy as np

from .metrics import retry_accuracy

PLAYERS = ("p_s", "p_dC", "p_dW")  # the §4.2 model
RETRY_PLAYERS = ("p_s", "p_retry", "p_dC", "p_dW")  # the same with the retries' own accuracy
SAMPLING_PLAYERS = ("p_s", "p_retry")


def gain_decomposition(sft: dict, rl: dict, T: int, players: tuple[str, ...] = PLAYERS) -> dict[str, float]:
    """Shapley split of the predicted accuracy change SFT -> RL over the model's probabilities: each one's
    marginal change averaged over the orders of switching them from ``sft`` to ``rl`` values.  ``PLAYERS``: the
    §4.2 finite-budget formula at (p_s, p_dC, p_dW); ``RETRY_PLAYERS``: predicted_accuracy_retry at (p_s,
    p_retry, p_dC, p_dW), p_retry taken as p_s where it is undefined (no retry made).  Returns total, one entry
    per probability, sampling (p_s + p_retry) and decision (p_dC + p_dW); they add up.  The probabilities may be
    arrays of one shape (e.g. bootstrap replicates): then every entry is an array, element by element the split of
    the scalars (floats in, floats out)."""
    from theory.calibration import predicted_accuracy_numeric

    if tuple(players) not in (PLAYERS, RETRY_PLAYERS):
        raise ValueError(f"players must be {PLAYERS} or {RETRY_PLAYERS}, got {players}")
    f = predicted_accuracy_numeric(T, retry="p_retry" in players)
    scalar = all(np.ndim(m[k]) == 0 for m in (sft, rl) for k in players if k != "p_retry") and \
        all(np.ndim(m.get("p_retry", 0.0)) == 0 for m in (sft, rl))
    out = float if scalar else np.asarray

    def prob(m: dict, k: str):
        return out(retry_accuracy(m["p_s"], m["p_retry"])) if k == "p_retry" else m[k]

    value = lambda switched: out(f(*[prob(rl if k in switched else sft, k) for k in players]))  # noqa: E731
    share = dict.fromkeys(players, 0.0)
    orders = list(itertools.permutations(players))
    for order in orders:
        done: set = set()
        for k in order:
            before = value(done)
            done = done | {k}
            share[k] += (value(done) - before) / len(orders)
    return dict(total=value(set(players)) - value(set()), **share,
                sampling=sum(share[k] for k in players if k in SAMPLING_PLAYERS),
                decision=share["p_dC"] + share["p_dW"])


