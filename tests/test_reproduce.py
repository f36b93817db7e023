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

from dsproof import ledger, pooling, runs
from dsproof.claims import empirical
from dsproof.model import table_rows
from dsproof.report import image_is_blank
from numerics import multiply
from numerics import reproduce
from numerics.reproduce import storage
from numerics.tolerances import MC_Z_MAX
from theory import calibration
from theory import toy

from . import strategies

DEC = {"STOP": multiply.STOP, "RESAMPLE": multiply.RESAMPLE}


def _episode(a, n, x, y, atts, decisions):
    prompt = multiply.encode_prompt(x, y, a, n)
    return multiply.build_episodes([prompt], [[multiply.encode_answer(v, a, n) for v in atts]], [[DEC[d] for d in decisions]],
                            [x * y], [n])


@given(strategies.multiplication_episode())
def test_episode_layout_and_format(ep_args):
    a, n, x, y, atts, decisions, T = ep_args
    ep = _episode(a, n, x, y, atts, decisions)
    L, P = multiply.attempt_len(a, n), multiply.prompt_len(a, n)
    stage = ep.stage[0].tolist()
    assert stage[:P] == [0] * P
    assert stage.count(1) == L * len(atts) and stage.count(2) == len(decisions)
    assert ep.correct[0] == [v == x * y for v in atts]
    # every attempt decodes back to its value; decisions sit right after attempts
    for k, v in enumerate(atts):
        s = P + k * (L + 1)
        assert multiply.decode_answer(ep.input_ids[0, s:s + L].tolist()) == v
    # the format mask allows every token the episode actually contains (the sampler and the data agree)
    allowed = multiply.allowed_tokens(ep.input_ids)
    n_tok = int(ep.attention_mask[0].sum())
    nxt = ep.input_ids[0, 1:n_tok]
    assert allowed[0, torch.arange(n_tok - 1), nxt][P - 1:].all()


def test_format_mask_positions():
    ep = _episode(2, 1, 12, 7, [84], ["STOP"])
    allowed = multiply.allowed_tokens(ep.input_ids)[0]
    P, L = multiply.prompt_len(2, 1), multiply.attempt_len(2, 1)
    digits = set(range(multiply.DIGIT0, multiply.DIGIT0 + 10))
    for t in range(P - 1, P - 1 + L):  # logits at t predict attempt token t+1
        assert set(allowed[t].nonzero().flatten().tolist()) == digits
    assert set(allowed[P - 1 + L].nonzero().flatten().tolist()) == {multiply.STOP, multiply.RESAMPLE}


def test_bad_task_inputs():
    with pytest.raises(ValueError, match="a >= 1"):
        multiply.sample_operands(0, 2, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="more than"):
        multiply.encode_answer(10 ** 5, 2, 2)
    with pytest.raises(ValueError, match="decisions"):
        multiply.build_episodes([[multiply.BOS]], [[[multiply.DIGIT0]]], [[multiply.STOP, multiply.STOP]], [0], [1])
    with pytest.raises(ValueError, match="kl_type"):
        reproduce.train_rl(None, None, reproduce.Preset("x", "", 1, (1,), (2,), kl_type="bogus"), None, None)
    with pytest.raises(ValueError, match="unknown preset"):
        runs.reproduce("nope")


def test_constrained_policy_is_normalised_over_allowed_tokens():
    p = reproduce.PRESETS["smoke"]
    model = reproduce.build(p)
    ep = _episode(1, 2, 7, 31, [217, 210], ["RESAMPLE", "STOP"])
    logits = model(input_ids=ep.input_ids).logits
    probs = torch.softmax(logits.double(), -1)
    allowed = multiply.allowed_tokens(ep.input_ids)
    resp = ep.stage[0, 1:] > 0  # logits at t predict token t+1
    mass = (probs[0, :-1] * allowed[0, :-1]).sum(-1)[resp]
    torch.testing.assert_close(mass, torch.ones_like(mass), rtol=0, atol=1e-6)


def test_generate_respects_format_and_budget():
    p = reproduce.PRESETS["smoke"]
    model = reproduce.build(p)
    prompts, prods = reproduce.sample_prompts(p, 2, 16, np.random.default_rng(1))
    ep = reproduce.generate(model, prompts, prods, 2, p, torch.Generator().manual_seed(0))
    L, P = multiply.attempt_len(p.a, 2), multiply.prompt_len(p.a, 2)
    for i, (corr, decs) in enumerate(zip(ep.correct, ep.decisions)):
        assert 1 <= len(corr) <= p.T
        assert set(decs) <= {multiply.STOP, multiply.RESAMPLE}, decs
        ids = ep.input_ids[i].tolist()
        assert all(multiply.decode_answer(ids[P + k * (L + 1):P + k * (L + 1) + L]) is not None for k in range(len(corr)))
        assert all(d == multiply.RESAMPLE for d in decs[:-1])
        assert len(decs) == len(corr) or (len(corr) == p.T and len(decs) == p.T - 1)
        if len(decs) == len(corr):
            assert decs[-1] == multiply.STOP
    assert ((ep.stage > 0) <= (ep.attention_mask > 0)).all()


