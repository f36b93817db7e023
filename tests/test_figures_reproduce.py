"""The reproduction's printed figures (reports/reproduce/*/results.json and its table) against independent
computations: hand-counted rates on a hand-made batch, the §4.2 process enumerated attempt by attempt in exact
fractions, the bootstrap recomputed replicate by replicate, Shapley values from the subset formula.

Every point is asymmetric (p_dC != p_dW, p_s != 1/2, p_retry != p_s) so that a swapped argument or a dropped term
shows.  Inventory: tests/figure_inventory.py."""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import types
from fractions import Fraction

import numpy as np
import pytest

from numerics import multiply
from numerics import reproduce

STOP, RESAMPLE = multiply.STOP, multiply.RESAMPLE
T = 3

# A hand-made batch, budget T = 3 (C: correct attempt, W: wrong; the decision follows each attempt but the T-th).
EPISODES = [
    ([True], [STOP]),                                # C STOP
    ([False, True], [RESAMPLE, STOP]),               # W RESAMPLE C STOP
    ([False], [STOP]),                               # W STOP
    ([False, False, True], [RESAMPLE, RESAMPLE]),    # W RESAMPLE W RESAMPLE C (capped: no third decision)
    ([True, False], [RESAMPLE, STOP]),               # C RESAMPLE W STOP
    ([False, False, False], [RESAMPLE, RESAMPLE]),   # W RESAMPLE W RESAMPLE W (capped)
    ([True], [STOP]),                                # C STOP
]
FRESH_CORRECT = [3, 1, 0, 2, 0, 1, 2]  # correct answers among T fresh first attempts per prompt
# Hand-counted from the comments above:
HAND = dict(accuracy=Fraction(4, 7),   # final attempt correct: episodes 1, 2, 4, 7
            p_s=Fraction(3, 7),        # first attempt correct: 1, 5, 7
            p_dC=Fraction(3, 4),       # decisions after a correct attempt: STOP, STOP, RESAMPLE, STOP
            p_dW=Fraction(5, 7),       # after a wrong one: RESAMPLE, STOP, RESAMPLE x2, STOP, RESAMPLE x2
            p_retry=Fraction(2, 6),    # attempts after the first: C | W C | W | W W -> 2 of 6
            pass_at_T=Fraction(5, 7))  # prompts with a correct fresh attempt: all but 3 and 5


def _stats(episodes, fresh):
    st = reproduce.episode_stats(types.SimpleNamespace(correct=[c for c, _ in episodes],
                                                       decisions=[d for _, d in episodes]))
    st[:, 8], st[:, 9] = fresh, T
    return st


def _accuracy_enumerated(T, p_s, p_dC, p_dW, p_retry=None):
    """P(the last attempt is correct) by walking the §4.2 process attempt by attempt (the first attempt correct with
    p_s, later ones with p_retry, default p_s; STOP after a correct attempt with p_dC, RESAMPLE after a wrong one
    with p_dW; the T-th attempt is kept).  Exact in Fractions."""
    p_retry = p_s if p_retry is None else p_retry

    def from_attempt(k):  # accuracy given attempt k (1-based) is about to be made
        p = p_s if k == 1 else p_retry
        if k == T:
            return p
        rest = from_attempt(k + 1)
        return p * (p_dC * 1 + (1 - p_dC) * rest) + (1 - p) * ((1 - p_dW) * 0 + p_dW * rest)

    return from_attempt(1)


def _accuracy_unlimited(p_s, p_dC, p_dW):
    """T -> oo (hand derivation): the episode ends at its first STOP, which follows a correct attempt with
    probability p_s p_dC and a wrong one with (1 - p_s)(1 - p_dW); the accuracy is the first share."""
    return p_s * p_dC / (p_s * p_dC + (1 - p_s) * (1 - p_dW))


