"""§4 reproduction: the multiplication task format, the format-constrained policy, the metrics and the §4.2
prediction against exact expectations, the GRPO advantage, the gain decomposition, and the CPU smoke preset end to
end (pipeline runs, metrics well-formed; not that RL wins)."""

from __future__ import annotations

import json
import math
import types

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given

from dsproof import reproduction as RP
from dsproof.report import image_is_blank
from numerics import multiply as M
from numerics import reproduce as R
from numerics.tolerances import MC_Z_MAX
from theory import calibration as C_
from theory import toy as T_

from . import strategies as S

DEC = {"STOP": M.STOP, "RESAMPLE": M.RESAMPLE}


def _episode(a, n, x, y, atts, decisions):
    prompt = M.encode_prompt(x, y, a, n)
    return M.build_episodes([prompt], [[M.encode_answer(v, a, n) for v in atts]], [[DEC[d] for d in decisions]],
                            [x * y], [n])


@given(S.multiplication_episode())
def test_episode_layout_and_format(ep_args):
    a, n, x, y, atts, decisions, T = ep_args
    ep = _episode(a, n, x, y, atts, decisions)
    L, P = M.attempt_len(a, n), M.prompt_len(a, n)
    stage = ep.stage[0].tolist()
    assert stage[:P] == [0] * P
    assert stage.count(1) == L * len(atts) and stage.count(2) == len(decisions)
    assert ep.correct[0] == [v == x * y for v in atts]
    # every attempt decodes back to its value; decisions sit right after attempts
    for k, v in enumerate(atts):
        s = P + k * (L + 1)
        assert M.decode_answer(ep.input_ids[0, s:s + L].tolist()) == v
    # the format mask allows every token the episode actually contains (the sampler and the data agree)
    allowed = M.allowed_tokens(ep.input_ids)
    n_tok = int(ep.attention_mask[0].sum())
    nxt = ep.input_ids[0, 1:n_tok]
    assert allowed[0, torch.arange(n_tok - 1), nxt][P - 1:].all()


def test_format_mask_positions():
    ep = _episode(2, 1, 12, 7, [84], ["STOP"])
    allowed = M.allowed_tokens(ep.input_ids)[0]
    P, L = M.prompt_len(2, 1), M.attempt_len(2, 1)
    digits = set(range(M.DIGIT0, M.DIGIT0 + 10))
    for t in range(P - 1, P - 1 + L):  # logits at t predict attempt token t+1
        assert set(allowed[t].nonzero().flatten().tolist()) == digits
    assert set(allowed[P - 1 + L].nonzero().flatten().tolist()) == {M.STOP, M.RESAMPLE}


def test_bad_task_inputs():
    with pytest.raises(ValueError, match="a >= 1"):
        M.sample_operands(0, 2, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="more than"):
        M.encode_answer(10 ** 5, 2, 2)
    with pytest.raises(ValueError, match="decisions"):
        M.build_episodes([[M.BOS]], [[[M.DIGIT0]]], [[M.STOP, M.STOP]], [0], [1])
    with pytest.raises(ValueError, match="kl_type"):
        R.train_rl(None, None, R.Preset("x", "", 1, (1,), (2,), kl_type="bogus"), None, None)
    with pytest.raises(ValueError, match="unknown preset"):
        RP.reproduce("nope")


def test_constrained_policy_is_normalised_over_allowed_tokens():
    p = R.PRESETS["smoke"]
    model = R.build(p)
    ep = _episode(1, 2, 7, 31, [217, 210], ["RESAMPLE", "STOP"])
    logits = model(input_ids=ep.input_ids).logits
    probs = torch.softmax(logits.double(), -1)
    allowed = M.allowed_tokens(ep.input_ids)
    resp = ep.stage[0, 1:] > 0  # logits at t predict token t+1
    mass = (probs[0, :-1] * allowed[0, :-1]).sum(-1)[resp]
    torch.testing.assert_close(mass, torch.ones_like(mass), rtol=0, atol=1e-6)