def test_cached_decoding_equals_full_recompute():
    """generate() decodes with a key/value cache (FormatConstrained.next_logits): at every step its masked logits
    equal a full forward pass over the sequence so far (float64 tolerance), and the sampled episodes equal those
    of the full-recompute loop with the same generator."""
    from numerics.tolerances import assert_close

    p = reproduce.PRESETS["smoke"]
    model = reproduce.build(p).double()
    n = 2
    prompts, prods = reproduce.sample_prompts(p, n, 16, np.random.default_rng(3))
    steps = p.T * (multiply.attempt_len(p.a, n) + 1) - 1
    ids, cache, g = torch.tensor(prompts), None, torch.Generator().manual_seed(5)
    with torch.no_grad():
        for k in range(steps):
            cached, cache = model.next_logits(ids, cache)
            full = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[:, -1]
            assert_close(cached, full, f"decoding step {k}: cached vs full-recompute logits")
            ids = torch.cat([ids, torch.multinomial(torch.softmax(full, -1), 1, generator=g)], 1)
    ep = reproduce.generate(model, prompts, prods, n, p, torch.Generator().manual_seed(5))
    assert torch.equal(ep.input_ids[:, :ids.shape[1]] * ep.attention_mask[:, :ids.shape[1]],
                       ids * ep.attention_mask[:, :ids.shape[1]])


def test_grpo_advantages():
    r = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    A = reproduce.grpo_advantages(r, 4)
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
            decs.append(multiply.STOP if stop else multiply.RESAMPLE)
            if stop:
                break
        eps.append((corr, decs))
    st = reproduce.episode_stats(types.SimpleNamespace(correct=[e[0] for e in eps], decisions=[e[1] for e in eps]))
    st[:, 8], st[:, 9] = (rng.random((N, T)) < ps).sum(1), T  # T fresh first attempts per prompt
    return st


def test_metrics_match_exact_expectations():
    """Monte-Carlo: simulated episodes with known (p_s, p_dC, p_dW): the measured probabilities and the observed
    accuracy agree with their exact values (the accuracy with theory/'s finite-budget formula) within MC_Z_MAX."""
    ps, pdC, pdW, T, N = 0.4, 0.8, 0.6, 3, 20000
    st = _stats(ps, pdC, pdW, T, N, seed=3)
    m = reproduce.metrics(st, T)
    exact = float(calibration.predicted_accuracy_budget(T).subs({calibration.p_s: ps, toy.p_dC: pdC, toy.p_dW: pdW}))
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
    m = reproduce.metrics(st, T)
    exact = float(calibration.predicted_accuracy_retry(T).subs({calibration.p_s: ps, calibration.p_r: pr, toy.p_dC: pdC, toy.p_dW: pdW}))
    se = math.sqrt(exact * (1 - exact) / N)
    assert abs(m["accuracy"] - exact) / se < MC_Z_MAX
    assert abs(m["predicted_T_retry"] - exact) / se < MC_Z_MAX
    assert abs(m["p_retry"] - pr) / math.sqrt(pr * (1 - pr) / st.sum(0)[6]) < MC_Z_MAX
    assert abs(m["predicted_T"] - m["accuracy"]) / se > 10 * MC_Z_MAX


def test_metrics_on_a_hand_made_batch():
    # (C, STOP) | (W, RESAMPLE, C, STOP) | (W, STOP) | (W, RESAMPLE, W) capped at T=2
    eps = types.SimpleNamespace(correct=[[True], [False, True], [False], [False, False]],
                                decisions=[[multiply.STOP], [multiply.RESAMPLE, multiply.STOP], [multiply.STOP], [multiply.RESAMPLE]])
    m = reproduce.metrics(reproduce.episode_stats(eps), 2)
    assert m["accuracy"] == 2 / 4 and m["p_s"] == 1 / 4
    assert m["p_dC"] == 2 / 2  # both decisions after a correct attempt were STOP
    assert m["p_dW"] == 2 / 3  # decisions after a wrong attempt: RESAMPLE, STOP, RESAMPLE (the capped one has none)
    assert m["p_retry"] == 1 / 2