def _expected_metrics(h):
    return dict(h, predicted_T=_accuracy_enumerated(T, h["p_s"], h["p_dC"], h["p_dW"]),
                predicted_inf=_accuracy_unlimited(h["p_s"], h["p_dC"], h["p_dW"]),
                predicted_T_retry=_accuracy_enumerated(T, h["p_s"], h["p_dC"], h["p_dW"], h["p_retry"]))


def test_metrics_equal_hand_counts_and_enumerated_predictions():
    """Every metric column on the hand-made batch: the rates against hand counts, the three predictions against
    the §4.2 process enumerated at the hand-counted rates (and the unlimited one against its hand formula)."""
    got = reproduce.metrics(_stats(EPISODES, FRESH_CORRECT), T)
    want = _expected_metrics(HAND)
    assert set(got) == set(want) == set(reproduce.METRIC_KEYS)
    for k in reproduce.METRIC_KEYS:
        assert got[k] == pytest.approx(float(want[k]), rel=1e-12, abs=1e-15), k
    # the three predictions differ from each other and from the observed accuracy here: a swap shows
    assert len({round(float(want[k]), 9) for k in ("predicted_T", "predicted_inf", "predicted_T_retry",
                                                    "accuracy")}) == 4


def test_predicted_T_retry_without_a_retry_is_defined():
    """No retry made (every decision STOP: p_retry undefined, nan): the retry prediction is evaluated at
    p_retry = p_s, where it carries no weight, and equals the one-accuracy prediction (2 of 5 first attempts
    correct) instead of being nan."""
    episodes = [([True], [STOP]), ([False], [STOP]), ([True], [STOP]), ([False], [STOP]), ([False], [STOP])]
    got = reproduce.metrics(_stats(episodes, [1, 0, 2, 0, 0]), T)
    assert math.isnan(got["p_retry"]) and (got["p_s"], got["p_dC"], got["p_dW"]) == (0.4, 1.0, 0.0)
    assert got["predicted_T_retry"] == pytest.approx(0.4, rel=1e-12)
    assert got["predicted_T"] == pytest.approx(0.4, rel=1e-12)


def _replicate_metrics(stats, T):
    """The metrics of one bootstrap replicate, recomputed from the stat columns by their definitions."""
    s = stats.sum(0)
    ratio = lambda a, b: a / b if b else math.nan  # noqa: E731
    m = dict(accuracy=s[1] / len(stats), p_s=s[0] / len(stats), p_dC=ratio(s[3], s[2]), p_dW=ratio(s[5], s[4]),
             p_retry=ratio(s[7], s[6]), pass_at_T=float(np.mean(stats[:, 8] > 0)))
    if any(math.isnan(m[k]) for k in ("p_dC", "p_dW")):
        m.update(predicted_T=math.nan, predicted_inf=math.nan, predicted_T_retry=math.nan)
        return m
    pr = m["p_s"] if math.isnan(m["p_retry"]) else m["p_retry"]
    m.update(predicted_T=_accuracy_enumerated(T, m["p_s"], m["p_dC"], m["p_dW"]),
             predicted_inf=_accuracy_unlimited(m["p_s"], m["p_dC"], m["p_dW"]),
             predicted_T_retry=_accuracy_enumerated(T, m["p_s"], m["p_dC"], m["p_dW"], pr))
    return m


def _bigger_batch(seed, flip):
    """60 prompts: the hand-made batch repeated with a seeded shuffle and, for ``flip``, some outcomes changed."""
    rng = np.random.default_rng(seed)
    eps = [EPISODES[i] for i in rng.integers(0, len(EPISODES), 60)]
    fresh = rng.integers(0, T + 1, 60)
    if flip:
        eps = [([True], [STOP]) if i % 5 == 0 else e for i, e in enumerate(eps)]
    return _stats(eps, fresh)


