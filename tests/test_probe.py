"""The per-stage probe on real transformer architectures (random weights, no download)."""

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from hypothesis import given
from hypothesis import strategies as st

from numerics import objectives
from numerics.models import ARCHS, build_model, self_correction_batch, with_logps
from numerics.probe import LMBatch, attribute, eval_mode, token_logprobs
from numerics.tolerances import FD_RTOL, FD_STEP, tolerance

OBJECTIVES = [objectives.surrogate(loss_agg_mode="seq-mean-token-mean"), objectives.kl("k3", "loss"), objectives.sft(), objectives.dft()]


def _full_grad(model, batch, objective):
    model.zero_grad(set_to_none=True)
    objective(token_logprobs(model, batch), batch.token_batch()).backward()
    return [p.grad.clone() for p in model.parameters() if p.requires_grad]


def _flat(gs):
    return torch.cat([g.reshape(-1) for g in gs])


@pytest.fixture(scope="module", params=list(ARCHS))
def tiny(request):
    m = build_model(request.param)
    return m, with_logps(m, self_correction_batch(m.config.vocab_size))


@pytest.mark.parametrize("objective", OBJECTIVES, ids=lambda o: f"{o.name}")
def test_stage_gradients_sum_to_autograd(tiny, objective):
    model, batch = tiny
    r = attribute(model, batch, objective, keep_grads=True)
    total = _flat(r.grads["sampling"]) + _flat(r.grads["decision"])
    full = _flat(_full_grad(model, batch, objective))
    rtol, atol = tolerance(torch.float64)
    torch.testing.assert_close(total, full, rtol=rtol, atol=atol)
    assert r.norms["decision"] > 0 and r.norms["sampling"] > 0


def test_directional_derivative_matches_finite_difference(tiny):
    """<g_stage, v> against a central difference of the stage-restricted linearised loss
    sum_t sg(w_t) 1[stage] logp_t(theta + h v), float64."""
    model, batch = tiny
    obj = objectives.surrogate(loss_agg_mode="token-mean")
    r = attribute(model, batch, obj, keep_grads=True)
    params = [p for p in model.parameters() if p.requires_grad]
    g = torch.Generator().manual_seed(3)
    v = [torch.randn(p.shape, generator=g, dtype=p.dtype) for p in params]
    w = objectives.token_weights(obj, token_logprobs(model, batch).detach(), batch.token_batch())

    def restricted(stage, h):
        with torch.no_grad():
            for p, d in zip(params, v):
                p.add_(h * d)
            val = (w * (batch.stage == stage) * token_logprobs(model, batch)).sum()
            for p, d in zip(params, v):
                p.sub_(h * d)
        return val

    for name, code in (("sampling", 1), ("decision", 2)):
        fd = (restricted(code, FD_STEP) - restricted(code, -FD_STEP)) / (2 * FD_STEP)
        vjp = sum((a * b).sum() for a, b in zip(r.grads[name], v))
        assert abs(fd - vjp) <= FD_RTOL * abs(vjp) + 1e-9, f"{name}: FD {fd.item()} vs VJP {vjp.item()}"


def test_bad_inputs(tiny):
    model, batch = tiny
    no_dec = LMBatch(batch.input_ids, batch.attention_mask, torch.where(batch.stage == 2, 1, batch.stage),
                     batch.advantages, batch.old_logp, batch.ref_logp)
    with pytest.raises(ValueError, match="no decision tokens"):
        attribute(model, no_dec, objectives.sft())
    bad_pad = LMBatch(batch.input_ids, torch.zeros_like(batch.attention_mask), batch.stage)
    with pytest.raises(ValueError, match="padding inconsistent"):
        attribute(model, bad_pad, objectives.sft())

    class NoLogits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, attention_mask):
            return {"hidden": self.w}

    with pytest.raises(TypeError, match="no .logits"):
        attribute(NoLogits(), batch, objectives.sft())


def _gpt2_with_dropout():
    """A GPT-2 built from a config, in training mode: dropout 0.1 on (resid, embd, attn), as a user would have it."""
    import transformers

    torch.manual_seed(0)
    cfg = transformers.GPT2Config(**ARCHS["gpt2"][1])
    model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.float64).train()
    assert cfg.resid_pdrop > 0 and model.training
    with eval_mode(model):
        batch = with_logps(model, self_correction_batch(cfg.vocab_size))
    return model, batch