def test_bootstrap_ci_and_paired_difference():
    st = _stats(0.3, 0.7, 0.5, 3, 400, seed=5)
    m = reproduce.metrics(st, 3)
    ci = reproduce.bootstrap_ci(st, 3, 300, seed=0)
    for k in reproduce.METRIC_KEYS:
        assert ci[k][0] <= m[k] <= ci[k][1], k
    same = reproduce.paired_difference(st, st, 3, 200, seed=0)
    assert all(v == (0.0, 0.0, 0.0) for v in same.values())
    better = _stats(0.6, 0.7, 0.5, 3, 400, seed=5)
    d = reproduce.paired_difference(st, better, 3, 300, seed=0)
    assert d["p_s"][1] > 0 and d["accuracy"][0] == pytest.approx(reproduce.metrics(better, 3)["accuracy"] - m["accuracy"])
    with pytest.raises(ValueError, match="same shape"):
        reproduce.paired_difference(st, st[:10], 3, 10, seed=0)


def test_gain_decomposition_is_efficient_and_separates_stages():
    a = dict(p_s=0.3, p_dC=0.8, p_dW=0.4)
    b = dict(p_s=0.35, p_dC=0.9, p_dW=0.7)
    g = reproduce.gain_decomposition(a, b, 3)
    assert math.isclose(g["p_s"] + g["p_dC"] + g["p_dW"], g["total"], rel_tol=1e-12)
    assert g["sampling"] == g["p_s"] and math.isclose(g["decision"], g["p_dC"] + g["p_dW"], rel_tol=1e-12)
    f = sp.lambdify((calibration.p_s, toy.p_dC, toy.p_dW), calibration.predicted_accuracy_budget(3))
    assert g["total"] == pytest.approx(f(*b.values()) - f(*a.values()), rel=1e-12)
    for moved in reproduce.PLAYERS:  # a player that does not move gets exactly 0 (Shapley's null-player property)
        only = reproduce.gain_decomposition(a, dict(a, **{moved: b[moved]}), 3)
        assert only[moved] == pytest.approx(only["total"], rel=1e-12) and only[moved] != 0
        assert all(only[k] == pytest.approx(0, abs=1e-15) for k in reproduce.PLAYERS if k != moved)


def test_gain_decomposition_with_retry_accuracy():
    a = dict(p_s=0.3, p_retry=0.05, p_dC=0.6, p_dW=0.4)
    b = dict(p_s=0.35, p_retry=0.2, p_dC=0.95, p_dW=0.3)
    g = reproduce.gain_decomposition(a, b, 3, reproduce.RETRY_PLAYERS)
    f = calibration.predicted_accuracy_numeric(3, retry=True)
    assert g["total"] == pytest.approx(f(*b.values()) - f(*a.values()), rel=1e-12)
    assert math.isclose(sum(g[k] for k in reproduce.RETRY_PLAYERS), g["total"], rel_tol=1e-12)
    assert math.isclose(g["sampling"], g["p_s"] + g["p_retry"], rel_tol=1e-12)
    assert math.isclose(g["sampling"] + g["decision"], g["total"], rel_tol=1e-12)
    for moved in reproduce.RETRY_PLAYERS:
        only = reproduce.gain_decomposition(a, dict(a, **{moved: b[moved]}), 3, reproduce.RETRY_PLAYERS)
        assert only[moved] == pytest.approx(only["total"], rel=1e-12) and only[moved] != 0
        assert all(only[k] == pytest.approx(0, abs=1e-15) for k in reproduce.RETRY_PLAYERS if k != moved)
    # with p_retry = p_s in both models it predicts the §4.2 total (the shares differ: splitting one player in
    # two changes the Shapley values, not their sum)
    a0, b0 = dict(a, p_retry=a["p_s"]), dict(b, p_retry=b["p_s"])
    g0, g3 = reproduce.gain_decomposition(a0, b0, 3, reproduce.RETRY_PLAYERS), reproduce.gain_decomposition(a0, b0, 3)
    assert g0["total"] == pytest.approx(g3["total"], rel=1e-12)
    # no retry made (p_retry undefined): it counts as p_s
    nan = reproduce.gain_decomposition(dict(a, p_retry=float("nan")), b, 3, reproduce.RETRY_PLAYERS)
    assert nan["total"] == pytest.approx(f(*b.values()) - f(a["p_s"], a["p_s"], a["p_dC"], a["p_dW"]), rel=1e-12)
    with pytest.raises(ValueError, match="players"):
        reproduce.gain_decomposition(a, b, 3, ("p_s", "p_dC"))


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    path = runs.reproduce("smoke", out)
    return out, path


