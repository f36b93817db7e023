"""The fixed-logits leading orders over random points (dsproof.scaling.fixed_logits_leading): each coefficient
against the exact closed-form ratio at a large L (a second computation: no series, 30-digit evaluation)."""

import pytest

from dsproof import scaling
from theory import asymptotics
from theory.closed_form import objective_gradients

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
