"""theory.closed_form / theory.asymptotics / the induction proofs: the closed forms in symbolic T and L against
enumeration and against autograd through an independent loop over attempts; derived leading orders against a second,
hand derivation and against the exact ratio at L = 10^6."""

import functools
import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st

from numerics.tolerances import assert_close
from numerics.toy import attempt_loop
from tests.strategies import logits3, long_episodes, rewards
from theory import asymptotics, calibration
from theory import closed_form as cf
from theory import toy as toy_theory
from theory import trajectory
from theory.toy import ToyModel, kl_bernoulli, p_dC, p_dC_ref, p_dW, p_dW_ref, q, q_ref


def _rational_points(n=3, seed=0):
    rng = np.random.default_rng(seed)
    names = (q, p_dC, p_dW, q_ref, p_dC_ref, p_dW_ref)
    return [{s: sp.Rational(int(v), 97) for s, v in zip(names, rng.integers(3, 95, size=6))} for _ in range(n)]


# ------------------------------------------------------------------ the recursion and the induction proofs
def test_attempt_recursion_is_solved_and_proved():
    proof = cf.attempt_recursion()
    assert proof.proved, proof


def test_induction_detects_a_wrong_closed_form():
    """Each half of the induction can fail: dropping the last attempt's term x_1 b^(n-1) breaks the base case (it still
    solves the linear step), and summing the attempts without their continuation probability, u (n-1), breaks the
    step."""
    dropped = cf.u * (1 - cf.beta ** (cf.n - 1)) / (1 - cf.beta)
    assert cf._zero(dropped.subs(cf.n, 1) - cf.x_1) != 0
    undiscounted = cf.u * (cf.n - 1) + cf.beta ** (cf.n - 1) * cf.x_1
    assert cf._zero(undiscounted.subs(cf.n, cf.n + 1) - cf.u - cf.beta * undiscounted) != 0


@pytest.mark.parametrize("name", ["J", "expected_attempts", "expected_decisions", "kl_sequence"])
def test_every_quantity_satisfies_its_recursion(name):
    assert cf.ClosedForm().induction(name) == (0, 0)


def _vanishes(expr) -> bool:
    """Zero at a rational point, to 30 digits (a failing comparison fails fast instead of stalling simplify)."""
    return abs(sp.N(expr, 30)) < sp.Float(1e-25)


@pytest.mark.parametrize("T", range(1, 7))
def test_closed_form_equals_enumeration(T):
    """J against path enumeration, E[attempts] against the attempt loop of theory.toy, KL against its chain rule (all
    T = 1..6, L = 2), at rational points, general rewards."""
    m, c = ToyModel(T, 2, (toy_theory.r_C, toy_theory.r_W)), cf.ClosedForm(T, 2, (toy_theory.r_C, toy_theory.r_W))
    for point in _rational_points():
        point = {**point, toy_theory.r_C: sp.Rational(3, 2), toy_theory.r_W: sp.Rational(-1, 3)}
        assert _vanishes((c.J - m.J_enumerated).subs(point)), f"J_{T}"
        assert _vanishes((c.expected_attempts - m.expected_attempts).subs(point)), f"E[N]_{T}"
        assert _vanishes((c.kl_sequence - m.kl_sequence).subs(point)), f"KL_{T}"


@pytest.mark.parametrize("T", [1, 2, 3])
def test_closed_form_kl_equals_token_level_definition(T):
    m, c = ToyModel(T, (2,) * T), cf.ClosedForm(T, 2)
    for point in _rational_points(2, seed=T):
        assert _vanishes((c.kl_sequence - m.kl_sequence_enumerated()).subs(point)), f"KL_{T} at {point}"


@pytest.mark.parametrize("T, L", [(2, 1), (3, 16), (8, 200)])
def test_future_kl_is_the_whole_decision_gradient_when_decisions_match_the_reference(T, L):
    """Identity: with the decision logits equal to the reference's, every decision KL term has zero gradient, so the
    decision gradient of KL(P || P_ref) is exactly the future-KL cross-term L kl_tok dE[N]/dtheta_d (autograd through
    the attempt loop)."""
    z, z_ref = (0.7, -0.3, 0.4), (0.1, -0.3, 0.4)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    auto, = torch.autograd.grad(attempt_loop(T, L, zt, z_ref)["kl_sequence"], zt)
    sig = lambda x: sp.Rational(1) / (1 + sp.exp(-sp.nsimplify(x)))  # noqa: E731
    point = dict(zip((q, p_dC, p_dW, q_ref, p_dC_ref, p_dW_ref), map(sig, z + z_ref)))
    fut = cf.ClosedForm(T, L).future_kl().subs(point)
    assert_close(torch.tensor([float(fut[1]), float(fut[2])], dtype=torch.float64), auto[1:], "future-KL term")


@pytest.mark.parametrize("capped", [False, True])
def test_lemma_3_1_and_corollary_3_1_for_every_T(capped):
    assert trajectory.lemma_3_1_induction(capped) == {"base": 0, "step": 0}
    assert trajectory.corollary_3_1_general(capped) == {"residual": 0, "theorem_3_1": 0}