def test_generate_respects_format_and_budget():
    p = R.PRESETS["smoke"]
    model = R.build(p)
    prompts, prods = R._prompts(p, 2, 16, np.random.default_rng(1))
    ep = R.generate(model, prompts, prods, 2, p, torch.Generator().manual_seed(0))
    L, P = M.attempt_len(p.a, 2), M.prompt_len(p.a, 2)
    for i, (corr, decs) in enumerate(zip(ep.correct, ep.decisions)):
        assert 1 <= len(corr) <= p.T
        assert set(decs) <= {M.STOP, M.RESAMPLE}, decs
        ids = ep.input_ids[i].tolist()
        assert all(M.decode_answer(ids[P + k * (L + 1):P + k * (L + 1) + L]) is not None for k in range(len(corr)))
        assert all(d == M.RESAMPLE for d in decs[:-1])
        assert len(decs) == len(corr) or (len(corr) == p.T and len(decs) == p.T - 1)
        if len(decs) == len(corr):
            assert decs[-1] == M.STOP
    assert ((ep.stage > 0) <= (ep.attention_mask > 0)).all()


def test_cached_decoding_equals_full_recompute():
    """generate() decodes with a key/value cache (FormatConstrained.next_logits): at every step its masked logits
    equal a full forward pass over the sequence so far (float64 tolerance), and the sampled episodes equal those
    of the full-recompute loop with the same generator."""
    from numerics.tolerances import assert_close

    p = R.PRESETS["smoke"]
    model = R.build(p).double()
    n = 2
    prompts, prods = R._prompts(p, n, 16, np.random.default_rng(3))
    steps = p.T * (M.attempt_len(p.a, n) + 1) - 1
    ids, cache, g = torch.tensor(prompts), None, torch.Generator().manual_seed(5)
    with torch.no_grad():
        for k in range(steps):
            cached, cache = model.next_logits(ids, cache)
            full = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[:, -1]
            assert_close(cached, full, f"decoding step {k}: cached vs full-recompute logits")
            ids = torch.cat([ids, torch.multinomial(torch.softmax(full, -1), 1, generator=g)], 1)
    ep = R.generate(model, prompts, prods, n, p, torch.Generator().manual_seed(5))
    assert torch.equal(ep.input_ids[:, :ids.shape[1]] * ep.attention_mask[:, :ids.shape[1]],
                       ids * ep.attention_mask[:, :ids.shape[1]])


def test_grpo_advantages():
    r = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    A = R.grpo_advantages(r, 4)
    g = r[:4]
    torch.testing.assert_close(A[:4], (g - g.mean()) / (g.std() + 1e-6))
    assert (A[4:] == 0).all()


def _stats(ps, pdC, pdW, T, N, seed, pr=None):
    """N simulated episodes of the §4.2 model (independent attempts; with ``pr``, attempts after the first are
    correct with probability pr) in episode_stats' format."""
    rng = np.random.default_rng(seed)
    eps = []
    for _ in range(N):
        corr, decs = [], []
        for k in range(T):
            c = bool(rng.random() < (ps if k == 0 or pr is None else pr))
            corr.append(c)
            if k == T - 1:
                break
            stop = rng.random() < (pdC if c else 1 - pdW)
            decs.append(M.STOP if stop else M.RESAMPLE)
            if stop:
                break
        eps.append((corr, decs))
    st = R.episode_stats(types.SimpleNamespace(correct=[e[0] for e in eps], decisions=[e[1] for e in eps]))
    st[:, 8], st[:, 9] = (rng.random((N, T)) < ps).sum(1), T  # T fresh first attempts per prompt
    return st