def test_training_mode_is_probed_in_eval_mode_and_restored():
    """Dropout would give a different ratio on every call: attribute() warns, evaluates in eval mode (the same
    result as an eval() model) and restores every module's training flag."""
    model, batch = _gpt2_with_dropout()
    obj = objectives.surrogate(loss_agg_mode="token-mean")
    with pytest.warns(UserWarning, match="training mode.*eval"):
        first = attribute(model, batch, obj)
    with pytest.warns(UserWarning, match="training mode"):
        second = attribute(model, batch, obj)
    assert first.ratio == second.ratio and first.norms == second.norms
    assert all(m.training for m in model.modules()), "the training mode was not restored"
    with eval_mode(model):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning for a model already in eval mode
            assert attribute(model, batch, obj).ratio == first.ratio


@pytest.mark.parametrize("name", ["advantages", "old_logp", "ref_logp"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_non_finite_batch_tensors_are_named(tiny, name, bad):
    model, batch = tiny
    t = getattr(batch, name).clone()
    t.view(-1)[1] = bad
    broken = LMBatch(batch.input_ids, batch.attention_mask, batch.stage,
                     **{k: (t if k == name else getattr(batch, k)) for k in ("advantages", "old_logp", "ref_logp")})
    with pytest.raises(ValueError, match=f"batch.{name} is not finite"):
        attribute(model, broken, objectives.kl("k3", "loss") if name == "ref_logp" else objectives.surrogate())


def test_non_finite_logits_are_named(tiny):
    import copy
    import types

    model, batch = tiny
    poisoned = copy.deepcopy(model)
    with torch.no_grad():
        poisoned.get_output_embeddings().weight[3] = float("nan")
    with pytest.raises(ValueError, match="logits are not finite at the sampling positions"):
        attribute(poisoned, batch, objectives.sft())

    class NanLM(torch.nn.Module):  # outside HEAD_SPLIT_TYPES: the full-logits path
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))

        def forward(self, input_ids, attention_mask):
            logits = torch.zeros(*input_ids.shape, 64, dtype=torch.float64) + self.w
            logits[0, 2, 5] = float("inf")
            return types.SimpleNamespace(logits=logits)

    with pytest.raises(ValueError, match="logits are not finite"):
        attribute(NanLM().eval(), batch, objectives.sft())


def test_zero_gradient_warns_and_no_trainable_parameter_raises(tiny):
    import copy
    import math

    model, batch = tiny
    zero = LMBatch(batch.input_ids, batch.attention_mask, batch.stage, torch.zeros_like(batch.advantages),
                   batch.old_logp, batch.ref_logp)
    with pytest.warns(RuntimeWarning, match="exactly zero at both stages"):
        r = attribute(model, zero, objectives.surrogate())
    assert math.isnan(r.ratio) and math.isnan(r.cosine) and r.norms["total"] == 0
    frozen = copy.deepcopy(model).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameter"):
        attribute(frozen, batch, objectives.sft())


def test_token_counts_per_stage(tiny):
    model, batch = tiny
    r = attribute(model, batch, objectives.sft())
    assert r.tokens == {"sampling": int((batch.stage == 1).sum()), "decision": int((batch.stage == 2).sum())}
    assert r.tokens["sampling"] > r.tokens["decision"] > 0
    assert f"{r.tokens['sampling']:14d} {r.tokens['decision']:14d}" in r.table()
    d = r.to_dict()
    assert d["tokens"] == r.tokens and set(d["norms"]) == {"sampling", "decision", "total"}


def _ddp_worker(rank, world, port, out):
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"  # loopback only: no interface / hostname lookup races
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = build_model("qwen2")
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    full = with_logps(model, self_correction_batch(model.config.vocab_size))
    sl = slice(rank * 2, rank * 2 + 2)
    shard = LMBatch(full.input_ids[sl], full.attention_mask[sl], full.stage[sl], full.advantages[sl],
                    full.old_logp[sl], full.ref_logp[sl])
    r = attribute(ddp, shard, objectives.surrogate(loss_agg_mode="seq-mean-token-sum"), keep_grads=True)
    if rank == 0:
        torch.save({k: _flat(v) for k, v in r.grads.items()}, out)
    dist.barrier()  # both ranks done before gloo tears down its pairs (an early teardown aborted rank 0)
    dist.destroy_process_group()


