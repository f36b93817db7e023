"""theory/feedback.py (SFT on the model's own successes, in closed form) against the enumerated toy with autograd
(numerics/feedback.py): the offline fixed point against training and against a token-level count, the on-policy RFT
gradient against grad J / J, and the estimators' exact variances against a symbolic second derivation."""

import itertools
import math

import pytest
import sympy as sp
import torch

from numerics import feedback as feedback_numerics
from numerics.tolerances import assert_close
from numerics.toy import BAD, DTYPE, RESAMPLE, SAMPLING, STOP, enumerate_toy, expected_reward, path_probs
from theory import feedback as feedback_theory
from theory.toy import LOGITS, ToyModel, p_dC, p_dW, q


def _logit(p):
    return math.log(p / (1 - p))


POINTS = [(0.45, 0.7, 0.3), (0.8, 0.35, 0.6)]  # (q, p_dC, p_dW), asymmetric


def _subs(expr, point):
    return float(expr.subs({q: point[0], p_dC: point[1], p_dW: point[2]}))


FAR_OOD_START = (0.2 ** 0.25, 0.95, 0.5)  # the ledger's start: p_s = 0.2 with L = 4


@pytest.mark.parametrize("point, L", [(POINTS[0], 3), (POINTS[1], 3), (FAR_OOD_START, 4)])
def test_fixed_point_matches_token_counts_of_the_enumeration(point, L):
    """Second derivation: the count ratios of each kind of token in the successful rows of the enumerated toy."""
    T = 3
    q_star, pC_star, pW_star = _token_count_fit(enumerate_toy(T, L), point)
    fp = feedback_theory.rft_fixed_point(T, L)
    got = torch.tensor([_subs(fp[k], point) for k in ("q", "p_dC", "p_dW")], dtype=DTYPE)
    assert_close(got, torch.stack([q_star, pC_star, pW_star]), "RFT fixed point vs token counts")
    assert got[2] == 1 and got[0] < 1 and got[1] < 1
    if point == FAR_OOD_START:  # the figures sec5-feedback quotes
        assert float(got[0]) ** L == pytest.approx(0.5696, abs=1e-4) and float(got[1]) == pytest.approx(0.9870, abs=1e-4)


def test_iterated_rft_rounds_by_token_counts():
    """sec5-feedback's 'p_s >= 0.9 after 23 rounds' (T = 3, L = 4), refitting by token counts of the enumeration."""
    batch, point, p_s = enumerate_toy(3, 4), FAR_OOD_START, []
    for _ in range(24):
        p_s.append(point[0] ** 4)
        point = tuple(min(float(x), 1 - 1e-15) for x in _token_count_fit(batch, point))
    assert next(i for i, v in enumerate(p_s) if v >= 0.9) == 23
    closed = [x[0] ** 4 for x in feedback_theory.iterate_rft(3, 4, FAR_OOD_START, 23)]
    assert closed == pytest.approx(p_s, rel=1e-9)


def _token_count_fit(batch, point):
    """(q*, p_dC*, p_dW*) as count ratios of each kind of token in the successful rows, weighted by probability."""
    z = torch.tensor([_logit(p) for p in point], dtype=DTYPE)
    w = path_probs(batch, z) * batch.rewards()
    n_bad = (batch.tokens == BAD).sum(-1).to(DTYPE)
    n_ans = (batch.stage == SAMPLING).sum(-1).to(DTYPE)
    dec = lambda tok, correct: ((batch.tokens == tok) & (batch.after_correct == correct)).sum(-1).to(DTYPE)
    q_star = 1 - (w * n_bad).sum() / (w * n_ans).sum()
    pC_star = (w * dec(STOP, True)).sum() / (w * (dec(STOP, True) + dec(RESAMPLE, True))).sum()
    pW_star = (w * dec(RESAMPLE, False)).sum() / (w * (dec(RESAMPLE, False) + dec(STOP, False))).sum()
    return q_star, pC_star, pW_star


def test_training_reaches_the_fixed_point_and_it_is_stationary():
    T, L = 2, 2
    point = POINTS[0]
    z0 = tuple(_logit(p) for p in point)
    batch = enumerate_toy(T, L)
    fp = feedback_theory.rft_fixed_point(T, L)
    q_star, pC_star = _subs(fp["q"], point), _subs(fp["p_dC"], point)
    trained = torch.sigmoid(feedback_numerics.train_rft(batch, z0))
    assert abs(trained[0] - q_star) < 1e-6 and abs(trained[1] - pC_star) < 1e-6 and trained[2] > 1 - 1e-6
    # the objective separates by parameter: at (q*, p_dC*) its gradient in theta_s and theta_dC is 0 for any p_dW
    z = torch.tensor([_logit(q_star), _logit(pC_star), 0.4], dtype=DTYPE, requires_grad=True)
    g = torch.autograd.grad(feedback_numerics.rft_objective(batch, z, z0), z)[0]
    assert abs(g[0]) < 1e-12 and abs(g[1]) < 1e-12 and g[2] > 0


