"""Theorem 3.1 (surrogate reward) in the paper's form and as practised, on the two-stage toy model.

Paper's form (§3.3.1): L = E_{tau~pi_old}[pi_theta(tau)/pi_old(tau) A(tau)], trajectory-level ratio, no clip.
At theta = theta_old, grad L = E[A (sum_k grad log pi_sample + sum_k grad log pi_d)]: the same scalar A
multiplies both sums (Theorem 3.1 with gamma = 1).

As practised (on-policy, unclipped): the token-level loss aggregated by a loss_agg_mode gives every token of
trajectory i the weight c_i A_i with c_i = 1/E[n] (token-mean, large batch), 1/n_i (seq-mean-token-mean),
1 (seq-mean-token-sum, token-sum per sequence), 1/C (seq-mean-token-sum-norm).  The expected ascent
direction is E[c A (g_sample + g_decision)].  n_i grows with every RESAMPLE, so 1/n_i discounts the
credit for resampling.
"""

from __future__ import annotations

import sympy as sp

from .terms import Term
from .toy import LOGITS, STAGE_OF, ToyModel

MODES = ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm", "token-sum")
C_norm = sp.Symbol("C", positive=True)


def n_tokens(model: ToyModel, path) -> int:
    """Response tokens of a trajectory: its attempts' tokens plus one token per decision."""
    return sum(model.lengths[: path.n_attempts]) + len(path.decisions)


def advantage(model: ToyModel, path, std_norm: bool = False):
    """Group-relative advantage in the large-group limit: (R - E[R]) [/ std(R)]."""
    J = model.J_backward
    A = model.reward(path) - J
    if std_norm:
        var = sp.expand(sp.Add(*[model.path_prob(p) * model.reward(p) ** 2 for p in model.paths()]) - J ** 2)
        A = A / sp.sqrt(var)
    return A


def aggregation_factor(model: ToyModel, path, mode: str):
    if mode not in MODES:
        raise ValueError(f"unknown loss_agg_mode {mode!r}; expected one of {MODES}")
    if mode == "token-mean":
        return 1 / sp.Add(*[model.path_prob(p) * n_tokens(model, p) for p in model.paths()])
    if mode == "seq-mean-token-mean":
        return sp.Rational(1, n_tokens(model, path))
    if mode == "seq-mean-token-sum-norm":
        return 1 / C_norm
    return sp.Integer(1)


def expected_stage_gradient(model: ToyModel, mode: str = "seq-mean-token-sum", std_norm: bool = False) -> list[Term]:
    """E[c(tau) A(tau) g_stage(tau)] per logit: the on-policy, unclipped ascent direction of the practised
    surrogate, split by stage.  ``mode="seq-mean-token-sum"`` with ``std_norm=False`` is the paper's form
    (its gradient is grad J)."""
    samp_total = {th: 0 for th in LOGITS}
    dec_total = {th: 0 for th in LOGITS}
    for path in model.paths():
        samp, dec = model.score_terms(path)
        w = model.path_prob(path) * advantage(model, path, std_norm) * aggregation_factor(model, path, mode)
        for th in LOGITS:
            samp_total[th] += w * samp[th]
            dec_total[th] += w * dec[th]
    src = "Theorem 3.1" + ("" if mode == "seq-mean-token-sum" and not std_norm else f" as practised ({mode})")
    return [Term(f"E[cA g_{STAGE_OF[th]}]/d{th}", sp.simplify(samp_total[th] if STAGE_OF[th] == "sampling"
                                                             else dec_total[th]), STAGE_OF[th], src)
            for th in LOGITS]


def theorem_3_1_coefficients(model: ToyModel):
    """The weight multiplying sum_k grad log pi_sample and sum_k grad log pi_d in each trajectory's term of
    grad L at theta = theta_old: (A, A) for every trajectory.  Returned as a list of (path, w_s, w_d)."""
    out = []
    for path in model.paths():
        A = advantage(model, path)
        # d/dtheta [pi/pi_old] A at theta_old = A * grad log P = A * g_s + A * g_d
        out.append((path, A, A))
    return out


def discounted_q_ratio(L_k, gamma):
    """With discount gamma the reward at the end reaches the sampling tokens of attempt k through L_k more
    tokens than it reaches decision k: Q_d / Q_sample(first token of attempt k) = gamma^(-L_k).
    Theorem 3.1's common factor gamma^(sum_{j>=k} len) holds for both only if gamma = 1."""
    return gamma ** (-L_k)
