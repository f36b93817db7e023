"""Appendix C / Figure 1 (numerics.figure1): the closed-form training gradients against autograd through the torch
enumeration, a whole training run against an independent autograd training loop, and the ratio readings against
hand-worked values."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from numerics import figure1
from numerics import toy as toy_numerics
from numerics.tolerances import assert_close
from tests.strategies import logits3


@given(data=st.data())
def test_closed_form_gradients_equal_autograd_through_enumeration(data):
    T = data.draw(st.integers(1, 4), label="T")
    L = data.draw(st.integers(1, 3), label="L")
    z = data.draw(logits3(), label="z")
    z_ref = data.draw(logits3(), label="z_ref")
    batch = toy_numerics.enumerate_toy(T, L)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    dJ, = torch.autograd.grad(toy_numerics.expected_reward(batch, zt), zt)
    dKL, = torch.autograd.grad(toy_numerics.kl_sequence(batch, zt, torch.tensor(z_ref, dtype=torch.float64)), zt)
    gJ, gK = figure1.toy_gradients(np.array(z), np.array(z_ref), T, L)
    assert_close(torch.from_numpy(gJ), dJ, f"dJ/dtheta, T={T}, L={L}")
    assert_close(torch.from_numpy(gK), dKL, f"dKL/dtheta, T={T}, L={L}")


def _autograd_training(T, L, z0, w, lr, steps, ref_every):
    """An independent training loop: autograd through the enumeration, one setting."""
    batch = toy_numerics.enumerate_toy(T, L)
    z = torch.tensor(z0, dtype=torch.float64, requires_grad=True)
    traj = []
    for step in range(steps):
        if step % ref_every == 0:
            z_ref = z.detach().clone()
        traj.append(torch.sigmoid(z.detach()).clone())
        objective = toy_numerics.expected_reward(batch, z) - w * toy_numerics.kl_sequence(batch, z, z_ref)
        g, = torch.autograd.grad(objective, z)
        with torch.no_grad():
            z += lr * g
    return torch.stack(traj)


@pytest.mark.parametrize("L, z0, w, ref_every", [(1, (0.3, -0.7, 1.1), 0.2, 7), (3, (1.2, 0.4, -0.9), 0.05, 5)])
def test_training_run_equals_an_autograd_training_loop(L, z0, w, ref_every):
    run = figure1.train_toy(T=4, lengths=L, z0=z0, w=w, lr=0.8, steps=20, ref_every=ref_every)
    expected = _autograd_training(4, L, z0, w, 0.8, 20, ref_every)
    assert_close(torch.from_numpy(run.probs), expected, "probabilities over training")


def test_vectorised_training_equals_one_setting_at_a_time():
    settings = [dict(z0=(0.5, -1.0, 0.2), w=0.1, ref_every=4), dict(z0=(-1.0, 1.5, -0.5), w=0.5, ref_every=9)]
    many = figure1.train_many(settings, T=3, lengths=2, steps=12)
    for s, run in zip(settings, many):
        one = figure1.train_toy(T=3, lengths=2, z0=s["z0"], w=s["w"], steps=12, ref_every=s["ref_every"])
        np.testing.assert_allclose(run.kl_grads, one.kl_grads, rtol=1e-12)


def test_readings_hand_worked():
    g = np.array([3.0, -1.0, 2.0])
    expected = {"both (norm)": 3 / np.sqrt(5), "per-parameter mean": 2.0, "d|C only": 3.0, "d|W only": 1.5}
    assert set(expected) == set(figure1.READINGS)
    for reading, value in expected.items():
        assert figure1.attribution_ratio(g, reading) == pytest.approx(value, rel=1e-14), reading
    assert np.isnan(figure1.attribution_ratio(np.array([1.0, 0.0, 0.0]), "both (norm)"))


def test_kl_range_excludes_reset_steps_and_holds_reads_the_minimum():
    run = figure1.train_toy(T=4, lengths=1, z0=(0.4, -0.3, 0.8), w=0.2, steps=30, ref_every=10)
    assert np.all(run.kl_grads[run.steps % 10 == 0] == 0), "KL gradient at a reference reset"
    r = run.ratios("kl")
    lo, hi = figure1.kl_ratio_range(run)
    keep = run.steps % 10 != 0
    assert (lo, hi) == (np.nanmin(r[keep]), np.nanmax(r[keep]))
    row = {("kl", "both (norm)"): (2.5, 9.0), ("relative", "both (norm)"): (1.5, 3.0)}
    assert figure1.holds_throughout(row, "both (norm)")
    assert not figure1.holds_throughout(row, "both (norm)", term="relative")


def test_sweep_covers_the_grid_and_its_control_is_the_ratio_of_ratios():
    rows = figure1.sweep(z0s=((0.0, 0.0, 0.0), (1.0, -1.0, 1.0)), ws=(0.05,), ref_everys=(25,), steps=60)
    assert len(rows) == 2
    run = figure1.train_toy(T=4, lengths=1, z0=(1.0, -1.0, 1.0), w=0.05, steps=60, ref_every=25)
    keep = ~run.reset_steps()
    rel = run.kl_grad[keep, 0] / run.kl_grad[keep, 1] / (run.reward_grad[keep, 0] / run.reward_grad[keep, 1])
    assert rows[1][("relative", "both (norm)")][0] == pytest.approx(rel.min(), rel=1e-12)


@pytest.mark.parametrize("kwargs, match", [(dict(steps=0), "steps"), (dict(ref_every=0), "ref_every"),
                                           (dict(lengths=0), "lengths"), (dict(lr=0.0), "lr")])
def test_bad_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        figure1.train_toy(**kwargs)


def test_unknown_reading_raises():
    with pytest.raises(ValueError, match="reading"):
        figure1.attribution_ratio(np.zeros(3), "sampling vs everything")


def test_default_setting_equals_an_independent_referee_derivation():
    """App. C at the ledger's default setting (theta0 = 0, w = 0.05, reference every 50 steps, lr 1, 300 steps, T=4,
    L=1): the KL ratio's range (reset steps excluded) and the surrogate's range over all steps, as re-derived by a
    separate backward recursion written without this code (values to 4 digits)."""
    run = figure1.train_toy(T=4, lengths=1, w=0.05)
    lo, hi = figure1.kl_ratio_range(run)
    assert (lo, hi) == (pytest.approx(0.4247, abs=1e-4), pytest.approx(3.4612, abs=1e-4))
    reward = figure1.Figure1Run.ratio(run.reward_grad)
    assert (np.nanmin(reward), np.nanmax(reward)) == (pytest.approx(1.1094, abs=1e-4), pytest.approx(1.6162, abs=1e-4))
    dw_min = np.nanmin(run.ratios("kl", "d|W only")[~run.reset_steps()])
    assert dw_min == pytest.approx(4.62, abs=5e-3)


def _autograd_kl_ratios(L, z0, w, steps, ref_every):
    """KL-term ratios |g_s| / ||g_d|| over training from an autograd loop through the enumeration."""
    batch = toy_numerics.enumerate_toy(4, L)
    z = torch.tensor(z0, dtype=torch.float64, requires_grad=True)
    ratios = []
    for step in range(steps):
        if step % ref_every == 0:
            z_ref = z.detach().clone()
        gJ, = torch.autograd.grad(toy_numerics.expected_reward(batch, z), z)
        gK, = torch.autograd.grad(toy_numerics.kl_sequence(batch, z, z_ref), z)
        if step % ref_every:
            ratios.append((gK[0].abs() / gK[1:].norm()).item())
        with torch.no_grad():
            z += gJ - w * gK
    return np.array(ratios)


@pytest.mark.parametrize("L", [1, 3])
def test_sweep_rows_equal_an_autograd_training_loop(L):
    z0s, steps = ((1.0, -2.0, 2.0), (-2.0, 0.0, -2.0)), 40
    rows = figure1.sweep(z0s=z0s, ws=(0.2,), ref_everys=(25,), lengths=L, steps=steps)
    for z0, row in zip(z0s, rows):
        expected = _autograd_kl_ratios(L, z0, 0.2, steps, 25)
        assert row[("kl", "both (norm)")] == (pytest.approx(expected.min(), rel=1e-6), pytest.approx(expected.max(), rel=1e-6))
