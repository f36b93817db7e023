"""theory.values (Lemma 3.2's backward induction, discounted Theorems 3.1 / 3.2, the §4.2 Markov point, Definition
3.1 at the Q level) against independent computations: autograd through numerics.discounted's token-level forward,
theory.closed_form's gradients, sympy's derivative of J summed over every path, and exact evaluation at large L."""

import functools

import mpmath
import sympy as sp
import torch
from hypothesis import given, settings

from numerics.discounted import discounted_returns, discounted_stage_gradients, expected_first_return
from numerics.tolerances import assert_close
from tests.strategies import logits3
from theory import calibration
from theory import values
from theory.closed_form import ClosedForm
from theory.toy import kl_bernoulli, p_dC, p_dC_ref, p_dW, p_dW_ref, q, q_ref, sigmoid

Z_REF = (0.3, 0.4, 0.1)


def _point(z, z_ref=Z_REF):
    names = (q, p_dC, p_dW, q_ref, p_dC_ref, p_dW_ref)
    return dict(zip(names, [sigmoid(sp.Float(x, 30)) for x in tuple(z) + tuple(z_ref)]))


def _as_tensor(m):
    return torch.tensor([float(x) for x in m], dtype=torch.float64)


RATIONAL = {q: sp.Rational(7, 10), p_dC: sp.Rational(3, 5), p_dW: sp.Rational(2, 5)}


# ------------------------------------------------------------------ discounted per-stage gradients
@functools.lru_cache(maxsize=None)
def _discounted_gradient_function(reward):
    """theory.values' gradient (T=2, L=2, gamma=0.7) as a numpy function of the six probabilities (lambdified once)."""
    names = (q, p_dC, p_dW, q_ref, p_dC_ref, p_dW_ref)
    return sp.lambdify(names, values.stage_gradients(2, 2, sp.Rational(7, 10), reward), "mpmath")


@settings(max_examples=10)
@given(z=logits3())
def test_discounted_gradients_match_autograd(z):
    probs = [1 / (1 + mpmath.exp(-mpmath.mpf(x))) for x in tuple(z) + Z_REF]
    for reward in values.REWARDS:
        sym = _discounted_gradient_function(reward)(*probs)
        ad = discounted_stage_gradients(2, 2, z, 0.7, reward, z_ref=Z_REF)
        assert_close(_as_tensor(sym), ad, f"discounted {reward} gradient, T=2, L=2, gamma=0.7, z={z}")


def test_discounted_gradients_budget_three():
    z = (0.5, 0.2, -0.1)
    for reward in values.REWARDS:
        sym = values.stage_gradients(3, 2, sp.Float(0.9, 30), reward).subs(_point(z))
        assert_close(_as_tensor(sym), discounted_stage_gradients(3, 2, z, 0.9, reward, z_ref=Z_REF), reward)


def test_gamma_one_gives_the_gradients_of_J_and_KL():
    """Symbolic in L: the per-stage Q form at gamma = 1 is theory.closed_form's dJ/dtheta and dKL/dtheta."""
    cf = ClosedForm(2, values.L)
    for reward, target in (("terminal", cf.J), ("k1", cf.kl_sequence)):
        d = values.stage_gradients(2, values.L, 1, reward) - cf.gradient(target)
        assert all(sp.simplify(sp.expand(x, power_exp=True)) == 0 for x in d), reward


def test_first_token_of_an_attempt_carries_gamma_to_the_L_less_than_the_decision():
    st = values.backward_induction(2)[0]
    for c in "CW":
        assert sp.simplify(st.V_d[c] / st.Q_sample_first[c] - values.gamma ** (-values.L)) == 0


def test_discounted_length_and_one_attempt_penalty():
    for n in range(1, 6):
        assert sp.simplify(values.discounted_length(n, sp.Rational(9, 10)) - sum(sp.Rational(9, 10) ** j for j in range(n))) == 0
    assert values.discounted_length(values.L, sp.Float(1.0)) == values.L
    W = values.backward_induction(1, 4, sp.Float(0.9, 30), "k1")[0].W.subs(_point((0.5, 0.2, -0.1)))
    assert_close(torch.tensor([float(W)], dtype=torch.float64),
                 torch.tensor([expected_first_return(1, 4, (0.5, 0.2, -0.1), 0.9, "k1", z_ref=Z_REF)], dtype=torch.float64),
                 "discounted KL of one attempt vs enumeration")


