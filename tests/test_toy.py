"""The toy model: symbolic (theory/toy.py) against exact enumeration and autograd (numerics/toy.py)."""

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st

from numerics import crosscheck
from numerics import toy as toy_numerics
from numerics.tolerances import MC_Z_MAX, assert_close
from tests.strategies import budget_and_lengths, logits3, rewards
from theory import toy as toy_theory
from theory.toy import ToyModel


@pytest.mark.parametrize("T, lengths", [(1, (1,)), (2, (1, 2)), (3, (2, 1, 2)), (4, (1, 1, 1, 1))])
def test_probabilities_sum_to_one_and_J_two_ways(T, lengths):
    m = ToyModel(T, lengths)
    assert m.total_probability() == 1
    assert sp.simplify(m.J_enumerated - m.J_backward) == 0, "J by enumeration != J by backward recursion"


@pytest.mark.parametrize("T, lengths", [(1, (3,)), (2, (2, 1)), (3, (1, 2, 2))])
def test_chain_rule_kl_equals_definition(T, lengths):
    m = ToyModel(T, lengths)
    assert sp.simplify(m.kl_sequence_enumerated() - m.kl_sequence) == 0


@given(data=st.data())
def test_symbolic_gradients_equal_autograd(data):
    T, lengths = data.draw(budget_and_lengths(), label="T, lengths")
    z = data.draw(logits3(), label="logits")
    z_ref = data.draw(logits3(), label="reference logits")
    r = data.draw(rewards(), label="rewards")
    sJ, sK = crosscheck.symbolic_gradients(T, lengths, z, r, z_ref)
    aJ, aK = crosscheck.autograd_gradients(T, lengths, z, r, z_ref)
    assert_close(torch.from_numpy(sJ), aJ, f"dJ/dtheta, T={T}, L={lengths}")
    assert_close(torch.from_numpy(sK), aK, f"dKL/dtheta, T={T}, L={lengths}")


@given(data=st.data())
def test_stage_gradients_split_exactly(data):
    T, lengths = data.draw(budget_and_lengths(max_T=3), label="T, lengths")
    z = torch.tensor(data.draw(logits3(), label="logits"), dtype=torch.float64, requires_grad=True)
    b = toy_numerics.enumerate_toy(T, lengths)
    g = toy_numerics.stage_gradients(b, z, b.rewards())
    full, = torch.autograd.grad(toy_numerics.expected_reward(b, z), z)
    assert_close(g["sampling"] + g["decision"], full, "g_sampling + g_decision = grad J")
    assert g["sampling"][1:].abs().max() == 0 and g["decision"][0] == 0, "a stage's score leaked"


def test_monte_carlo_estimator_matches_exact_gradient():
    zs = crosscheck.mc_zscores(3, (2, 2, 2), (0.4, 0.2, -0.3), n=20000, seed=1)
    assert np.all(np.abs(zs) < MC_Z_MAX), f"MC estimator off: z = {zs}"


def test_monte_carlo_detects_a_wrong_gradient():
    """The MC check can fail: against a gradient with its decision part negated, |z| is large."""
    z = (0.4, 0.2, -0.3)
    exact, _ = crosscheck.symbolic_gradients(3, (2, 2, 2), z)
    n = 20000
    wrong = exact.copy()
    wrong[1:] *= -1
    zt = torch.tensor(z, dtype=torch.float64)
    b = toy_numerics.sample_toy(3, (2, 2, 2), zt, n, torch.Generator().manual_seed(1))
    jac = torch.func.jacfwd(lambda zz: toy_numerics.token_logprobs(b, zz).sum(-1))(zt)
    per = b.rewards()[:, None] * jac
    z_wrong = (per.mean(0) - torch.from_numpy(wrong)) / (per.std(0) / np.sqrt(n))
    assert torch.abs(z_wrong[1:]).max() > MC_Z_MAX


def test_sampler_frequencies_match_enumeration():
    z = torch.tensor([0.5, 0.0, 0.7], dtype=torch.float64)
    s = toy_numerics.sample_toy(3, 2, z, 20000, torch.Generator().manual_seed(2))
    J = toy_numerics.expected_reward(toy_numerics.enumerate_toy(3, 2), z).item()
    p = s.rewards().mean().item()
    assert abs(p - J) < MC_Z_MAX * np.sqrt(J * (1 - J) / 20000)


def test_fisher_cross_block_vanishes_hessian_cross_block_does_not():
    m = ToyModel(3, (1, 2, 1))
    assert m.expected_score_product("sampling", "decision") == sp.zeros(3, 3)
    H = m.hessian_cross_terms(m.J_backward, "test")
    val = [m.to_logits(h.expr).subs({toy_theory.theta_s: 0.3, toy_theory.theta_dC: 0.1, toy_theory.theta_dW: -0.2}) for h in H]
    assert all(abs(float(v)) > 1e-3 for v in val)


@pytest.mark.parametrize("kwargs, msg", [(dict(T=0), "T must be >= 1"), (dict(T=2.0), "T must be an int"),
                                         (dict(T=2, lengths=(1, 0)), r"lengths\[2\]"),
                                         (dict(T=2, lengths=(1,)), "one entry per attempt"),
                                         (dict(T=1, lengths=-3), r"lengths\[1\]")])
def test_bad_model_arguments(kwargs, msg):
    with pytest.raises((ValueError, TypeError), match=msg):
        ToyModel(**kwargs)
    with pytest.raises((ValueError, TypeError), match=msg):
        toy_numerics.enumerate_toy(kwargs["T"], kwargs.get("lengths", 1))


@pytest.mark.parametrize("z, msg", [((float("nan"), 0, 0), "finite"), ((0, 0), "shape"),
                                    ((0, float("inf"), 0), "finite")])
def test_bad_logits(z, msg):
    b = toy_numerics.enumerate_toy(1, 1)
    with pytest.raises(ValueError, match=msg):
        toy_numerics.token_logprobs(b, torch.tensor(z, dtype=torch.float64))