def test_smoke_preset_end_to_end(smoke_run):
    out, path = smoke_run
    data = json.loads(path.read_text())
    p = reproduce.PRESETS["smoke"]
    assert data["status"] == "ok"
    assert set(data["models"]) == {"base", "sft", "sft-reflect", "rl"}
    for per_n in data["models"].values():
        assert set(per_n) == {str(n) for n in p.id_digits + p.ood_digits}
        for v in per_n.values():
            for k in reproduce.METRIC_KEYS:
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


def test_cot_smoke_preset_end_to_end(smoke_run, monkeypatch):
    """The chain-of-thought proxy through the same pipeline: its episodes have the CoT layout, its results are
    well-formed, and the claim's table shows it beside the answer-only run."""
    out, _ = smoke_run
    p = reproduce.PRESETS["smoke-cot"]
    assert p.attempt_format == "cot" and reproduce.build(p).attempt_format == "cot"
    path = runs.reproduce("smoke-cot", out)
    data = json.loads(path.read_text())
    assert data["preset"]["attempt_format"] == "cot" and set(data["models"]) == {"base", "sft", "sft-reflect", "rl"}
    for per_n in data["models"].values():
        for v in per_n.values():
            assert all(math.isnan(x) or 0 <= x <= 1 for x in v["metrics"].values())
    assert (out / "seeds.md").read_text().count("chain of thought (smoke-cot)") == 4
    monkeypatch.setattr(pooling, "OUT", out)
    table = next(e for e in empirical.check_empirical().evidence if e.id == "seeds").values["per seed"]
    assert {"answer-only (smoke): verdict", "chain of thought (smoke-cot): verdict"} <= set(table.value["columns"])


def test_cot_demonstrations_and_generation_have_the_cot_layout():
    p = reproduce.PRESETS["smoke-cot"]
    rng = np.random.default_rng(0)
    demos = reproduce.demo_batch(p, rng, 16, 1.0, None)  # every demo reflects, with a synthetic wrong CoT attempt
    assert all(c == [False, True] for c in demos.correct)
    base = reproduce.answers_batch(p, rng, 8)
    L = {n: multiply.attempt_len(p.a, n, "cot") for n in p.id_digits}
    assert [int((s == 1).sum()) for s in base.stage] == [L[n] for n in base.digits]
    prompts, prods = reproduce.sample_prompts(p, 2, 4, rng)
    ep = reproduce.generate(reproduce.build(p), prompts, prods, 2, p, torch.Generator().manual_seed(0))
    assert all(int((s == 1).sum()) == L[2] * len(c) for s, c in zip(ep.stage, ep.correct))


def _entry(result):
    return ledger.assemble(ledger.REGISTRY["sec4-empirical"], result)


def test_ledger_claim_reads_the_results(smoke_run, monkeypatch):
    out, _ = smoke_run
    monkeypatch.setattr(pooling, "OUT", out)
    e = _entry(empirical.check_empirical())
    assert e.verdict == "open" and e.row("run-smoke").values["cells"].fmt == "table"
    assert all(not o.inside for s in e.statements for o in s.outcomes)  # a proxy never decides the claim
    monkeypatch.setattr(pooling, "OUT", out / "missing")
    e = _entry(empirical.check_empirical())
    assert e.verdict == "open" and not e.evidence and all(not s.outcomes for s in e.statements)


@pytest.fixture
def tiny_smoke(monkeypatch):
    """The smoke preset cut to a few optimiser steps and a one-layer model, for the tests of where a run is saved
    and who reads it (the full smoke preset runs once, in :func:`smoke_run`)."""
    import dataclasses

    tiny = dataclasses.replace(reproduce.PRESETS["smoke"], hidden=16, layers=1, base_steps=3, sft_steps=2, rl_steps=2,
                               rl_prompts=2, group=2, eval_prompts=8, bootstrap=20, attr_every=1)
    monkeypatch.setitem(reproduce.PRESETS, "smoke", tiny)
    return tiny


def test_smoke_output_stays_out_of_git_and_the_report(monkeypatch, tmp_path, tiny_smoke):
    """`dsproof reproduce --preset smoke` writes to a git-ignored folder that neither the ledger
    (latest_results reads OUT) nor the report (reads reports/reproduce/) looks at."""
    import subprocess

    from dsproof import cli
    from dsproof import report

    default = storage.default_out("smoke")
    assert default == storage.SCRATCH and not default.resolve().is_relative_to(storage.OUT.resolve())
    assert not default.resolve().is_relative_to((storage.ROOT / "reports" / "reproduce").resolve())
    assert all(storage.default_out(p) == storage.OUT for p in reproduce.PRESETS if not p.startswith("smoke"))
    assert storage.default_out("smoke-cot") == storage.SCRATCH
    probe = default / "smoke" / "results.json"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=storage.ROOT).returncode
    assert ignored == 0, f"{probe} is not git-ignored"
    monkeypatch.setattr(storage, "SCRATCH", tmp_path / "scratch")
    assert cli.main(["reproduce", "--preset", "smoke", "--quiet"]) == 0
    assert (tmp_path / "scratch" / "smoke" / "results.json").exists()
    assert "smoke" not in report.load_reproduction(storage.ROOT / "reports")
    found = storage.latest_results()
    assert found is None or found[0] != "smoke"