def test_discounted_returns():
    r = torch.tensor([[1.0, 2.0, 3.0, 0.0]], dtype=torch.float64)
    mask = torch.tensor([[True, True, True, False]])
    assert_close(discounted_returns(r, mask, 0.5), torch.tensor([[1 + 1 + 0.75, 2 + 1.5, 3.0, 0.0]], dtype=torch.float64),
                 "returns-to-go")


def test_fixed_logit_leading_order_matches_the_exact_ratio_at_large_L():
    """The leading order (q^L, gamma^L dropped) against the exact closed form at L = 4000, gamma = 0.99
    (gamma^L ~ 3e-18), both evaluated by mpmath at 30 digits: the surrogate's ratio and the k1 ratio."""
    names = (values.L, values.gamma, q, p_dC, p_dW, q_ref, p_dC_ref, p_dW_ref)
    mpmath.mp.dps = 30
    args = [4000, mpmath.mpf(99) / 100] + [1 / (1 + mpmath.exp(-mpmath.mpf(x))) for x in (0.8, 0.5, 0.2, 0.5, 0.2, -0.1)]

    def ratio(m):
        v = sp.lambdify(names, m, "mpmath")(*args)
        return abs(v[0]) / mpmath.sqrt(v[1] ** 2 + v[2] ** 2)

    g_s = values.stage_gradients(2)
    g_k = values.stage_gradients(2, values.L, values.gamma, "k1")
    for exact, lead in ((g_s, values.fixed_logit_leading(g_s, values.gamma, scale_by_p_s=True)),
                        (g_k, values.fixed_logit_leading(g_k))):
        a, b = ratio(exact), ratio(lead)
        assert abs(a / b - 1) < 1e-12, (a, b)


# ------------------------------------------------------------------ Lemma 3.2 and the Markov point
def test_lemma_3_2_q_and_advantage_forms_are_the_gradient_of_J():
    for T in (1, 3, 4):
        cf = ClosedForm(T, 2)
        target = cf.gradient(cf.J).subs(RATIONAL)
        assert values.stage_gradients(T, 2, 1).subs(RATIONAL) - target == sp.zeros(3, 1)
        assert values.stage_advantage_gradients(T, 2).subs(RATIONAL) - target == sp.zeros(3, 1)


def test_lemma_3_2_by_induction_over_the_budget():
    base, step = values.lemma_3_2_induction()
    assert base == sp.zeros(3, 1) and step == sp.zeros(3, 1)
    # the split the step relies on: Q-form(n + 1) = first stage with the rest worth J_n + b Q-form(n)
    cf = ClosedForm(2, 2)
    split = values.stage_gradients(3, 2, 1) - values.stage_gradients(1, 2, 1, tail_value=cf.J) - cf.b * values.stage_gradients(2, 2, 1)
    assert split.subs(RATIONAL) == sp.zeros(3, 1)


def test_history_dependent_decision_q_form_against_sympy_derivative():
    th = sp.Symbol("th", real=True)
    seq = [sigmoid(th - sp.Rational(1, 2) * (k - 1)) for k in range(1, 4)]
    J = values.accuracy_enumerated(3, q ** 2, p_dC, seq)
    at = {q: sp.Rational(7, 10), p_dC: sp.Rational(3, 5), th: sp.Rational(1, 3)}
    assert abs(float((values.value(3, 2, 1, "terminal", seq) - J).subs(at))) < 1e-14
    g = values.stage_gradients(3, 2, 1, "terminal", seq, per_attempt=True)
    direct = [q * (1 - q) * sp.diff(J, q), p_dC * (1 - p_dC) * sp.diff(J, p_dC), sp.diff(J, th)]
    for d, v in zip(direct, (g[0], g[1], sum(g[2:]))):
        assert abs(float((d - v).subs(at))) < 1e-14


