"""The fixed-logits leading orders over random points (dsproof.scaling.fixed_logits_leading): each coefficient
against the exact closed-form ratio at a large L (a second computation: no series, 30-digit evaluation)."""

import pytest
import sympy as sp

from dsproof import scaling
from theory import asymptotics
from theory.closed_form import OBJECTIVES, objective_gradients

#: asymmetric points (no p_dC = p_dW, no p = 0.5), small budgets so the exact closed forms stay cheap
DRAWS = [((0.9, -0.4, 1.3), (0.3, -1.1, 0.6), 3), ((-1.2, 1.6, -0.3), (-1.9, 0.8, -0.7), 5)]


@pytest.mark.parametrize("objective", ["kl-k1-reward", "sft", "surrogate"])
def test_leading_coefficients_equal_the_exact_ratio_at_large_L(objective):
    power, log_power, coeffs = scaling.fixed_logits_leading(objective, DRAWS)
    assert log_power == 0
    L = 10 ** 6
    for (z, zr, T), c in zip(DRAWS, coeffs):
        exact = asymptotics.ratio_along(objective_gradients(T)[objective], "fixed-logits",
                                        asymptotics.setting(z, zr, T))(L)
        assert exact / L ** power == pytest.approx(c, rel=1e-3), f"{objective} at {z}, {zr}, T={T}"


def test_limits_exist_only_for_bounded_ratios():
    assert len(scaling.fixed_logits_limits("kl-k1-reward", DRAWS)) == 2
    with pytest.raises(ValueError, match="grows"):
        scaling.fixed_logits_limits("surrogate", DRAWS)


def test_draws_are_reproducible_and_keep_the_reference_below_the_policy():
    draws = scaling.limit_draws(50)
    assert draws == scaling.limit_draws(50)
    assert all(all(a > b for a, b in zip(z, zr)) and 2 <= T <= 16 for z, zr, T in draws)


def test_ratio_vs_length_figure_curves(monkeypatch):
    """dsproof.figures.ratio_vs_length (notebook 03) draws every objective relative to the surrogate (the control,
    drawn as the line at 1): each solid curve times the surrogate's exact ratio is the scaling table's exact ratio at
    L = 1, 100, 1000, 10^4, and each dotted one is the derived leading order of the quotient; at L = 3 the
    fixed-logits curves are recomputed independently: the surrogate's and k1-in-reward's by autograd of J and
    KL(P || P_ref) through the enumerated toy model, SFT's and DFT's by hand from the demonstration (2L - 1 right
    tokens and 1 wrong, RESAMPLE, STOP): SFT (|(2L-1)(1-q) - q|, 1 - p_dC, 1 - p_dW), DFT (2(L-1) q(1-q),
    p_dC(1-p_dC), p_dW(1-p_dW)).  The fixed-logits panel only (the figure drawn with that one scaling): every panel
    runs the same loop body, and the other two would add seconds (the fixed-p_s k1 series alone takes 3 s)."""
    import math

    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from dsproof.figures import ratio_vs_length
    from numerics import toy as toy_numerics

    from .test_figures_ledger import _k1_reward_ratio_enumerated

    panels = ("fixed-logits",)
    monkeypatch.setattr(asymptotics, "SCALINGS", {k: asymptotics.SCALINGS[k] for k in panels})
    scaling.table.cache_clear()  # the table of that panel only, for this test
    try:
        lengths = (1, 3, 100, 1000, 10_000)
        fig = ratio_vs_length(lengths)
        table = scaling.table()
    finally:
        monkeypatch.undo()
        scaling.table.cache_clear()
    try:
        curves = {}
        assert len(fig.axes) == len(panels)
        for ax, name in zip(fig.axes, panels):
            assert ax.get_title() == name and ax.get_legend() is not None
            lines = {line.get_gid(): line for line in ax.get_lines()}
            assert list(lines["control|surrogate"].get_ydata()) == [1.0] * len(lengths)
            for obj in set(OBJECTIVES) - {"surrogate"}:
                line = lines[f"relative|{obj}"]
                assert line.get_linestyle() == "-" and line.get_label().startswith(obj)
                assert list(line.get_xdata()) == list(lengths)
                curves[(obj, name)] = dict(zip(lengths, map(float, line.get_ydata())))
                row = table[(obj, name)]  # the leading order of the quotient, over L >= 10
                lead = lines[f"leading|{obj}"]
                assert lead.get_linestyle() == ":"
                x = np.asarray(lead.get_xdata(), dtype=float)
                assert list(x) == [100.0, 1000.0, 10_000.0], (obj, name)
                want = row.relative_coeff * x ** row.relative_power * np.log(x) ** row.relative_log_power
                assert list(lead.get_ydata()) == pytest.approx(list(want), rel=1e-12), (obj, name)
        assert len(curves) == 5 * len(panels)
        for (obj, name), ys in curves.items():
            for n in scaling.LENGTHS:
                assert ys[n] * table[("surrogate", name)].exact[n] == pytest.approx(table[(obj, name)].exact[n],
                                                                                     rel=1e-12), (obj, name, n)
        L = 3
        z = torch.tensor(scaling.POLICY_LOGITS, dtype=torch.float64, requires_grad=True)
        dJ, = torch.autograd.grad(toy_numerics.expected_reward(toy_numerics.enumerate_toy(2, (L, L)), z), z)
        q, p_dC, p_dW = (1 / (1 + math.exp(-x)) for x in scaling.POLICY_LOGITS)
        surrogate = float(dJ[0].abs() / dJ[1:].norm())
        independent = {
            "kl-k1-reward": _k1_reward_ratio_enumerated(L),
            "sft": abs((2 * L - 1) * (1 - q) - q) / math.hypot(1 - p_dC, 1 - p_dW),
            "dft": 2 * (L - 1) * q * (1 - q) / math.hypot(p_dC * (1 - p_dC), p_dW * (1 - p_dW)),
        }
        for obj, want in independent.items():
            assert curves[(obj, "fixed-logits")][L] * surrogate == pytest.approx(want, rel=1e-9), obj
    finally:
        plt.close(fig)