def test_h100_preset_layout_runs_on_cpu_at_toy_size(tmp_path):
    """The h100 preset's task (3 x 3..9 digits, budget 3) end to end on the CPU with every size cut down: the
    layouts of the longest episodes, the OOD split and the saving all work before a GPU is spent on it."""
    import dataclasses

    h100 = reproduce.PRESETS["h100"]
    shortest, longest = min(h100.id_digits), max(h100.id_digits + h100.ood_digits)
    # the shortest and longest in-distribution and the longest OOD digit counts (each digit count costs a generation)
    p = dataclasses.replace(h100, device="cpu", hidden=16, layers=1, heads=2, base_steps=3, sft_steps=2, rl_steps=2,
                            batch=8, rl_prompts=2, group=2, eval_prompts=6, bootstrap=10, attr_every=1,
                            id_digits=(shortest, max(h100.id_digits)), ood_digits=(longest,))
    res, models = reproduce.run(p)
    assert set(res.models["rl"]) == {3, 6, 9} and res.preset["a"] == 3
    path = runs.write_run(res, models, tmp_path / "h100")
    assert json.loads(path.read_text())["preset"]["a"] == 3


@pytest.mark.gpu
def test_smoke_preset_on_cuda(tmp_path):
    """The CUDA path of the reproduction (generators, devices) with the smoke preset."""
    path = runs.reproduce("smoke", tmp_path, device="cuda")
    assert json.loads(path.read_text())["preset"]["device"] == "cuda"


def test_other_seed_goes_to_its_own_folder_and_into_the_claim(smoke_run, monkeypatch, tiny_smoke):
    out, _ = smoke_run
    path = runs.reproduce("smoke", out, seed=3)
    assert path.parent.name == "smoke-seed3" and json.loads(path.read_text())["preset"]["seed"] == 3
    monkeypatch.setattr(pooling, "OUT", out)
    assert any(e.id == "run-smoke-seed3" for e in empirical.check_empirical().evidence)


# ------------------------------------------------------------------ every results.json column against a hand count
# Seven episodes at T = 3 (C/W: attempt correct/wrong; S/R: STOP/RESAMPLE), chosen so that no two of the
# probabilities coincide: 1. C S  2. W R C S  3. W R W R W  4. W S  5. C R W R W  6. C S  7. W R W R C
HAND_EPISODES = types.SimpleNamespace(
    correct=[[True], [False, True], [False, False, False], [False], [True, False, False], [True],
             [False, False, True]],
    decisions=[["S"], ["R", "S"], ["R", "R"], ["S"], ["R", "R"], ["S"], ["R", "R"]])
HAND_FRESH = [3, 1, 1, 1, 2, 0, 0]  # of T = 3 fresh first attempts per prompt, how many were correct
# counted by hand: final correct 1, 2, 6, 7; first correct 1, 5, 6; decisions after a correct attempt: 1 S, 2 S,
# 5 R, 6 S (7's correct attempt is the last: no decision); after a wrong one: 2 R, 3 R R, 4 S, 5 R (its second W;
# the third is capped), 7 R R; later attempts 2: C, 3: W W, 5: W W, 7: W C; pass@T: prompts 1-5 have a correct one
HAND_VALUES = dict(accuracy=4 / 7, p_s=3 / 7, p_dC=3 / 4, p_dW=6 / 7, p_retry=2 / 7, pass_at_T=5 / 7)


def _hand_stats():
    eps = types.SimpleNamespace(correct=HAND_EPISODES.correct,
                                decisions=[[DEC[{"S": "STOP", "R": "RESAMPLE"}[d]] for d in ds]
                                           for ds in HAND_EPISODES.decisions])
    st = reproduce.episode_stats(eps)
    st[:, 8], st[:, 9] = HAND_FRESH, 3
    return st


def _accuracy_by_recursion(T, ps, pdC, pdW, pr=None):
    """P(final attempt correct) of the §4.2 process, by backward recursion over the attempts (independent of
    theory.calibration): attempt k is correct w.p. ps (first) or pr (later); after a correct one STOP w.p. pdC,
    after a wrong one RESAMPLE w.p. pdW; the T-th attempt is final.  T = None: unlimited retries (fixed point)."""
    pr = ps if pr is None else pr
    if T is None:  # A = p (pdC + (1 - pdC) A) + (1 - p) pdW A, with every attempt at accuracy ps
        return ps * pdC / (1 - ps * (1 - pdC) - (1 - ps) * pdW)
    after = pr  # accuracy from the last attempt on
    for _ in range(T - 2):
        after = pr * (pdC + (1 - pdC) * after) + (1 - pr) * pdW * after
    return ps * (pdC + (1 - pdC) * after) + (1 - ps) * pdW * after