def test_metrics_match_exact_expectations():
    """Monte-Carlo: simulated episodes with known (p_s, p_dC, p_dW): the measured probabilities and the observed
    accuracy agree with their exact values (the accuracy with theory/'s finite-budget formula) within MC_Z_MAX."""
    ps, pdC, pdW, T, N = 0.4, 0.8, 0.6, 3, 20000
    st = _stats(ps, pdC, pdW, T, N, seed=3)
    m = R.metrics(st, T)
    exact = float(C_.predicted_accuracy_budget(T).subs({C_.p_s: ps, T_.p_dC: pdC, T_.p_dW: pdW}))
    s = st.sum(0)
    for est, true, count in ((m["accuracy"], exact, N), (m["p_s"], ps, N), (m["p_dC"], pdC, s[2]),
                             (m["p_dW"], pdW, s[4]), (m["p_retry"], ps, s[6]),
                             (m["pass_at_T"], 1 - (1 - ps) ** T, N)):
        z = (est - true) / math.sqrt(true * (1 - true) / count)
        assert abs(z) < MC_Z_MAX, (est, true, z)
    # and the check can fail: a wrong p_dW (swapped roles) is far outside
    assert abs((m["p_dW"] - (1 - pdW)) / math.sqrt(pdW * (1 - pdW) / s[4])) > MC_Z_MAX


def test_retry_metrics_match_exact_expectations():
    """Monte-Carlo with retries less accurate than first attempts (pr != ps): the observed accuracy agrees with
    predicted_accuracy_retry and with its plug-in estimate predicted_T_retry; the §4.2 prediction (one accuracy
    for every attempt) is far off."""
    ps, pr, pdC, pdW, T, N = 0.5, 0.1, 0.6, 0.7, 3, 20000
    st = _stats(ps, pdC, pdW, T, N, seed=4, pr=pr)
    m = R.metrics(st, T)
    exact = float(C_.predicted_accuracy_retry(T).subs({C_.p_s: ps, C_.p_r: pr, T_.p_dC: pdC, T_.p_dW: pdW}))
    se = math.sqrt(exact * (1 - exact) / N)
    assert abs(m["accuracy"] - exact) / se < MC_Z_MAX
    assert abs(m["predicted_T_retry"] - exact) / se < MC_Z_MAX
    assert abs(m["p_retry"] - pr) / math.sqrt(pr * (1 - pr) / st.sum(0)[6]) < MC_Z_MAX
    assert abs(m["predicted_T"] - m["accuracy"]) / se > 10 * MC_Z_MAX


def test_metrics_on_a_hand_made_batch():
    # (C, STOP) | (W, RESAMPLE, C, STOP) | (W, STOP) | (W, RESAMPLE, W) capped at T=2
    eps = types.SimpleNamespace(correct=[[True], [False, True], [False], [False, False]],
                                decisions=[[M.STOP], [M.RESAMPLE, M.STOP], [M.STOP], [M.RESAMPLE]])
    m = R.metrics(R.episode_stats(eps), 2)
    assert m["accuracy"] == 2 / 4 and m["p_s"] == 1 / 4
    assert m["p_dC"] == 2 / 2  # both decisions after a correct attempt were STOP
    assert m["p_dW"] == 2 / 3  # decisions after a wrong attempt: RESAMPLE, STOP, RESAMPLE (the capped one has none)
    assert m["p_retry"] == 1 / 2


def test_bootstrap_ci_and_paired_difference():
    st = _stats(0.3, 0.7, 0.5, 3, 400, seed=5)
    m = R.metrics(st, 3)
    ci = R.bootstrap_ci(st, 3, 300, seed=0)
    for k in R.METRIC_KEYS:
        assert ci[k][0] <= m[k] <= ci[k][1], k
    same = R.paired_difference(st, st, 3, 200, seed=0)
    assert all(v == (0.0, 0.0, 0.0) for v in same.values())
    better = _stats(0.6, 0.7, 0.5, 3, 400, seed=5)
    d = R.paired_difference(st, better, 3, 300, seed=0)
    assert d["p_s"][1] > 0 and d["accuracy"][0] == pytest.approx(R.metrics(better, 3)["accuracy"] - m["accuracy"])
    with pytest.raises(ValueError, match="same shape"):
        R.paired_difference(st, st[:10], 3, 10, seed=0)