def test_ddp_two_processes_equal_single_process(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "ddp.pt"
    mp.spawn(_ddp_worker, args=(2, port, str(out)), nprocs=2, join=True)
    got = torch.load(out)
    model = build_model("qwen2")
    batch = with_logps(model, self_correction_batch(model.config.vocab_size))
    r = attribute(model, batch, objectives.surrogate(loss_agg_mode="seq-mean-token-sum"), keep_grads=True)
    rtol, atol = tolerance(torch.float64)
    for k in ("sampling", "decision"):
        torch.testing.assert_close(got[k], _flat(r.grads[k]), rtol=rtol, atol=atol)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_probe_on_half_billion_parameter_qwen2_gpu(dtype):
    model = build_model("qwen2", size="0.5b", dtype=dtype, device="cuda")
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params >= 0.45e9
    batch = with_logps(model, self_correction_batch(model.config.vocab_size, B=8, attempt=64, device="cuda",
                                                     dtype=torch.float32))
    for obj in (objectives.surrogate(loss_agg_mode="token-mean"), objectives.kl("k3", "loss")):
        r = attribute(model, batch, obj, keep_grads=True)
        total = _flat(r.grads["sampling"]).float() + _flat(r.grads["decision"]).float()
        full = _flat(_full_grad(model, batch, obj)).float()
        rtol, _ = tolerance(dtype)
        rel = float((total - full).norm() / full.norm())
        print(f"{dtype} {obj.name}: params {n_params / 1e9:.3f}B, ||g_s+g_d-g||/||g|| = {rel:.2e}, ratio "
              f"{r.ratio:.3f}, cosine {r.cosine:.4f}")
        assert rel <= rtol


@given(data=st.data())
def test_probe_on_toy_lm_matches_theory(data):
    """attribute() on the toy model written as a causal LM (numerics.toy.ToyLM), every trajectory enumerated with
    weight P(tau): the surrogate's per-stage gradients are exactly -dJ/dtheta_stage from theory/ (sampling on
    theta_s only, decision on (theta_dC, theta_dW) only)."""
    from numerics import toy as toy_numerics
    from numerics.crosscheck import symbolic_gradients

    from .strategies import budget_and_lengths, logits3

    T, lengths = data.draw(budget_and_lengths(max_T=3, max_L=2, min_T=2), label="T, lengths")  # T>=2: a decision
    z = data.draw(logits3(), label="logits")
    tb = toy_numerics.enumerate_toy(T, lengths, grouped=False)
    model = toy_numerics.ToyLM(T, lengths, z)
    B = len(tb)
    ids = torch.cat([torch.full((B, 1), toy_numerics.BOS), tb.tokens], 1)
    stage = torch.cat([torch.zeros(B, 1, dtype=torch.long), tb.stage], 1)
    base = LMBatch(ids, torch.ones_like(ids), stage)
    lp = token_logprobs(model, base).detach()
    rtol, atol = tolerance(torch.float64)
    zt = torch.tensor(z, dtype=torch.float64)
    torch.testing.assert_close(lp[:, 1:] * tb.mask, toy_numerics.token_logprobs(tb, zt), rtol=rtol, atol=atol)
    P = toy_numerics.path_probs(tb, zt)
    R = tb.rewards()
    batch = LMBatch(ids, torch.ones_like(ids), stage, advantages=R - (P * R).sum(), old_logp=lp, seq_weights=P)
    obj = objectives.surrogate(ratio_level="trajectory", clip=None, loss_agg_mode="seq-mean-token-sum")
    r = attribute(model, batch, obj, keep_grads=True)
    dJ = torch.from_numpy(symbolic_gradients(T, lengths, z)[0])
    zero = torch.zeros(1, dtype=torch.float64)
    torch.testing.assert_close(-r.grads["sampling"][0], torch.cat([dJ[:1], zero, zero]), rtol=rtol, atol=atol)
    torch.testing.assert_close(-r.grads["decision"][0], torch.cat([zero, dJ[1:]]), rtol=rtol, atol=atol)
    assert r.norms["sampling"] == pytest.approx(abs(dJ[0].item()), rel=rtol, abs=atol)
