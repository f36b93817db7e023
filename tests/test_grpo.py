"""theory/grpo.py (finite-group GRPO advantages in closed form) against exact enumeration of every group of
trajectories with autograd (numerics/grpo.py), and against a hand count of the degenerate groups."""

import pytest
import sympy as sp
import torch

from numerics import grpo as grpo_numerics
from numerics.tolerances import assert_close
from numerics.toy import DTYPE, enumerate_toy, expected_reward
from theory import grpo as grpo_theory

Z = (0.3, -0.4, 0.7)


def _grad_J(batch, z):
    z = torch.tensor(z, dtype=DTYPE, requires_grad=True)
    J = expected_reward(batch, z)
    return J.item(), torch.autograd.grad(J, z)[0]


@pytest.mark.parametrize("normalisation", sorted(grpo_theory.NORMALISATIONS))
@pytest.mark.parametrize("T, L, G, z", [(2, (2, 2), 3, Z), (3, (1, 1, 1), 4, (-1.0, 0.8, 0.2))])
def test_expected_group_update_is_kappa_times_grad_J(T, L, G, z, normalisation):
    batch = enumerate_toy(T, L)
    acc, grad_J = _grad_J(batch, z)
    update = grpo_numerics.expected_group_update(batch, z, G, normalisation, eps=0.0)
    kappa = float(grpo_theory.kappa(G, normalisation, sp.Float(acc, 30)))
    assert_close(update, kappa * grad_J, f"E[GRPO update] vs kappa grad J (G={G}, {normalisation})")


def test_verl_eps_changes_the_update_by_order_eps():
    batch = enumerate_toy(2, (2, 2))
    exact = grpo_numerics.expected_group_update(batch, Z, 3, "unbiased", eps=0.0)
    with_eps = grpo_numerics.expected_group_update(batch, Z, 3, "unbiased")
    assert 0 < float((exact - with_eps).abs().max()) < 1e-5


def test_zero_gradient_probability_and_all_equal_groups_give_nothing():
    batch = enumerate_toy(2, (1, 1))
    acc, _ = _grad_J(batch, Z)
    for G in (2, 3):
        assert abs(grpo_numerics.zero_gradient_probability(batch, Z, G)
                   - float(grpo_theory.zero_gradient_probability(G, sp.Float(acc, 30)))) < 1e-14
    for r in (0.0, 1.0):
        A = grpo_numerics.group_advantages(torch.full((5,), r, dtype=DTYPE), "unbiased")
        assert torch.equal(A, torch.zeros(5, dtype=DTYPE))


def test_kappa_limits_and_dr_grpo_constant():
    """Second derivation: at acc -> 0 only a group with exactly one success counts, by hand A = (1 - 1/G)/s(1)."""
    for G in (2, 5, 9):
        for norm in grpo_theory.NORMALISATIONS:
            k = grpo_theory.kappa(G, norm)
            assert sp.simplify(sp.limit(k, grpo_theory.acc, 0) - grpo_theory.kappa_at_zero_accuracy(G, norm)) == 0
        assert sp.simplify(grpo_theory.kappa(G, "none") - sp.Rational(G - 1, G)) == 0
    # large groups approach 1/sqrt(acc (1 - acc)) (here 2 at acc = 1/2) from below
    values = [float(grpo_theory.kappa(G, "unbiased", sp.Rational(1, 2))) for G in (4, 16, 64)]
    assert values == sorted(values) and 1.9 < values[-1] < 2.0


def test_group_advantages_match_torch_std_and_by_hand():
    r = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0], dtype=DTYPE)
    A = grpo_numerics.group_advantages(r, "unbiased", eps=0.0)
    assert_close(A, (r - 0.6) / torch.std(r), "unbiased")
    assert float(A[0]) == pytest.approx(float(grpo_theory.advantage(1, 3, 5, "unbiased")), rel=1e-14)
    assert float(grpo_numerics.group_advantages(r, "population", eps=0.0)[1]) == pytest.approx(
        float(grpo_theory.advantage(0, 3, 5, "population")), rel=1e-14)


def test_bad_inputs():
    with pytest.raises(ValueError, match="G must be an int >= 2"):
        grpo_theory.kappa(1)
    with pytest.raises(ValueError, match="normalisation"):
        grpo_theory.kappa(3, "median")
    with pytest.raises(ValueError, match="normalisation"):
        grpo_numerics.group_advantages(torch.zeros(3, dtype=DTYPE), "median")


def test_far_ood_row_against_the_attempt_loop():
    """The far-OOD figures (closed form) against autograd through the independent loop over attempts."""
    from numerics.toy import attempt_loop

    T, p_s, pC, pW, G = 3, 0.05, 0.95, 0.5, 8
    row = grpo_theory.far_ood_row(T, p_s, pC, pW, G)
    logit = lambda p: torch.log(torch.tensor(p / (1 - p), dtype=DTYPE))
    z = torch.stack([logit(p_s), logit(pC), logit(pW)]).requires_grad_(True)
    J = attempt_loop(T, 1, z)["J"]
    dJ = torch.autograd.grad(J, z)[0]
    acc = J.item()
    assert row["acc"] == pytest.approx(acc, rel=1e-12)
    assert row["dJ_dtheta_dW"] == pytest.approx(dJ[2].item(), rel=1e-12)
    assert row["informative"] == pytest.approx(1 - acc ** G - (1 - acc) ** G, rel=1e-12)
    assert row["grpo_dtheta_dW"] == pytest.approx(row["kappa"] * dJ[2].item(), rel=1e-12)
    assert row["kappa_large_group"] == pytest.approx((acc * (1 - acc)) ** -0.5, rel=1e-12)