def test_gain_decomposition_is_efficient_and_separates_stages():
    a = dict(p_s=0.3, p_dC=0.8, p_dW=0.4)
    b = dict(p_s=0.35, p_dC=0.9, p_dW=0.7)
    g = R.gain_decomposition(a, b, 3)
    assert math.isclose(g["p_s"] + g["p_dC"] + g["p_dW"], g["total"], rel_tol=1e-12)
    assert g["sampling"] == g["p_s"] and math.isclose(g["decision"], g["p_dC"] + g["p_dW"], rel_tol=1e-12)
    f = sp.lambdify((C_.p_s, T_.p_dC, T_.p_dW), C_.predicted_accuracy_budget(3))
    assert g["total"] == pytest.approx(f(*b.values()) - f(*a.values()), rel=1e-12)
    for moved in R.PLAYERS:  # a player that does not move gets exactly 0 (Shapley's null-player property)
        only = R.gain_decomposition(a, dict(a, **{moved: b[moved]}), 3)
        assert only[moved] == pytest.approx(only["total"], rel=1e-12) and only[moved] != 0
        assert all(only[k] == pytest.approx(0, abs=1e-15) for k in R.PLAYERS if k != moved)


def test_gain_decomposition_with_retry_accuracy():
    a = dict(p_s=0.3, p_retry=0.05, p_dC=0.6, p_dW=0.4)
    b = dict(p_s=0.35, p_retry=0.2, p_dC=0.95, p_dW=0.3)
    g = R.gain_decomposition(a, b, 3, R.RETRY_PLAYERS)
    f = C_.predicted_accuracy_numeric(3, retry=True)
    assert g["total"] == pytest.approx(f(*b.values()) - f(*a.values()), rel=1e-12)
    assert math.isclose(sum(g[k] for k in R.RETRY_PLAYERS), g["total"], rel_tol=1e-12)
    assert math.isclose(g["sampling"], g["p_s"] + g["p_retry"], rel_tol=1e-12)
    assert math.isclose(g["sampling"] + g["decision"], g["total"], rel_tol=1e-12)
    for moved in R.RETRY_PLAYERS:
        only = R.gain_decomposition(a, dict(a, **{moved: b[moved]}), 3, R.RETRY_PLAYERS)
        assert only[moved] == pytest.approx(only["total"], rel=1e-12) and only[moved] != 0
        assert all(only[k] == pytest.approx(0, abs=1e-15) for k in R.RETRY_PLAYERS if k != moved)
    # with p_retry = p_s in both models it predicts the §4.2 total (the shares differ: splitting one player in
    # two changes the Shapley values, not their sum)
    a0, b0 = dict(a, p_retry=a["p_s"]), dict(b, p_retry=b["p_s"])
    g0, g3 = R.gain_decomposition(a0, b0, 3, R.RETRY_PLAYERS), R.gain_decomposition(a0, b0, 3)
    assert g0["total"] == pytest.approx(g3["total"], rel=1e-12)
    # no retry made (p_retry undefined): it counts as p_s
    nan = R.gain_decomposition(dict(a, p_retry=float("nan")), b, 3, R.RETRY_PLAYERS)
    assert nan["total"] == pytest.approx(f(*b.values()) - f(a["p_s"], a["p_s"], a["p_dC"], a["p_dW"]), rel=1e-12)
    with pytest.raises(ValueError, match="players"):
        R.gain_decomposition(a, b, 3, ("p_s", "p_dC"))


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    path = RP.reproduce("smoke", out)
    return out, path


def test_smoke_preset_end_to_end(smoke_run):
    out, path = smoke_run
    data = json.loads(path.read_text())
    p = R.PRESETS["smoke"]
    assert data["status"] == "ok"
    assert set(data["models"]) == {"base", "sft", "sft-reflect", "rl"}
    for per_n in data["models"].values():
        assert set(per_n) == {str(n) for n in p.id_digits + p.ood_digits}
        for v in per_n.values():
            for k in R.METRIC_KEYS:
                x, (lo, hi) = v["metrics"][k], v["ci"][k]
                assert (math.isnan(x) or 0 <= x <= 1), (k, x)
                assert math.isnan(x) or lo - 1e-12 <= x <= hi + 1e-12, (k, x, lo, hi)
    assert len(data["table"]) == 4 * len(p.id_digits + p.ood_digits)
    assert [r["reward"] for r in data["rl_log"]] and all(0 <= r["reward"] <= 1 for r in data["rl_log"])
    phases = {a["phase"] for a in data["attribution"]}
    assert "sft-reflect" in phases
    assert all(a["ratio"] > 0 and math.isfinite(a["ratio"]) for a in data["attribution"])
    for f in data["figures"]:
        assert not image_is_blank(out / "smoke" / f), f
    assert (out / "smoke" / "table.md").read_text().count("\n|") >= len(data["table"])
    assert sorted(x.name for x in (out / "smoke" / "checkpoints").iterdir()) == [
        "base.pt", "rl.pt", "sft-reflect.pt", "sft.pt"]