def test_induction_rejects_the_papers_decision_index():
    """The paper indexes the decision sum k = 0..T: one decision too many, and the step of the induction fails."""
    T, k = trajectory.T_sym, trajectory._k
    wrong = lambda t: trajectory.log_factorised(t) + sp.Sum(trajectory.LOG_RESAMPLE, (k, 1, t))  # noqa: E731
    appended = (trajectory._at(trajectory.LOG_RESAMPLE, T) + trajectory._at(trajectory.LOG_SAMPLE, T + 1)
                + trajectory._at(trajectory.LOG_STOP, T + 1) - trajectory._at(trajectory.LOG_STOP, T))
    assert trajectory._normalise_sums(wrong(T + 1) - wrong(T) - appended, T) != 0


# ------------------------------------------------------------------ against autograd, T up to 32, L up to 1024
@functools.lru_cache(maxsize=None)
def _closed_form_fns():
    c = cf.ClosedForm(cf.T, cf.L, (toy_theory.r_C, toy_theory.r_W))
    args = (cf.T, cf.L, q, p_dC, p_dW, q_ref, p_dC_ref, p_dW_ref, toy_theory.r_C, toy_theory.r_W)
    exprs = {"J": c.gradient(c.J), "kl_sequence": c.gradient(c.kl_sequence),
             "expected_attempts": c.gradient(c.expected_attempts),
             "k2": c.token_loss_gradient("k2"), "k3": c.token_loss_gradient("k3")}
    return {k: sp.lambdify(args, list(v), "numpy") for k, v in exprs.items()}


@given(data=st.data())
def test_closed_form_gradients_equal_autograd_through_the_attempt_loop(data):
    T, L = data.draw(long_episodes(), label="T, L")
    z = data.draw(logits3(), label="logits")
    z_ref = data.draw(logits3(), label="reference logits")
    r = data.draw(rewards(), label="rewards")
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    args = (T, L, *map(sig, z), *map(sig, z_ref), *r)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    fns = _closed_form_fns()
    for key, est in (("J", "k2"), ("kl_sequence", "k2"), ("expected_attempts", "k2"), ("k2", "k2"), ("k3", "k3")):
        out = attempt_loop(T, L, zt, z_ref, r, estimator=est)
        target = out["token_loss"] if key in ("k2", "k3") else out[key]
        auto, = torch.autograd.grad(target, zt)
        closed = torch.tensor([float(v) for v in fns[key](*args)], dtype=torch.float64)
        assert_close(closed, auto, f"d{key}/dtheta, T={T}, L={L}")


def test_attempt_loop_detects_a_dropped_term():
    """The comparison can fail: the closed form of E[N] without its last attempt differs from the loop."""
    c = cf.ClosedForm(5, 3)
    wrong = cf.geometric(1, c.b, 0, 5)  # x_1 = 0: the last attempt forgotten
    z = (0.3, -0.4, 0.8)
    point = dict(zip((q, p_dC, p_dW), (1 / (1 + math.exp(-x)) for x in z)))
    assert abs(float(wrong.subs(point)) - float(attempt_loop(5, 3, z)["expected_attempts"])) > 1e-3


# ------------------------------------------------------------------ derived leading orders
SETTING = asymptotics.setting((0.8, 0.5, 0.2), (0.5, 0.2, -0.1), 2)


def _hand_constants():
    """Leading coefficients derived by hand (T = 2), a second derivation of what theory.asymptotics computes."""
    v = {k: sp.N(x, 30) for k, x in SETTING.items() if k != cf.T}
    qq, c, w, qr, cr, wr, p = (v[s] for s in (q, p_dC, p_dW, q_ref, p_dC_ref, p_dW_ref, asymptotics.P))
    a = -sp.log(p)  # L (1 - q) -> a when p_s is held
    r = p * (1 - c) + (1 - p) * w
    D1 = sp.sqrt(c ** 2 * (1 - c) ** 2 + w ** 2 * (1 - w) ** 2)
    D2 = sp.sqrt(p ** 2 * c ** 2 * (1 - c) ** 2 + (1 - p) ** 2 * w ** 2 * (1 - w) ** 2)
    D3 = sp.sqrt(p ** 2 * (c - cr) ** 2 + (1 - p) ** 2 * (w - wr) ** 2)
    delta = v[asymptotics.Delta]
    return {
        ("surrogate", "fixed-logits"): (1, (1 - qq) * (c + w) / D1),
        ("surrogate", "fixed-p_s"): (0, a * (c + 2 * p * (1 - c) + (1 - 2 * p) * w) / ((1 - p) * D1)),
        ("kl-k1-reward", "fixed-logits"): (0, (1 + w) * qq * (1 - qq) * delta / (w * (1 - w) * kl_bernoulli(qq, qr))),
        ("kl-k1-reward", "fixed-p_s-ref"): (0, a * p * abs(1 - c - w) / D2),
        ("kl-k3-loss", "fixed-logits"): (1, (1 + w) * (qq - qr) / abs(w - wr)),
        ("kl-k3-loss", "fixed-p_s-ref"): (1, (1 + r) * (1 - qr) / D3),
        ("kl-k2-loss", "fixed-p_s"): (0, (1 + r) * a / D2),
        ("sft", "fixed-p_s"): (0, abs(1 - 2 * a) / sp.sqrt((1 - c) ** 2 + (1 - w) ** 2)),
        ("dft", "fixed-p_s"): (0, 2 * a / D1),
    }