def test_every_metric_column_against_a_hand_count():
    """accuracy, p_s, p_dC, p_dW, p_retry, pass@T counted by hand on seven episodes; predicted_T, predicted_inf and
    predicted_T_retry from the backward recursion at those hand-counted probabilities."""
    m = reproduce.metrics(_hand_stats(), 3)
    for k, v in HAND_VALUES.items():
        assert m[k] == pytest.approx(v, abs=1e-15), k
    h = HAND_VALUES
    assert m["predicted_T"] == pytest.approx(_accuracy_by_recursion(3, h["p_s"], h["p_dC"], h["p_dW"]), rel=1e-12)
    assert m["predicted_inf"] == pytest.approx(_accuracy_by_recursion(None, h["p_s"], h["p_dC"], h["p_dW"]),
                                               rel=1e-12)
    assert m["predicted_T_retry"] == pytest.approx(
        _accuracy_by_recursion(3, h["p_s"], h["p_dC"], h["p_dW"], h["p_retry"]), rel=1e-12)
    # the recursion itself, at T = 2 by hand: ps + (1 - ps)(pdW pr) - ps (1 - pdC)(1 - pr)
    assert _accuracy_by_recursion(2, 0.5, 0.75, 0.6, 0.2) == pytest.approx(0.5 + 0.5 * 0.6 * 0.2 - 0.5 * 0.25 * 0.8)