def test_bootstrap_ci_recomputed_replicate_by_replicate():
    """Percentile bootstrap at level 0.9: the same resampled prompt indices (default_rng(seed).integers), each
    replicate's metrics recomputed by their definitions, then the 5th and 95th percentiles."""
    st, reps, seed, level = _bigger_batch(0, False), 40, 11, 0.9
    got = reproduce.bootstrap_ci(st, T, reps, seed, level)
    idx = np.random.default_rng(seed).integers(0, len(st), size=(reps, len(st)))
    per = [_replicate_metrics(st[i], T) for i in idx]
    for k in reproduce.METRIC_KEYS:
        vals = np.array([float(p[k]) for p in per])
        lo, hi = np.nanpercentile(vals, [5, 95])
        assert got[k] == pytest.approx((lo, hi), rel=1e-10, abs=1e-15), k
        assert lo < hi or k == "pass_at_T", k  # a real interval: a wrong level or a constant would show


def test_paired_difference_recomputed_replicate_by_replicate():
    """RL minus SFT-reflect (b - a), the same resampled prompts for both models, at level 0.9."""
    a, b, reps, seed, level = _bigger_batch(1, False), _bigger_batch(1, True), 40, 5, 0.9
    got = reproduce.paired_difference(a, b, T, reps, seed, level)
    idx = np.random.default_rng(seed).integers(0, len(a), size=(reps, len(a)))
    ma, mb = _replicate_metrics(a, T), _replicate_metrics(b, T)
    for k in reproduce.METRIC_KEYS:
        diffs = np.array([float(_replicate_metrics(b[i], T)[k]) - float(_replicate_metrics(a[i], T)[k])
                          for i in idx])
        lo, hi = np.nanpercentile(diffs, [5, 95])
        assert got[k] == pytest.approx((float(mb[k]) - float(ma[k]), lo, hi), rel=1e-10, abs=1e-15), k
    assert got["accuracy"][0] > 0  # b is the better batch: the sign says which way the difference runs


def test_diff_level_is_bonferroni_over_the_in_distribution_digit_counts():
    """Hand values: 2 in-distribution digit counts (the cpu preset) at alpha 0.05 -> 1 - 0.05/2 = 0.975; 3 counts ->
    1 - 0.05/3 = 0.98333."""
    preset = reproduce.PRESETS["cpu"]
    assert len(preset.id_digits) == 2
    assert reproduce.diff_level(preset.id_digits) == pytest.approx(0.975, rel=1e-15)
    assert reproduce.diff_level(preset.id_digits, alpha=0.1) == pytest.approx(0.95, rel=1e-15)
    three = dataclasses.replace(preset, id_digits=(1, 2, 3))
    assert reproduce.diff_level(three.id_digits) == pytest.approx(0.9833333333333333, rel=1e-15)


def _shapley(value, players):
    """phi_i = sum over coalitions S not holding i of |S|! (n - |S| - 1)! / n! (v(S + i) - v(S))."""
    n = len(players)
    phi = {}
    for i in players:
        others = [p for p in players if p != i]
        phi[i] = sum(Fraction(math.factorial(r) * math.factorial(n - r - 1), math.factorial(n))
                     * (value(set(S) | {i}) - value(set(S)))
                     for r in range(n) for S in itertools.combinations(others, r))
    return phi


SFT = dict(p_s=Fraction(3, 10), p_retry=Fraction(1, 20), p_dC=Fraction(3, 5), p_dW=Fraction(2, 5))
RL = dict(p_s=Fraction(7, 20), p_retry=Fraction(1, 5), p_dC=Fraction(19, 20), p_dW=Fraction(3, 10))


@pytest.mark.parametrize("players", [reproduce.PLAYERS, reproduce.RETRY_PLAYERS], ids=["sec4.2", "retry"])
def test_gain_split_equals_the_shapley_subset_formula(players):
    """Each probability's share of the predicted SFT-reflect -> RL change, the total and the sampling / decision
    sums, against the subset formula with the accuracy enumerated attempt by attempt (exact fractions)."""
    retry = "p_retry" in players

    def value(switched):
        m = {k: (RL if k in switched else SFT)[k] for k in players}
        return _accuracy_enumerated(T, m["p_s"], m["p_dC"], m["p_dW"], m["p_retry"] if retry else None)

    phi = _shapley(value, players)
    got = reproduce.gain_decomposition({k: float(v) for k, v in SFT.items()},
                                       {k: float(v) for k, v in RL.items()}, T, players)
    want = dict(phi, total=value(set(players)) - value(set()),
                sampling=phi["p_s"] + (phi["p_retry"] if retry else 0), decision=phi["p_dC"] + phi["p_dW"])
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(float(v), rel=1e-10, abs=1e-15), k
    assert len({round(float(phi[k]), 9) for k in players}) == len(players)  # distinct shares: a swap shows