@pytest.mark.parametrize("key", list(_hand_constants()))
def test_leading_order_equals_a_hand_derivation(key):
    objective, scaling = key
    power, coeff = _hand_constants()[key]
    got = asymptotics.ratio_asymptotics(cf.objective_gradients(2)[objective], scaling, SETTING)
    assert (got.power, got.log_power) == (power, 0), got.form()
    assert abs(float(got.coeff) / float(coeff) - 1) < 1e-12, (float(got.coeff), float(coeff))


@pytest.mark.parametrize("objective", list(cf.OBJECTIVES))
@pytest.mark.parametrize("scaling", list(asymptotics.SCALINGS))
def test_leading_order_matches_the_exact_ratio_at_a_million_tokens(objective, scaling):
    g = cf.objective_gradients(2)[objective]
    lead = asymptotics.ratio_asymptotics(g, scaling, SETTING)
    exact = asymptotics.ratio_along(g, scaling, SETTING)
    n = 10 ** 6
    predicted = float(lead.expr().subs(cf.L, n))
    # next order: 1/L relative for powers, 1/log L relative for a log L leading order (k2 under fixed-p_s-ref)
    tol = 1.0 / math.log(n) if lead.log_power else 1e-3
    assert abs(exact(n) / predicted - 1) < tol, (lead.form(), exact(n), predicted)


def test_symbolic_T_leading_orders():
    """Fixed logits, every T and every probability symbolic: KL in the reward is bounded, the surrogate ~L."""
    g = cf.objective_gradients(cf.T, cf.L)
    assert asymptotics.ratio_asymptotics(g["kl-k1-reward"], "fixed-logits").power == 0
    assert asymptotics.ratio_asymptotics(g["surrogate"], "fixed-logits").power == 1
    assert asymptotics.ratio_asymptotics(g["kl-k3-loss"], "fixed-logits").power == 1


# ------------------------------------------------------------------ §4.2: the budget gap
def test_budget_gap_closed_form():
    gap = calibration.predicted_accuracy_budget() - calibration.predicted_accuracy() - calibration.budget_gap()
    assert sp.simplify(gap) == 0


@given(ps=st.floats(0.02, 0.98), pC=st.floats(0.02, 0.98), pW=st.floats(0.02, 0.98), T=st.integers(1, 12))
def test_unlimited_formula_over_predicts_iff_the_decision_is_informative(ps, pC, pW, T):
    f_T = calibration.predicted_accuracy_numeric(T)(ps, pC, pW)
    f_inf = calibration.predicted_accuracy_numeric(None)(ps, pC, pW)
    if abs(pC + pW - 1) > 1e-6 and abs(f_T - f_inf) > 1e-13:
        assert (f_inf > f_T) == (pC + pW > 1)


def test_far_ood_gap_value():
    """p_s = 0.2, p_dC = 0.95, p_dW = 0.5, T = 4: f_4 - f_oo = -0.008411 (hand value, r = 0.41)."""
    val = float(calibration.budget_gap(4).subs({calibration.p_s: 0.2, p_dC: 0.95, p_dW: 0.5}))
    assert abs(val - (-0.2 * 0.8 * 0.45 * 0.41 ** 3 / 0.59)) < 1e-15 and abs(val + 0.008411) < 5e-7


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("args, err, word", [((0,), ValueError, "T"), ((2.5,), TypeError, "T"),
                                             ((2, 0), ValueError, "L"), ((2, 1.5), TypeError, "L"),
                                             ((2, sp.Symbol("x")), ValueError, "L")])
def test_bad_budget_or_length(args, err, word):
    with pytest.raises(err, match=word):
        cf.ClosedForm(*args)


@pytest.mark.parametrize("name, value", [("q", 0.0), ("p_dC", 1.0), ("p_dW", -0.1), ("q_ref", 1.5)])
def test_probabilities_outside_the_open_interval(name, value):
    with pytest.raises(ValueError, match=name):
        cf.at_probabilities(cf.ClosedForm(2, 3).J, **{name: value})


def test_unknown_probability_name():
    with pytest.raises(ValueError, match="unknown"):
        cf.at_probabilities(cf.ClosedForm(2, 3).J, p_s=0.5)


def test_setting_rejects_a_reference_above_the_policy():
    with pytest.raises(ValueError, match="Delta"):
        asymptotics.setting((0.1, 0, 0), (0.5, 0, 0))