def test_bootstrap_intervals_against_direct_resampling():
    """bootstrap_ci and paired_difference against the same resampling done directly on the episode columns
    (p_s = mean of 'first correct', p_dC = STOPs / decisions after correct, per replicate; 2.5/97.5 percentiles)."""
    st = _hand_stats()
    reps, seed = 400, 11
    idx = np.random.default_rng(seed).integers(0, len(st), size=(reps, len(st)))
    ci = reproduce.bootstrap_ci(st, 3, reps, seed)
    ps = st[idx, 0].mean(1)
    assert ci["p_s"] == pytest.approx(tuple(np.percentile(ps, [2.5, 97.5])), abs=1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        pdc = st[idx, 3].sum(1) / st[idx, 2].sum(1)
    assert ci["p_dC"] == pytest.approx(tuple(np.nanpercentile(pdc, [2.5, 97.5])), abs=1e-12)
    other = st.copy()
    other[:, 1] = [1, 1, 1, 0, 0, 1, 1]  # another model's final correctness on the same prompts
    d = reproduce.paired_difference(st, other, 3, reps, seed, level=0.9)
    diff = other[idx, 1].mean(1) - st[idx, 1].mean(1)
    assert d["accuracy"][0] == pytest.approx(5 / 7 - 4 / 7, abs=1e-15)
    assert d["accuracy"][1:] == pytest.approx(tuple(np.percentile(diff, [5, 95])), abs=1e-12)


def _shapley_by_subsets(f, a: dict, b: dict) -> dict:
    """Shapley values by the subset formula sum_S |S|! (n - |S| - 1)! / n! [v(S + i) - v(S)] (the implementation
    averages over orders instead)."""
    import itertools

    keys = list(a)
    n = len(keys)
    v = lambda S: f(*[b[k] if k in S else a[k] for k in keys])  # noqa: E731
    out = {}
    for i in keys:
        rest = [k for k in keys if k != i]
        out[i] = sum(math.factorial(len(S)) * math.factorial(n - len(S) - 1) / math.factorial(n)
                     * (v(set(S) | {i}) - v(set(S))) for r in range(n) for S in itertools.combinations(rest, r))
    return out


def test_gain_split_against_subset_shapley_and_recursion():
    """The gain split at asymmetric points (p_dC and p_dW move differently) against the subset form of the Shapley
    value over the backward-recursion accuracy."""
    a = dict(p_s=0.3, p_retry=0.1, p_dC=0.6, p_dW=0.4)
    b = dict(p_s=0.35, p_retry=0.25, p_dC=0.9, p_dW=0.2)
    g = reproduce.gain_decomposition(a, b, 3, reproduce.RETRY_PLAYERS)
    want = _shapley_by_subsets(lambda ps, pr, dc, dw: _accuracy_by_recursion(3, ps, dc, dw, pr), a, b)
    for k in reproduce.RETRY_PLAYERS:
        assert g[k] == pytest.approx(want[k], rel=1e-10, abs=1e-15), k
    assert g["decision"] == pytest.approx(want["p_dC"] + want["p_dW"], rel=1e-10)
    a3, b3 = ({k: d[k] for k in reproduce.PLAYERS} for d in (a, b))
    g3 = reproduce.gain_decomposition(a3, b3, 3)
    want3 = _shapley_by_subsets(lambda ps, dc, dw: _accuracy_by_recursion(3, ps, dc, dw), a3, b3)
    for k in reproduce.PLAYERS:
        assert g3[k] == pytest.approx(want3[k], rel=1e-10, abs=1e-15), k


# ------------------------------------------------------------------ sec4-empirical: pooling, per seed, leave-one-out
def _fake_run(seed: int, name: str, cells: dict) -> dict:
    """A results.json with in-distribution cells n -> (sft p_s CI, sft-reflect p_s CI, paired accuracy gain
    (est, lo, hi), split (sampling, decision) with the decision part in p_dW, or (sampling, p_dC, p_dW)); every other
    field well-formed and uninformative."""
    import dataclasses

    preset = dict(dataclasses.asdict(reproduce.PRESETS[name]), seed=seed)
    assert tuple(cells) == preset["id_digits"]
    ns = list(cells) + list(preset["ood_digits"])
    metric = dict(accuracy=0.5, p_s=0.4, p_dC=0.6, p_dW=0.3, p_retry=0.2, pass_at_T=0.7, predicted_T=0.5,
                  predicted_inf=0.5, predicted_T_retry=0.5)
    ci = {k: (v - 0.1, v + 0.1) for k, v in metric.items()}
    models = {m: {str(n): dict(metrics=metric, ci=dict(ci)) for n in ns} for m in ("base", "sft", "sft-reflect", "rl")}
    diffs, gains = {}, {}
    for n, (sft_ci, refl_ci, gain, (samp, *parts)) in cells.items():
        d_c, d_w = (0.0, *parts) if len(parts) == 1 else parts
        dec = d_c + d_w
        models["sft"][str(n)] = dict(metrics=metric, ci=dict(ci, p_s=sft_ci))
        models["sft-reflect"][str(n)] = dict(metrics=metric, ci=dict(ci, p_s=refl_ci))
        diffs[str(n)] = dict(accuracy=gain)
        gains[str(n)] = dict(total=samp + dec, p_s=samp, p_retry=0.0, p_dC=d_c, p_dW=d_w, sampling=samp, decision=dec)
    for n in preset["ood_digits"]:
        diffs[str(n)] = dict(accuracy=(0.0, -0.1, 0.1))
    return dict(status="ok", description=f"fake {name}", preset=preset, models=models, diffs=diffs, gains=gains,
                gains_retry=gains, final_losses={"base": 1.0}, seconds={"total": 1.0})


OK_PS, LOW_PS = (0.3, 0.5), (0.1, 0.25)  # sft-reflect's p_s CI entirely below sft's: reflection-SFT damaged it
SIG, NOT_SIG = (0.1, 0.02, 0.2), (0.05, -0.01, 0.1)
# seed 0: n=1 not significant, n=2 pooled (0.01, 0.03); seed 1: n=2 damaged (0.2, 0.0), n=1 pooled (0.05, -0.01);
# seed 2: n=2 pooled (0.02, 0.08).  Pooled: sampling 0.08, decision 0.10 -> 10/18; by hand per seed 0.75, -1/6, 0.8;
# leaving out seed 0: (0.07, 0.07) -> 1/2, seed 1: (0.03, 0.11) -> 11/14, seed 2: (0.06, 0.02) -> 1/4
MIXED = {0: {1: (OK_PS, OK_PS, NOT_SIG, (0.3, 0.0)), 2: (OK_PS, OK_PS, SIG, (0.01, 0.03))},
         1: {1: (OK_PS, OK_PS, SIG, (0.05, -0.01)), 2: (OK_PS, LOW_PS, SIG, (0.2, 0.0))},
         2: {1: (OK_PS, OK_PS, NOT_SIG, (0.0, 0.0)), 2: (OK_PS, OK_PS, SIG, (0.02, 0.08))}}


def _write_runs(out, name, per_seed):
    for seed, cells in per_seed.items():
        folder = out / (name if seed == 0 else f"{name}-seed{seed}")
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps(_fake_run(seed, name, cells)))


