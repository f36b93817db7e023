"""§4.2 calibration formula, its finite-budget version, and the toy model."""

import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st

from numerics import crosscheck
from numerics.tolerances import tolerance
from tests.strategies import probabilities
from theory import calibration as calibration_theory
from theory import toy as toy_theory
from theory.validate import check_probability


@pytest.mark.parametrize("T", [1, 2, 3, 5])
def test_finite_budget_formula_is_the_toy_model(T):
    assert sp.simplify(crosscheck.toy_model(T, (1,) * T).J_backward - calibration_theory.predicted_accuracy_budget(T, toy_theory.q)) == 0


def test_limit_is_the_paper_formula():
    assert sp.simplify(calibration_theory.budget_limit() - calibration_theory.predicted_accuracy()) == 0


def test_budget_gap_is_geometric():
    """Exact identity: f(T) - f(oo) = b^(T-1) (p_s - f(oo)), b = P(RESAMPLE)."""
    inf = calibration_theory.predicted_accuracy()
    b = calibration_theory.continue_probability()
    gap = calibration_theory.predicted_accuracy_budget() - inf - b ** (calibration_theory.T_sym - 1) * (calibration_theory.p_s - inf)
    assert sp.simplify(gap) == 0


@given(data=st.data())
def test_budget_formula_converges_numerically(data):
    ps = data.draw(probabilities(), label="p_s")
    pC = data.draw(probabilities(), label="p_dC")
    pW = data.draw(probabilities(), label="p_dW")
    f = sp.lambdify((calibration_theory.T_sym, calibration_theory.p_s, toy_theory.p_dC, toy_theory.p_dW), calibration_theory.predicted_accuracy_budget())
    inf = float(calibration_theory.predicted_accuracy().subs({calibration_theory.p_s: ps, toy_theory.p_dC: pC, toy_theory.p_dW: pW}))
    b = ps * (1 - pC) + (1 - ps) * pW
    assert abs(f(60, ps, pC, pW) - inf) <= b ** 59 * abs(ps - inf) + 1e-12


@pytest.mark.parametrize("p, msg", [(1.2, "p_s"), (-0.1, "p_s"), (float("nan"), "p_s")])
def test_bad_probability(p, msg):
    with pytest.raises(ValueError, match=msg):
        check_probability(p, "p_s")


@pytest.mark.parametrize("T", [1, 2, 3, 5])
def test_retry_formula_reduces_to_the_budget_formula(T):
    """p_r = p_s is the §4.2 model."""
    assert sp.simplify(calibration_theory.predicted_accuracy_retry(T, calibration_theory.p_s, calibration_theory.p_s) - calibration_theory.predicted_accuracy_budget(T)) == 0


def _enumerated_accuracy(T, ps, pr, pC, pW):
    """P(final attempt correct) summed over every path: attempt k correct w.p. ps (k = 1) or pr (k > 1); after
    a correct attempt STOP w.p. pC, after a wrong one RESAMPLE w.p. pW; attempt T ends the episode."""
    total, frontier = 0.0, [(ps, True, 1), (1 - ps, False, 1)]
    while frontier:
        w, correct, k = frontier.pop()
        stop = pC if correct else 1 - pW
        if k == T:
            total += w * correct
            continue
        total += w * stop * correct
        frontier += [(w * (1 - stop) * pr, True, k + 1), (w * (1 - stop) * (1 - pr), False, k + 1)]
    return total


@given(data=st.data())
def test_retry_formula_is_the_enumerated_process(data):
    T = data.draw(st.integers(1, 6), label="T")
    ps, pr, pC, pW = (data.draw(probabilities(), label=k) for k in ("p_s", "p_r", "p_dC", "p_dW"))
    got, want = calibration_theory.predicted_accuracy_numeric(T, retry=True)(ps, pr, pC, pW), _enumerated_accuracy(T, ps, pr, pC, pW)
    rtol, atol = tolerance(torch.float64)
    assert abs(got - want) <= atol + rtol * abs(want), (got, want)