def test_results_table_cells_are_the_metric_and_its_interval():
    """Each column of the results table shows its own metric with its own interval (distinct values per column,
    so a swapped column shows), and the split follows the preset's OOD digit counts."""
    keys = reproduce.METRIC_KEYS
    m = {k: 0.101 + 0.1 * i for i, k in enumerate(keys)}
    ci = {k: (m[k] - 0.011 * (i + 1), m[k] + 0.007 * (i + 1)) for i, k in enumerate(keys)}
    res = types.SimpleNamespace(preset=dict(ood_digits=[4]), models={"rl": {2: dict(metrics=m, ci=ci),
                                                                           4: dict(metrics=m, ci=ci)}})
    rows = reproduce.results_table(res)
    column = {"accuracy": "accuracy", "p_s": "p_s", "p_dC": "p_dC", "p_dW": "p_dW", "p_retry": "p_retry",
              "pass@T": "pass_at_T", "predicted (T)": "predicted_T", "predicted (T->oo)": "predicted_inf",
              "predicted (T, p_retry)": "predicted_T_retry"}
    assert [(r["model"], r["n"], r["split"]) for r in rows] == [("rl", 2, "ID"), ("rl", 4, "OOD")]
    assert set(rows[0]) == {"model", "n", "split", *column}
    for col, k in column.items():
        est, lo, hi = (float(x) for x in re.fullmatch(r"(\S+) \[(\S+), (\S+)\]", rows[0][col]).groups())
        assert (est, lo, hi) == pytest.approx((m[k], *ci[k]), abs=5e-4), col


# ---------------------------------------------------------------------------------------------------------------
# The training logs (results.json final_losses, rl_log): a logged value is the loss of the model *before* that
# step's update on that step's batch, and no run stores either, so the committed figures cannot be recomputed.
# These tests re-run the logging code for a few steps of the smoke preset, keep each step's weights and batch, and
# recompute every logged figure from them with a separate forward pass (log-softmax of the logits written here).

def _separate_logprobs(model, episodes) -> "torch.Tensor":
    """log pi(token_t | tokens_<t) at every position t >= 1 (0 at t = 0), from the logits of one plain forward."""
    import torch

    with torch.no_grad():
        logits = model(input_ids=episodes.input_ids, attention_mask=episodes.attention_mask).logits
    logp = torch.log_softmax(logits[:, :-1].double(), -1).gather(-1, episodes.input_ids[:, 1:, None])[..., 0]
    return torch.nn.functional.pad(logp, (1, 0))


def _model_at(preset, state):
    model = reproduce.build(preset)
    model.load_state_dict(state)
    return model.eval()


def test_logged_sft_loss_is_the_token_mean_nll_of_a_separate_forward():
    """final_losses.*: train_supervised logs, per step, the loss of that step's batch under the weights before the
    update; at every step of a 3-step run the logged value equals -mean log pi over the batch's response tokens
    (stage > 0) from a separate forward of those weights.  (final_losses.<phase> is the last of these; the run's
    own weights before its last update are not stored, which is why the committed figure is not recomputed.)"""
    import copy

    from numerics.reproduce.demonstrations import answers_batch
    from numerics.reproduce.sft import train_supervised

    preset = reproduce.PRESETS["smoke"]
    model = reproduce.build(preset)
    rng = np.random.default_rng(3)
    kept = []

    def make_batch():
        kept.append((copy.deepcopy(model.state_dict()), answers_batch(preset, rng, 16)))
        return kept[-1][1]

    losses, _ = train_supervised(model, preset, 3, make_batch, "base")
    assert len(losses) == len(kept) == 3
    for step, ((state, episodes), logged) in enumerate(zip(kept, losses)):
        logp = _separate_logprobs(_model_at(preset, state), episodes)
        response = episodes.stage > 0
        assert logged == pytest.approx(float(-logp[response].sum() / response.sum()), rel=1e-5), step
    assert losses[0] != pytest.approx(losses[-1], rel=1e-3)  # the weights moved: each step is its own check


