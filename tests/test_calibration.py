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


@pytest.mark.parametrize("point, bias", [
    ((sp.Rational(1, 5), sp.Rational(19, 20), sp.Rational(1, 2)), "over-predicts"),  # informative decision
    ((sp.Rational(3, 10), sp.Rational(2, 5), sp.Rational(1, 4)), "under-predicts"),  # p_dC + p_dW < 1
    ((sp.Rational(3, 10), sp.Rational(3, 5), sp.Rational(2, 5)), "exact"),  # p_dC + p_dW = 1, p_dC != p_dW
])
def test_prediction_bias_is_the_sign_of_the_enumerated_gap(point, bias):
    """theory.calibration.prediction_bias (notebook 06): at each point exactly its named relation holds, and it is the
    sign of (unlimited-retry accuracy, hand formula) - (T-attempt accuracy, the process walked attempt by attempt),
    in exact rationals, for T = 1..5."""
    from .test_figures_reproduce import _accuracy_enumerated, _accuracy_unlimited

    p_s, p_dC, p_dW = point
    relations = calibration_theory.prediction_bias()
    assert set(relations) == {"over-predicts", "under-predicts", "exact"}
    values = {calibration_theory.p_s: p_s, calibration_theory.p_dC: p_dC, calibration_theory.p_dW: p_dW}
    holds = {name: bool(rel.subs(values)) for name, rel in relations.items()}
    assert holds == {name: name == bias for name in relations}
    sign = {"over-predicts": 1, "under-predicts": -1, "exact": 0}[bias]
    for T in range(1, 6):
        gap = _accuracy_unlimited(p_s, p_dC, p_dW) - _accuracy_enumerated(T, p_s, p_dC, p_dW)
        assert bool(gap > 0) - bool(gap < 0) == sign, T
        assert sign == 0 or abs(gap) > sp.Rational(1, 10 ** 6), T  # a visible gap, not round-off


def test_calibration_figure_curves_are_the_enumerated_accuracies():
    """dsproof.figures.calibration (notebook 06, p_s = 0.2, p_dC = 0.95): the T -> oo curve against the hand formula
    and the T = 1, 2, 4, 8 curves against the process walked attempt by attempt, at every plotted p_dW."""
    from fractions import Fraction

    import matplotlib.pyplot as plt

    from dsproof.figures import calibration

    from .test_figures_reproduce import _accuracy_enumerated, _accuracy_unlimited

    fig = calibration()
    try:
        lines = fig.axes[0].get_lines()
        assert [line.get_label() for line in lines] == ["§4.2 formula (T -> oo)", *(f"budget T = {T}" for T in (1, 2, 4, 8))]
        p_s, p_dC = Fraction(1, 5), Fraction(19, 20)
        for line, T in zip(lines, (None, 1, 2, 4, 8)):
            x, y = line.get_xdata(), line.get_ydata()
            assert len(x) == 96 and x[0] == 0.0 and x[-1] == pytest.approx(0.95)
            want = [float(_accuracy_unlimited(p_s, p_dC, Fraction(p)) if T is None
                          else _accuracy_enumerated(T, p_s, p_dC, Fraction(p))) for p in x]
            assert list(y) == pytest.approx(want, rel=1e-12), line.get_label()
        assert lines[0].get_ydata()[60] - lines[2].get_ydata()[60] > 0.04  # the curves differ where they are compared
    finally:
        plt.close(fig)