def test_ledger_claim_reads_the_results(smoke_run, monkeypatch):
    out, _ = smoke_run
    monkeypatch.setattr(RP, "OUT", out)
    o = RP.check_empirical()
    assert o.verdict == "open" and "smoke" in o.summary  # the smoke preset never decides the claim
    monkeypatch.setattr(RP, "OUT", out / "missing")
    o = RP.check_empirical()
    assert o.verdict == "open" and o.evidence[0].kind == "skipped"


def test_smoke_output_stays_out_of_git_and_the_report(monkeypatch, tmp_path):
    """`dsproof reproduce --preset smoke` writes to a git-ignored folder that neither the ledger
    (latest_results reads OUT) nor the report (reads reports/reproduce/) looks at."""
    import subprocess

    from dsproof import cli
    from dsproof import report as RE

    default = RP.default_out("smoke")
    assert default == RP.SCRATCH and not default.resolve().is_relative_to(RP.OUT.resolve())
    assert not default.resolve().is_relative_to((RP.ROOT / "reports" / "reproduce").resolve())
    assert all(RP.default_out(p) == RP.OUT for p in R.PRESETS if p != "smoke")
    probe = default / "smoke" / "results.json"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=RP.ROOT).returncode
    assert ignored == 0, f"{probe} is not git-ignored"
    monkeypatch.setattr(RP, "SCRATCH", tmp_path / "scratch")
    assert cli.main(["reproduce", "--preset", "smoke", "--quiet"]) == 0
    assert (tmp_path / "scratch" / "smoke" / "results.json").exists()
    assert "smoke" not in RE.load_reproduction(RP.ROOT / "reports")
    found = RP.latest_results()
    assert found is None or found[0] != "smoke"


def test_h100_preset_layout_runs_on_cpu_at_toy_size(tmp_path):
    """The h100 preset's task (3 x 3..9 digits, budget 3) end to end on the CPU with every size cut down: the
    layouts of the longest episodes, the OOD split and the saving all work before a GPU is spent on it."""
    import dataclasses

    p = dataclasses.replace(R.PRESETS["h100"], device="cpu", hidden=16, layers=1, heads=2, base_steps=3,
                            sft_steps=2, rl_steps=2, batch=8, rl_prompts=2, group=2, eval_prompts=6, bootstrap=10,
                            attr_every=1)
    res, models = R.run(p)
    assert set(res.models["rl"]) == set(p.id_digits + p.ood_digits) == set(range(3, 10))
    path = RP.save(res, models, tmp_path / "h100")
    assert json.loads(path.read_text())["preset"]["a"] == 3


@pytest.mark.gpu
def test_smoke_preset_on_cuda(tmp_path):
    """The CUDA path of the reproduction (generators, devices) with the smoke preset."""
    path = RP.reproduce("smoke", tmp_path, device="cuda")
    assert json.loads(path.read_text())["preset"]["device"] == "cuda"


def test_other_seed_goes_to_its_own_folder_and_into_the_claim(smoke_run, monkeypatch):
    out, _ = smoke_run
    path = RP.reproduce("smoke", out, seed=3)
    assert path.parent.name == "smoke-seed3" and json.loads(path.read_text())["preset"]["seed"] == 3
    monkeypatch.setattr(RP, "OUT", out)
    assert any("seed 3" in e.description for e in RP.check_empirical().evidence)