def test_rl_log_reward_pg_kl_recomputed_at_each_logged_step(monkeypatch):
    """rl_log[].reward / pg / kl: two GRPO steps of the smoke preset (low_var_kl, kl_coef 0.01; 16 prompts x 8,
    seeds where step 0 has successes), each step's episodes and pre-update weights kept; the reference is another
    random model, so that the KL is not 0 by construction.  reward: the share of episodes whose last attempt spells the product
    (digits read here from the token layout, least significant first).  pg: on-policy the ratio is 1, so the
    clipped token-mean surrogate is -sum_i n_i A_i / sum_i n_i with A the group-normalised reward (mean and unbiased
    std per group of 4, eps 1e-6) and n_i the response tokens.  kl: the token mean of k3 = r - 1 - log r,
    r = pi_ref / pi, from separate forwards of the kept weights and of the reference."""
    import copy

    import torch

    from numerics.reproduce import grpo

    preset = dataclasses.replace(reproduce.PRESETS["smoke"], rl_steps=2, rl_prompts=16, group=8)
    model = reproduce.build(preset)
    ref = reproduce.build(preset, seed=preset.seed + 1).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    kept, generate = [], grpo.generate

    def generate_and_keep(m, prompts, products, n, p, generator):
        episodes = generate(m, prompts, products, n, p, generator)
        kept.append((copy.deepcopy(m.state_dict()), episodes, list(products)))
        return episodes

    monkeypatch.setattr(grpo, "generate", generate_and_keep)
    log, _ = grpo.train_rl(model, ref, preset, np.random.default_rng(2), torch.Generator().manual_seed(2))
    assert [r["step"] for r in log] == [0, 1] and len(kept) == 2
    for (state, episodes, products), row in zip(kept, log):
        ids, stage = episodes.input_ids, episodes.stage
        rewards = []
        for i, v in enumerate(products):
            sampling = (stage[i] == 1).nonzero().flatten().tolist()
            decided = [t for t in (stage[i] == 2).nonzero().flatten().tolist() if t < sampling[-1]]
            last_attempt = [t for t in sampling if t > max(decided, default=-1)]  # after the last RESAMPLE
            digits = [int(ids[i, t]) - multiply.DIGIT0 for t in last_attempt]
            rewards.append(float(all(0 <= d <= 9 for d in digits) and sum(d * 10 ** k for k, d in enumerate(digits)) == v))
        assert row["reward"] == pytest.approx(np.mean(rewards), abs=1e-7)
        groups = np.array(rewards).reshape(-1, preset.group)
        A = ((groups - groups.mean(1, keepdims=True)) / (groups.std(1, ddof=1, keepdims=True) + 1e-6)).flatten()
        n_tokens = (stage > 0).sum(1).numpy()
        assert row["pg"] == pytest.approx(-(n_tokens * A).sum() / n_tokens.sum(), rel=1e-5, abs=1e-6)
        logp = _separate_logprobs(_model_at(preset, state), episodes)
        ref_logp = _separate_logprobs(ref, episodes)
        log_r = ref_logp - logp
        k3 = (torch.exp(log_r) - 1 - log_r)[stage > 0]
        assert row["kl"] == pytest.approx(float(k3.mean()), rel=1e-4, abs=1e-7)
    assert all(r["kl"] > 1e-4 for r in log)
    assert log[0]["reward"] > 0 and abs(log[0]["pg"]) > 1e-4  # successes of unequal length: A and n both matter