def test_markov_case_pooled_p_dW_is_p_dW_and_the_4_2_formula_is_exact():
    seq = [sp.Rational(2, 5)] * 5  # decay 0: the same p_dW at every attempt
    ps, pc = sp.Rational(3, 10), sp.Rational(4, 5)
    assert values.pooled_p_dW(5, ps, pc, seq) == seq[0]
    pred = calibration.predicted_accuracy_budget(5, ps).subs({p_dC: pc, p_dW: seq[0]})
    assert pred == values.accuracy_enumerated(5, ps, pc, seq)
    decayed = values.decaying_p_dW(5, sp.Rational(1, 2), 1)
    assert pred != values.accuracy_enumerated(5, ps, pc, decayed)  # the dependence on k is visible


def test_pooled_p_dW_is_the_visit_weighted_mean():
    """T = 3 by hand: decisions after a wrong attempt happen at k = 1 with weight (1 - p_s) and at k = 2 with weight
    b_1 (1 - p_s)."""
    ps, pc = sp.Rational(3, 10), sp.Rational(4, 5)
    w1, w2 = sp.Rational(1, 2), sp.Rational(1, 5)
    b1 = ps * (1 - pc) + (1 - ps) * w1
    expected = ((1 - ps) * w1 + b1 * (1 - ps) * w2) / ((1 - ps) + b1 * (1 - ps))
    assert values.pooled_p_dW(3, ps, pc, [w1, w2, sp.Rational(9, 10)]) == expected


# ------------------------------------------------------------------ Definition 3.1 at the Q level
def test_first_stage_expected_q():
    qs, qd, rs, rd = values.first_stage_expected_q(2)
    assert sp.simplify(qs / qd) == 1 and rs == 0 and rd == 0
    ks, kd, rs, rd = values.first_stage_expected_q(2, values.L, "k1")
    cf = ClosedForm(2, values.L)
    kl_tok = kl_bernoulli(q, q_ref)
    assert sp.simplify(sp.expand(ks - cf.kl_sequence, power_exp=True)) == 0
    assert sp.simplify(sp.expand(kd - cf.kl_sequence + values.L * kl_tok, power_exp=True)) == 0
    assert sp.simplify(rs - values.L * kl_tok) == 0
    # T = 2 by hand: E[Q_d] = E[kl of the decision] + P(RESAMPLE) L kl_tok
    b = q ** values.L * (1 - p_dC) + (1 - q ** values.L) * p_dW
    assert sp.simplify(sp.expand(kd - rd - b * values.L * kl_tok, power_exp=True)) == 0


# ------------------------------------------------------------------ errors
def test_bad_inputs_raise_clear_errors():
    import pytest

    with pytest.raises(ValueError, match="reward must be one of"):
        values.backward_induction(2, 2, 1, "k3")
    with pytest.raises(ValueError, match="one probability per attempt"):
        values.stage_gradients(3, 2, 1, "terminal", [sp.Rational(1, 2)] * 2)
    with pytest.raises(ValueError, match="gamma must lie"):
        discounted_stage_gradients(2, 2, (0.0, 0.0, 0.0), 1.5)
    with pytest.raises(ValueError, match="z_ref"):
        discounted_stage_gradients(2, 2, (0.0, 0.0, 0.0), 0.5, "k1")
    with pytest.raises(ValueError, match="T >= 2"):
        values.first_stage_expected_q(1)


def test_k1_q_level_ratio_tends_to_its_derived_limit():
    """E[Q_sample]/E[Q_d] for k1 in the reward (T = 2) against its derived limit (1 + p_dW)/p_dW at fixed logits: the
    exact ratio, evaluated by mpmath, approaches it like 1/L (the gap shrinks tenfold from L = 10^5 to 10^6)."""
    ks, kd, _, _ = values.first_stage_expected_q(2, values.L, "k1")
    names = (values.L, q, p_dC, p_dW, q_ref, p_dC_ref, p_dW_ref)
    f = sp.lambdify(names, ks / kd, "mpmath")
    mpmath.mp.dps = 30
    probs = [1 / (1 + mpmath.exp(-mpmath.mpf(x))) for x in (0.8, 0.5, 0.2, 0.5, 0.2, -0.1)]
    limit = (1 + probs[2]) / probs[2]
    gaps = [abs(f(n, *probs) - limit) for n in (10 ** 5, 10 ** 6)]
    assert gaps[1] < 1e-4 and abs(gaps[0] / gaps[1] - 10) < 0.01, gaps