@pytest.mark.parametrize("point", POINTS)
def test_on_policy_rft_gradient_is_grad_J_over_J(point):
    batch = enumerate_toy(3, 2)
    z0 = tuple(_logit(p) for p in point)
    z = torch.tensor(z0, dtype=DTYPE, requires_grad=True)
    rft = torch.autograd.grad(feedback_numerics.rft_objective(batch, z, z0), z)[0]
    z1 = torch.tensor(z0, dtype=DTYPE, requires_grad=True)
    J = expected_reward(batch, z1)
    assert_close(rft, torch.autograd.grad(J, z1)[0] / J.item(), "on-policy RFT gradient vs grad J / J")


def test_estimator_moments_match_a_symbolic_derivation():
    """Second derivation (sympy, attempt-level paths of theory.toy, L = 1): E[w g], and the trace of the covariance
    per stage, of w(r, J) grad log P for the three estimators."""
    T, point = 2, POINTS[1]
    model = ToyModel(T, 1)
    at = {q: point[0], p_dC: point[1], p_dW: point[2]}
    paths = model.paths()
    P = [float(model.path_prob(p).subs(at)) for p in paths]
    r = [float(model.reward(p)) for p in paths]
    g = [[float(model.d_logit(sp.log(model.path_prob(p)), th).subs(at)) for th in LOGITS] for p in paths]
    J = sum(pi * ri for pi, ri in zip(P, r))
    got = feedback_numerics.estimator_moments(enumerate_toy(T, 1), tuple(_logit(x) for x in point))
    by_hand = [lambda r, J: r, lambda r, J: r - J, lambda r, J: r - 1]  # positive-only, baseline J, negative-only
    assert len(by_hand) == len(feedback_numerics.ESTIMATORS)
    for name, w in zip(feedback_numerics.ESTIMATORS, by_hand):
        x = [[w(ri, J) * gj for gj in gi] for ri, gi in zip(r, g)]
        mean = [sum(pi * xi[j] for pi, xi in zip(P, x)) for j in range(3)]
        var = [sum(pi * xi[j] ** 2 for pi, xi in zip(P, x)) - mean[j] ** 2 for j in range(3)]
        assert_close(got[name]["mean"], torch.tensor(mean, dtype=DTYPE), f"{name}: mean")
        assert got[name]["sampling"] == pytest.approx(var[0], rel=1e-12)
        assert got[name]["decision"] == pytest.approx(var[1] + var[2], rel=1e-12)


@pytest.mark.parametrize("L", [1, 2, 4])
def test_wrong_attempt_token_accuracy_by_brute_force(L):
    q_ = sp.Rational(3, 5)
    wrong = [t for t in itertools.product((0, 1), repeat=L) if not all(t)]
    P = [q_ ** sum(t) * (1 - q_) ** (L - sum(t)) for t in wrong]
    brute = sum(p * sum(t) for p, t in zip(P, wrong)) / (sum(P) * L)
    assert sp.simplify(feedback_theory.wrong_attempt_token_accuracy(q, L).subs(q, q_) - brute) == 0


def test_iterated_rft_climbs_and_resamples_after_every_wrong_attempt():
    rounds = feedback_theory.iterate_rft(3, 2, (0.5, 0.9, 0.5), 20)
    assert all(b[0] > a[0] for a, b in zip(rounds, rounds[1:]))
    assert all(x[2] == 1.0 for x in rounds[1:])


def test_bad_budget():
    with pytest.raises(ValueError):
        feedback_theory.success_weighted_counts(0)


def test_rl_steps_against_the_closed_form_gradient():
    """sec5-feedback's RL comparison (exact gradient ascent through numerics.toy.attempt_loop) against the same ascent
    with the closed-form gradient of theory.closed_form."""
    from dsproof.claims.training import RL_LR, rl_steps
    from theory.closed_form import ClosedForm

    cf = ClosedForm(3, 4)
    grad = sp.lambdify((q, p_dC, p_dW), list(cf.gradient(cf.J)))
    z = [_logit(p) for p in FAR_OOD_START]
    closed = []
    for _ in range(30):
        p = [1 / (1 + math.exp(-x)) for x in z]
        closed.append(p[0] ** 4)
        z = [x + RL_LR * g for x, g in zip(z, grad(*p))]
    loop = rl_steps(3, 4, tuple(_logit(p) for p in FAR_OOD_START), steps=29)
    assert loop == pytest.approx(closed, rel=1e-9)
    assert next(i for i, v in enumerate(loop) if v >= 0.9) == 25