def test_pooling_rule_per_seed_verdicts_and_leave_one_seed_out(tmp_path, monkeypatch):
    _write_runs(tmp_path, "cpu-cot", MIXED)
    monkeypatch.setattr(pooling, "OUT", tmp_path)
    sm = pooling.proxy_summary("cot")
    assert sm.preset == "cpu-cot" and sm.seeds == [0, 1, 2]
    assert sm.verdicts == {0: "decision", 1: "sampling", 2: "decision"}
    assert sm.share == pytest.approx(10 / 18, rel=1e-12)
    assert sm.loso == pytest.approx({0: 1 / 2, 1: 11 / 14, 2: 1 / 4}, rel=1e-12)
    assert sm.excluded == {"RL's gain not significant": 2, "reflection-SFT lowered p_s": 1}
    # pooled 10/18 > 1/2, but leaving seed 2 out turns it: not robust, so the threshold is not met
    e = _entry(empirical.check_empirical())
    o = e.statement("sec4-empirical/decision-part").outcomes[0]
    assert (o.values["pooled decision share"].value, o.values["smallest leave-one-seed-out share"].value, o.met) == \
        (0.56, 0.25, False)
    rows = [[c.text() for c in r] for r in table_rows(e.row("seeds").values["per seed"])]
    assert rows[1] == ["1", "1 of 2 (n=1)", "+0.040", "-17%", "sampling"]


def test_one_seed_with_a_pooled_cell_is_not_robust(tmp_path, monkeypatch):
    """A decision gain that only one seed's cell carries: the pooled and the other leave-one-seed-out shares are
    above 50%, but leaving that seed out leaves no pooled cell, so the reading is not robust and the threshold is not
    met (leave-outs with no pooled cell: 1)."""
    runs = {s: {1: (OK_PS, OK_PS, NOT_SIG, (0.0, 0.0)), 2: (OK_PS, OK_PS, SIG if s == 3 else NOT_SIG, (0.01, 0.05))}
            for s in range(4)}
    _write_runs(tmp_path, "cpu-cot", runs)
    monkeypatch.setattr(pooling, "OUT", tmp_path)
    e = _entry(empirical.check_empirical())
    o = next(o for o in e.statement("sec4-empirical/decision-part").outcomes if "cpu-cot" in o.label())
    assert o.values["cells pooled"].value == "1 of 8" and o.values["pooled decision share"].value > 0.5
    assert o.values["smallest leave-one-seed-out share"].value > 0.5
    assert (o.values["leave-outs with no pooled cell"].value, o.met) == (1, False)


def test_robust_decision_gain_in_the_cot_proxy_meets_the_threshold_outside_the_setting(tmp_path, monkeypatch):
    """A robust decision gain in the chain-of-thought proxy meets the threshold, as an outcome outside the paper's
    stated setting: the verdict stays open. The damaged-cell rule and stale runs are honoured."""
    decision = {s: {1: (OK_PS, OK_PS, NOT_SIG, (0.0, 0.0)), 2: (OK_PS, OK_PS, SIG, (0.01, 0.05 + 0.01 * s))}
                for s in range(4)}
    sampling = {s: {1: (OK_PS, OK_PS, NOT_SIG, (0.0, 0.0)), 2: (OK_PS, OK_PS, SIG, (0.05, 0.01))} for s in range(4)}
    _write_runs(tmp_path, "cpu-cot", decision)
    _write_runs(tmp_path, "cpu", sampling)
    monkeypatch.setattr(pooling, "OUT", tmp_path)
    e = _entry(empirical.check_empirical())
    met = {o.setting["proxy"]: o.met for o in e.statement("sec4-empirical/decision-part").outcomes}
    assert met == {"answer-only (cpu)": False, "chain of thought (cpu-cot)": True} and e.verdict == "open"
    columns = e.row("seeds").values["per seed"].value["columns"]
    assert "answer-only (cpu): verdict" in columns and "chain of thought (cpu-cot): verdict" in columns
    # the damaged cell rule: the same decision runs with reflection-SFT's p_s knocked down pool nothing
    for p in tmp_path.glob("cpu-cot*/results.json"):
        d = json.loads(p.read_text())
        d["models"]["sft-reflect"]["2"]["ci"]["p_s"] = list(LOW_PS)
        p.write_text(json.dumps(d))
    e = _entry(empirical.check_empirical())
    o = next(o for o in e.statement("sec4-empirical/decision-part").outcomes if "cpu-cot" in o.label())
    assert o.values["cells pooled"].value == "0 of 8" and o.met is None
    # runs made with other settings of the preset are listed, never pooled
    for p in tmp_path.glob("cpu-cot*/results.json"):
        d = json.loads(p.read_text())
        d["preset"]["base_steps"] += 1
        p.write_text(json.dumps(d))
    e = _entry(empirical.check_empirical())
    assert "chain of thought (cpu-cot): verdict" not in e.row("seeds").values["per seed"].value["columns"]
    assert "cpu-cot-seed3" in e.row("stale-cot").values["runs"].value
