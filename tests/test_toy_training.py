"""The length-weighting training map (numerics.toy_training): each objective's update direction against an
independent computation (a hand-written SFT loss, the torch objectives on the enumerated toy model) and a training
run against an autograd loop."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from numerics import crosscheck, objectives, toy_training
from numerics import toy as toy_numerics
from numerics.tolerances import assert_close
from tests.strategies import logits3


def _autograd(fn, z):
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    g, = torch.autograd.grad(fn(zt), zt)
    return g


def _sft_loglik(L, reflect_frac):
    """Expected log-likelihood of the demonstration mixture, written out token by token."""
    def f(z):
        log_q, log_not_q = torch.nn.functional.logsigmoid(z[0]), torch.nn.functional.logsigmoid(-z[0])
        log_stop_c, log_resample_w = torch.nn.functional.logsigmoid(z[1]), torch.nn.functional.logsigmoid(z[2])
        correct = L * log_q + log_stop_c
        reflect = (2 * L - 1) * log_q + log_not_q + log_resample_w + log_stop_c
        return (1 - reflect_frac) * correct + reflect_frac * reflect
    return f


@given(data=st.data())
def test_sft_directions_equal_autograd_of_the_demonstration_loglikelihood(data):
    z = data.draw(logits3(), label="z")
    L = data.draw(st.integers(1, 64), label="L")
    frac = data.draw(st.floats(0.05, 0.95), label="reflect_frac")
    for name, f in (("sft-correct", 0.0), ("sft-reflect", frac)):
        got = toy_training.ascent_direction(name, np.array(z), np.array(z), 4, L, reflect_frac=frac)
        assert_close(torch.from_numpy(got), _autograd(_sft_loglik(L, f), z), f"{name}, L={L}")


def test_k3_loss_direction_equals_the_torch_objective_on_the_enumerated_model():
    z, z_ref, w = (0.7, -0.4, 0.9), (0.2, 0.3, -0.5), 0.3
    T, L = 3, 2
    k3 = crosscheck.toy_objective_stage_gradients(T, (L,) * T, z, objectives.kl(
        estimator="k3", placement="loss", loss_agg_mode="seq-mean-token-sum"), z_ref=z_ref)
    k3_grad = torch.stack([k3["sampling"][0], k3["decision"][1], k3["decision"][2]])
    batch = toy_numerics.enumerate_toy(T, L)
    dJ = _autograd(lambda zt: toy_numerics.expected_reward(batch, zt), z)
    got = toy_training.ascent_direction("rl+kl-k3-loss", np.array(z), np.array(z_ref), T, L, w=w)
    assert_close(torch.from_numpy(got), dJ - w * k3_grad, "J - w k3 loss direction")


def test_kl_reward_training_equals_an_autograd_loop_with_a_fixed_reference():
    z0, w, T, L = (0.4, -0.6, 0.3), 0.2, 3, 2
    got = toy_training.train("rl+kl-reward", np.array([z0]), T=T, L=L, w=w, steps=15, lr=0.7)[0]
    batch = toy_numerics.enumerate_toy(T, L)
    z = torch.tensor(z0, dtype=torch.float64, requires_grad=True)
    z_ref = z.detach().clone()
    expected = [z.detach().clone()]
    for _ in range(15):
        g, = torch.autograd.grad(toy_numerics.expected_reward(batch, z) - w * toy_numerics.kl_sequence(batch, z, z_ref), z)
        with torch.no_grad():
            z += 0.7 * g
        expected.append(z.detach().clone())
    assert_close(torch.from_numpy(got), torch.stack(expected), "logits over training")


@pytest.mark.parametrize("ref_every, lr", [(4, 0.7), (6, 0.1)])
def test_kl_training_with_reference_resets_equals_an_autograd_loop(ref_every, lr):
    """abstract-length-weighting's protocols: the KL reference reset to the current policy every ``ref_every`` steps
    (and another learning rate), against an autograd loop over the enumerated toy that resets it itself."""
    z0, w, T, L = (0.4, -0.6, 0.3), 0.2, 3, 2
    got = toy_training.train("rl+kl-reward", np.array([z0]), T=T, L=L, w=w, steps=13, lr=lr, ref_every=ref_every)[0]
    batch = toy_numerics.enumerate_toy(T, L)
    z = torch.tensor(z0, dtype=torch.float64, requires_grad=True)
    expected = [z.detach().clone()]
    for step in range(13):
        if step % ref_every == 0:
            z_ref = z.detach().clone()
        g, = torch.autograd.grad(toy_numerics.expected_reward(batch, z) - w * toy_numerics.kl_sequence(batch, z, z_ref), z)
        with torch.no_grad():
            z += lr * g
        expected.append(z.detach().clone())
    assert_close(torch.from_numpy(got), torch.stack(expected), "logits over training with reference resets")
    fixed = toy_training.train("rl+kl-reward", np.array([z0]), T=T, L=L, w=w, steps=13, lr=lr)[0]
    assert np.abs(fixed - got).max() > 1e-6  # the resets matter over these steps


def test_sft_without_reflection_never_moves_the_resample_when_wrong_logit():
    z0 = np.array([[0.3, -1.0, 0.7], [1.5, 0.5, -0.8]])
    z = toy_training.train("sft-correct", z0, L=16, steps=50)
    assert np.array_equal(z[:, :, 2], np.repeat(z0[:, 2:], 51, axis=1))
    assert np.all(z[:, -1, :2] > z0[:, :2]), "SFT must move the sampling and STOP-when-correct logits up"


def test_vectorised_kl_weights_equal_one_at_a_time():
    z0 = np.array([[0.3, -1.0, 0.7], [1.5, 0.5, -0.8]])
    both = toy_training.train("rl+kl-reward", z0, L=4, w=np.array([0.05, 0.2]), steps=10)
    for i, w in enumerate((0.05, 0.2)):
        one = toy_training.train("rl+kl-reward", z0[i:i + 1], L=4, w=w, steps=10)
        np.testing.assert_allclose(both[i], one[0], rtol=1e-13)


def test_kept_fraction_hand_worked():
    got = toy_training.kept_fraction(np.array([1.5, 1.0, 3.0]), np.array([3.0, 2.0, 2.0]), np.array([1.0, 0.0, 1.0]))
    np.testing.assert_allclose(got, [0.25, 0.5, 2.0])


@pytest.mark.parametrize("kwargs, match", [(dict(steps=0), "steps"), (dict(lr=-1.0), "lr"),
                                           (dict(objective="ppo"), "objective"), (dict(reflect_frac=1.5), "reflect_frac"),
                                           (dict(ref_every=0), "ref_every")])
def test_bad_arguments_raise(kwargs, match):
    args = dict(objective="sft-reflect", z0=np.zeros((1, 3)), steps=2) | kwargs
    with pytest.raises(ValueError, match=match):
        toy_training.train(**args)
