"""numerics.objectives: practised forms against the symbolic derivations, the practice.md table and the
known results for KL estimators."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from numerics import crosscheck
from numerics import objectives
from numerics.attribution import stage_split
from numerics.tolerances import assert_close
from tests.strategies import (LOSS_AGG_MODES, budget_and_lengths, clip_safe_log_ratios, logits3, logp_and_ref_rows,
                              stage_rows)
from theory import kl as kl_theory
from theory import surrogate as surrogate_theory
from theory import toy as toy_theory
D = torch.float64


def _ascent(g):
    return torch.stack([-g["sampling"][0], -g["decision"][1], -g["decision"][2]])


@given(data=st.data())
def test_practised_surrogate_equals_symbolic(data):
    T, L = data.draw(budget_and_lengths(max_T=2, max_L=2), label="T, lengths")
    z = data.draw(logits3(), label="logits")
    mode = data.draw(st.sampled_from(LOSS_AGG_MODES), label="loss_agg_mode")
    std = data.draw(st.booleans(), label="std-normalised advantage")
    g = crosscheck.toy_objective_stage_gradients(T, L, z, objectives.surrogate(loss_agg_mode=mode, clip=None, norm_const=7.0),
                                        std_norm=std)
    sym = crosscheck.symbolic_values(surrogate_theory.expected_stage_gradient(crosscheck.toy_model(T, L), mode, std_norm=std), z, {surrogate_theory.C_norm: 7})
    assert_close(_ascent(g), torch.from_numpy(sym), f"E[c A g_stage], mode={mode}, std={std}, T={T}, L={L}")


@given(data=st.data())
def test_kl_placements_against_theory(data):
    T, L = data.draw(budget_and_lengths(max_T=2, max_L=2), label="T, lengths")
    z = data.draw(logits3(), label="logits")
    z_ref = data.draw(logits3(), label="reference logits")
    g = crosscheck.toy_objective_stage_gradients(T, L, z, objectives.kl("k1", "reward", "seq-mean-token-sum"), z_ref=z_ref)
    _, exact = crosscheck.autograd_gradients(T, L, z, z_ref=z_ref)
    assert_close(-_ascent(g), exact, "k1 in the reward: E[grad] = grad KL(P||P_ref)")
    g2 = crosscheck.toy_objective_stage_gradients(T, L, z, objectives.kl("k2", "loss", "seq-mean-token-sum"), z_ref=z_ref)
    ref = dict(zip(toy_theory.REF_PROBS, 1 / (1 + np.exp(-np.array(z_ref)))))
    partial = crosscheck.symbolic_values(kl_theory.kl_partial_terms(crosscheck.toy_model(T, L)), z, ref)
    assert_close(-_ascent(g2), torch.from_numpy(partial), "k2 as a loss: the partial gradient")


def _categorical_batch(x_ref):
    """Every token of a V-way categorical as a one-token sequence, weighted by pi (exact expectation)."""
    V = x_ref.shape[0]
    return objectives.TokenBatch(stage=torch.ones(V, 1, dtype=torch.long),
                        ref_logp=torch.log_softmax(x_ref, 0)[:, None].detach())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_known_kl_estimator_gradients(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(5, dtype=D, generator=g).requires_grad_(True)
    x_ref = torch.randn(5, dtype=D, generator=g)
    ref = torch.softmax(x_ref, 0)
    pi = lambda: torch.softmax(x, 0)  # noqa: E731 (fresh graph per use)
    rev, = torch.autograd.grad((pi() * (pi().log() - ref.log())).sum(), x)
    fwd, = torch.autograd.grad((ref * (ref.log() - pi().log())).sum(), x)
    expected = {"k1": torch.zeros(5, dtype=D), "k2": rev, "k3": fwd, "k1+": rev, "k3+": rev}
    for est, want in expected.items():
        batch = _categorical_batch(x_ref)
        batch.seq_weights = pi().detach()
        loss = objectives.kl(est, "loss", "seq-mean-token-sum")(torch.log_softmax(x, 0)[:, None], batch)
        got, = torch.autograd.grad(loss, x)
        assert_close(got, want, f"E[grad {est}] on-policy")


def test_k3_plus_has_k3_value_and_k2_gradient():
    l = torch.tensor([[0.3, -0.2]], dtype=D, requires_grad=True)
    ref = torch.zeros(1, 2, dtype=D)
    k3, k3p, k2 = (objectives.kl_estimate(l, ref, e) for e in ("k3", "k3+", "k2"))
    assert_close(k3p, k3, "k3+ value")
    assert_close(torch.autograd.grad(k3p.sum(), l)[0], torch.autograd.grad(k2.sum(), l)[0], "k3+ gradient")


@given(data=st.data())
def test_straight_through_estimators_have_their_value_and_the_gradient_of_k2(data):
    """verl's '+' estimators: k1+ (k3+) has k1's (k3's) value and k2's gradient, per token and through the loss
    objective, float64 at the tolerance table's float64 tolerance."""
    rows, ref_rows = data.draw(logp_and_ref_rows(), label="logp, ref_logp")
    ref = torch.tensor(ref_rows, dtype=D)

    def value_and_grad(est):
        lp = torch.tensor(rows, dtype=D, requires_grad=True)
        v = objectives.kl_estimate(lp, ref, est)
        return v.detach(), torch.autograd.grad(v.sum(), lp)[0]

    k2_grad = value_and_grad("k2")[1]
    for plus, base in (("k1+", "k1"), ("k3+", "k3")):
        value, grad = value_and_grad(plus)
        assert_close(value, value_and_grad(base)[0], f"{plus} value = {base} value")
        assert_close(grad, k2_grad, f"{plus} gradient = k2 gradient")
        batch = objectives.TokenBatch(stage=torch.ones_like(ref, dtype=torch.long), ref_logp=ref)
        lp = torch.tensor(rows, dtype=D, requires_grad=True)
        g_plus, = torch.autograd.grad(objectives.kl(plus, "loss")(lp, batch), lp)
        g_k2, = torch.autograd.grad(objectives.kl("k2", "loss")(lp, batch), lp)
        assert_close(g_plus, g_k2, f"kl({plus!r}, 'loss') gradient = kl('k2', 'loss') gradient")


def test_importance_corrected_k3_is_not_a_noop_on_policy():
    """TRL #6503: multiplying k3 by a differentiable pi/pi_old changes the gradient even on-policy."""
    x = torch.tensor([0.2, -0.4, 0.9], dtype=D, requires_grad=True)
    x_ref = torch.tensor([0.0, 0.1, -0.3], dtype=D)
    batch = _categorical_batch(x_ref)
    logp = torch.log_softmax(x, 0)[:, None]
    batch.old_logp, batch.seq_weights = logp.detach(), torch.softmax(x, 0).detach()
    a, = torch.autograd.grad(objectives.kl("k3", "loss", "seq-mean-token-sum")(logp, batch), x, retain_graph=True)
    b, = torch.autograd.grad(objectives.kl("k3", "loss", "seq-mean-token-sum", importance_ratio=True)(logp, batch), x)
    assert (a - b).abs().max() > 1e-3


@given(data=st.data())
def test_aggregation_matches_practice_table(data):
    stage = torch.tensor(data.draw(stage_rows(), label="stage"))
    B, n = stage.shape
    loss = torch.tensor(data.draw(st.lists(st.floats(-3, 3), min_size=B * n, max_size=B * n), label="loss"),
                        dtype=D).reshape(B, n)
    batch = objectives.TokenBatch(stage=stage)
    m = (stage > 0).to(D)
    n_i, N = m.sum(-1), m.sum()
    want = {"token-mean": (loss * m).sum() / N,
            "seq-mean-token-mean": ((loss * m).sum(-1) / n_i).mean(),
            "seq-mean-token-sum": (loss * m).sum(-1).mean(),
            "seq-mean-token-sum-norm": (loss * m).sum(-1).mean() / 11.0,
            "token-sum": (loss * m).sum()}
    for mode, w in want.items():
        assert_close(objectives.aggregate(loss, batch, mode, norm_const=11.0), w, f"aggregation {mode}")


def test_dr_grpo_length_bias_weights():
    """seq-mean-token-mean gives each token -A_i/(B n_i); seq-mean-token-sum-norm -A_i/(B C)."""
    stage = torch.tensor([[1, 1, 2, 0], [1, 1, 1, 2]])
    batch = objectives.TokenBatch(stage=stage, advantages=torch.tensor([1.0, 1.0], dtype=D),
                         old_logp=torch.zeros(2, 4, dtype=D))
    logp = torch.zeros(2, 4, dtype=D)
    w = objectives.token_weights(objectives.surrogate("seq-mean-token-mean", clip=None), logp, batch)
    assert_close(w[0, :3], torch.full((3,), -1 / (2 * 3), dtype=D), "weight -A/(B n_0)")
    assert_close(w[1], torch.full((4,), -1 / (2 * 4), dtype=D), "weight -A/(B n_1)")
    w = objectives.token_weights(objectives.surrogate("seq-mean-token-sum-norm", clip=None, norm_const=4.0), logp, batch)
    assert_close(w[1], torch.full((4,), -1 / (2 * 4.0), dtype=D), "weight -A/(B C)")


@given(data=st.data())
def test_clipped_token_weights_follow_the_ppo_formula(data):
    B, n = 2, 5
    lr = torch.tensor(data.draw(clip_safe_log_ratios((B, n))), dtype=D).reshape(B, n)
    A = torch.tensor(data.draw(st.lists(st.floats(-2, 2).filter(lambda a: abs(a) > 1e-3), min_size=B, max_size=B),
                               label="advantages"), dtype=D)
    batch = objectives.TokenBatch(stage=torch.ones(B, n, dtype=torch.long), advantages=A, old_logp=torch.zeros(B, n, dtype=D))
    w = objectives.token_weights(objectives.surrogate("token-sum", clip=(0.2, 0.28), dual_clip=3.0), lr, batch)
    r = lr.exp()
    Ab = A[:, None].expand(B, n)
    active = torch.where(Ab > 0, r < 1.28, r > 0.8)  # min(rA, clip(r)A) picks the unclipped branch
    dual = (Ab < 0) & (r * -Ab > 3.0 * -Ab)  # dual-clip caps the loss at -3A: constant, zero gradient
    want = torch.where(active & ~dual, -r * Ab, torch.zeros_like(r))
    assert_close(w, want, "d loss / d logp under clip + dual-clip")


def test_stage_split_sums_to_full_gradient():
    x = torch.randn(3, dtype=D, requires_grad=True)
    stage = torch.tensor([[1, 1, 2, 1, 2]])
    logp = lambda: torch.log_softmax(x, 0)[torch.tensor([[0, 1, 2, 0, 1]])]  # noqa: E731
    batch = objectives.TokenBatch(stage=stage)
    g = stage_split(logp(), objectives.sft(), batch, x)
    full, = torch.autograd.grad(objectives.sft()(logp(), batch), x)
    assert_close(g["sampling"] + g["decision"], full, "stage split sums to the gradient")


@pytest.mark.parametrize("factory, kwargs, msg", [
    (objectives.surrogate, dict(loss_agg_mode="mean"), "unknown loss_agg_mode"),
    (objectives.surrogate, dict(ratio_level="sequence"), "unknown ratio_level"),
    (objectives.surrogate, dict(clip=(0.2,)), "clip must be"),
    (objectives.surrogate, dict(dual_clip=0.5), "dual_clip"),
    (objectives.kl, dict(estimator="k4"), "unknown KL estimator"),
    (objectives.kl, dict(placement="advantage"), "unknown KL placement"),
    (objectives.sft, dict(norm="sum"), "unknown norm"),
])
def test_bad_options(factory, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        factory(**kwargs)


def test_bad_batches():
    with pytest.raises(ValueError, match="empty sequences"):
        objectives.TokenBatch(stage=torch.tensor([[1, 2], [0, 0]]))
    with pytest.raises(ValueError, match="stage entries"):
        objectives.TokenBatch(stage=torch.tensor([[1, 5]]))
    with pytest.raises(ValueError, match="old_logp has shape"):
        objectives.TokenBatch(stage=torch.tensor([[1, 2]]), old_logp=torch.zeros(1, 3))
    with pytest.raises(ValueError, match="advantages has shape"):
        objectives.TokenBatch(stage=torch.tensor([[1, 2]]), advantages=torch.zeros(2))
    b = objectives.TokenBatch(stage=torch.tensor([[1, 2]]))
    with pytest.raises(ValueError, match="logp has shape"):
        objectives.sft()(torch.zeros(1, 3), b)
    with pytest.raises(ValueError, match="needs batch.advantages"):
        objectives.surrogate()(torch.zeros(1, 2), b)
    with pytest.raises(ValueError, match="norm_const"):
        objectives.sft(norm="seq-mean-token-sum-norm")(torch.zeros(1, 2), b)
    with pytest.raises(ValueError, match="unknown objective"):
        objectives.get("ppo")
