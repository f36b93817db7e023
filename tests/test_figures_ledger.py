"""Ledger figures that no other test recomputed: each against a hand-worked value or an enumeration, both through
the code the claim calls and as printed in the committed reports/ledger.json.  Inventory: tests/figure_inventory.py."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from numerics import objectives
from numerics.tolerances import assert_close
from theory import calibration
from theory import surrogate as surrogate_theory
from theory.sft import stage_share

from .test_figures_reproduce import _accuracy_enumerated, _accuracy_unlimited

LEDGER = Path(__file__).resolve().parent.parent / "reports" / "ledger.json"


def _values(claim_id: str, evidence_id: str) -> dict:
    """The committed ledger's values of one evidence row: name -> the stored value (a number at its stated
    precision, a bound's bound, a count's (k, n), or text)."""
    from dsproof import ledger

    entry = next(e for e in ledger.load(LEDGER) if e.id == claim_id)
    return {k: v.value for k, v in entry.row(evidence_id).values.items()}


def test_far_ood_gap_at_every_printed_budget():
    """p_s = 0.2, p_dC = 0.95, p_dW = 0.5: unlimited-retry accuracy (hand formula) minus the T-attempt accuracy
    (the process enumerated attempt by attempt), against theory.calibration and the ledger's printed figure."""
    p_s, p_dC, p_dW = Fraction(1, 5), Fraction(19, 20), Fraction(1, 2)
    printed = {k.removeprefix("T="): v for k, v in _values("calibration-4.2", "far-ood").items()}
    assert set(printed) == {"2", "4", "8", "16"}
    for T in (2, 4, 8, 16):
        gap = _accuracy_unlimited(p_s, p_dC, p_dW) - _accuracy_enumerated(T, p_s, p_dC, p_dW)
        code = calibration.predicted_accuracy_numeric(None)(0.2, 0.95, 0.5) \
            - calibration.predicted_accuracy_numeric(T)(0.2, 0.95, 0.5)
        assert code == pytest.approx(float(gap), rel=1e-12, abs=1e-15), T
        assert -float(calibration.budget_gap(T).subs({calibration.p_s: 0.2, calibration.p_dC: 0.95,
                                                      calibration.p_dW: 0.5})) == pytest.approx(float(gap), rel=1e-12)
        assert float(printed[str(T)]) == pytest.approx(float(gap), abs=5e-4), T
    assert float(printed["2"]) > 0.04  # a visible over-prediction at T=2: not a point where the gap vanishes


def test_discounted_q_ratio_hand_value():
    """gamma^(-L_k) at gamma = 0.99, L_k = 512: exp(512 * 0.0100503) = exp(5.14577) = 171.704 (hand); printed
    171.7."""
    assert float(surrogate_theory.discounted_q_ratio(512, 0.99)) == pytest.approx(171.70398, rel=1e-6)
    assert float(surrogate_theory.discounted_q_ratio(3, 0.5)) == 8.0
    assert _values("thm-3.1", "discounted-q-value")["Q_d / Q_sample"] == 171.7


@pytest.mark.parametrize("p_dec, printed_dft", [(0.5, "0.089"), (0.05, "0.062")])
def test_sft_dft_decision_share_hand_values(p_dec, printed_dft):
    """Reflection demonstration, L = 8: 16 attempt tokens and 2 decision tokens, every token probability 0.9 but
    RESAMPLE's.  Token-mean SFT weighs every token 1/18: decision share 2/18.  DFT weighs token t by pi_t / 18:
    decision share (p_dec + 0.9) / (16 * 0.9 + p_dec + 0.9)."""
    L = 8
    stage = torch.tensor([[1] * L + [2] + [1] * L + [2]])
    logp = torch.log(torch.tensor([[0.9] * L + [p_dec] + [0.9] * L + [0.9]], dtype=torch.float64))
    batch = objectives.TokenBatch(stage=stage)
    share = {}
    for obj in (objectives.sft(), objectives.dft()):
        w = objectives.token_weights(obj, logp, batch).abs()
        share[obj.name] = float(w[stage == 2].sum() / w.sum())
    assert share["sft"] == pytest.approx(2 / 18, rel=1e-12)
    assert share["dft"] == pytest.approx((p_dec + 0.9) / (16 * 0.9 + p_dec + 0.9), rel=1e-12)
    assert float(stage_share(2 * L, 2)) == pytest.approx(2 / 18, rel=1e-15)
    assert float(stage_share(16, 2, 0.9, (p_dec + 0.9) / 2)) == pytest.approx(share["dft"], rel=1e-12)
    printed = _values("appD-sft-dft", f"share-{'likely' if p_dec == 0.5 else 'rare'}")
    assert (printed["SFT"], printed["DFT"]) == (0.111, float(printed_dft))
    assert float(printed_dft) == pytest.approx(share["dft"], abs=5e-4)


RUNS = sorted((LEDGER.parent / "reproduce").glob("*/results.json"))


@pytest.mark.skipif(not RUNS, reason="no reports/reproduce/*/results.json committed")
@pytest.mark.parametrize("path", RUNS, ids=lambda p: p.parent.name)
def test_empirical_figures_are_read_from_the_run(path):
    """sec4-empirical: a run's record (as the code makes it, and as committed) against the run's results.json,
    re-read here: per digit count the SFT-reflect -> RL accuracies and paired differences (which model is which), the
    rates before -> after, the Shapley split; the per-model means of p_s and p_retry; the largest |observed -
    predicted| over the cells."""
    import math

    from dsproof import ledger
    from dsproof.claims.empirical import CELL_COLUMNS, run_record
    from dsproof.model import table_rows

    label, data = path.parent.name, json.loads(path.read_text())
    row = run_record(label, data)
    committed = next(e for e in ledger.load(LEDGER) if e.id == "sec4-empirical").evidence
    mine = [e for e in committed if e.id == f"run-{label}"]
    if mine:  # the committed ledger shows what the code makes of this run
        assert mine[0].to_json() == row.to_json()
    models = {name: {n: v["metrics"] for n, v in per_n.items()} for name, per_n in data["models"].items()}
    cells = [dict(zip(CELL_COLUMNS, r)) for r in table_rows(row.values["cells"])]
    assert [str(c["n"].value) for c in cells] == list(data["diffs"])
    for c in cells:
        n = str(c["n"].value)
        a, b = models["sft-reflect"][n], models["rl"][n]
        got = tuple(c[k].value for k in ("accuracy SFT-reflect", "accuracy RL", "gain RL - SFT-reflect", "gain CI low",
                                         "gain CI high"))
        assert got == pytest.approx((a["accuracy"], b["accuracy"], *data["diffs"][n]["accuracy"]), abs=5.001e-4), n
        for k in ("p_s", "p_dC", "p_dW"):
            if not (math.isnan(a[k]) or math.isnan(b[k])):
                before, after = map(float, c[k].value.split(" -> "))
                assert (before, after) == pytest.approx((a[k], b[k]), abs=5.001e-3), (n, k)
        g = data.get("gains_retry", {}).get(n)
        if g:
            assert [c[f"split: {k}"].value for k in ("p_s", "p_retry", "p_dC", "p_dW")] == \
                pytest.approx([g[k] for k in ("p_s", "p_retry", "p_dC", "p_dW")], abs=5.001e-4)
    for name, per_n in models.items():
        pr = [m["p_retry"] for m in per_n.values() if not math.isnan(m["p_retry"])]
        if pr:
            assert row.values[f"{name}: mean p_s"].value == pytest.approx(np.mean([m["p_s"] for m in per_n.values()]),
                                                                           abs=5.001e-3)
            assert row.values[f"{name}: mean p_retry"].value == pytest.approx(np.mean(pr), abs=5.001e-3)
    for what, key in (("§4.2 (one accuracy p_s)", "predicted_T"), ("with p_retry", "predicted_T_retry")):
        gap = np.array([m["accuracy"] - m[key] for per_n in models.values() for m in per_n.values()])
        gap = np.abs(gap[~np.isnan(gap)])
        assert row.values[f"max |observed - predicted|, {what}"].value == pytest.approx(gap.max(), abs=5e-4)


# ---------------------------------------------------------------------------------------------------------------
# An attempt-level forward of the toy model, written here from its definition (theory/toy.py's docstring) and
# nothing else: no token rows, no stage masks, no sympy.  An attempt of L tokens is correct with probability
# q^L (q = sigmoid(z_s)); after a correct attempt STOP has probability sigmoid(z_dC), after a wrong one RESAMPLE has
# probability sigmoid(z_dW); the budget T caps the episode without a decision.  Autograd through it gives the
# exact expected gradients that the figures below are recomputed from.

def _attempt_paths(T: int):
    """(outcomes, decisions) of every attempt-level trajectory: RESAMPLE after every attempt but the last, STOP after
    the last unless the budget cap ended the episode."""
    import itertools

    for t in range(1, T + 1):
        for outcomes in itertools.product("CW", repeat=t):
            yield outcomes, ("RESAMPLE",) * (t - 1) + (() if t == T else ("STOP",))


def _log_path_prob(z: torch.Tensor, lengths, outcomes, decisions) -> torch.Tensor:
    log_sig = torch.nn.functional.logsigmoid
    out = torch.zeros((), dtype=z.dtype)
    for L, outcome in zip(lengths, outcomes):
        out = out + (L * log_sig(z[0]) if outcome == "C" else torch.log1p(-torch.sigmoid(z[0]) ** L))
    for outcome, decision in zip(outcomes, decisions):
        if outcome == "C":
            out = out + log_sig(z[1] if decision == "STOP" else -z[1])
        else:
            out = out + log_sig(z[2] if decision == "RESAMPLE" else -z[2])
    return out


def _expected_reward(z: torch.Tensor, lengths) -> torch.Tensor:
    """J(z) = P(final answer correct), the reward 1 / 0 of the paper."""
    return sum(torch.exp(_log_path_prob(z, lengths, o, d)) for o, d in _attempt_paths(len(lengths)) if o[-1] == "C")


def _shared_stage_gradients(U: np.ndarray, theta: np.ndarray, lengths=(2, 2, 2)) -> dict[str, torch.Tensor]:
    """With logits z = U theta, the stage gradients by the chain rule through one stage's logits at a time: g_s
    differentiates J through z_s = U_s theta with the decision logits held, g_d the other way round."""
    Ut = torch.tensor(U, dtype=torch.float64)
    out = {}
    for name, held in (("sampling", [1, 2]), ("decision", [0])):
        th = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        z = Ut @ th
        z = torch.stack([z[i].detach() if i in held else z[i] for i in range(3)])
        out[name], = torch.autograd.grad(_expected_reward(z, lengths), th)
    return out


def test_cross_term_and_cosine_at_the_claims_theta():
    """cross-terms: with one shared theta (the claim's seeded U, theta; T=3, L=2) <g_s, g_d> and the cosine from the
    attempt-level forward, split by holding one stage's logits; the identity ||g||^2 = ||g_s||^2 + ||g_d||^2 +
    2 <g_s, g_d> with g from a plain backward; against numerics.crosscheck."""
    from dsproof.claims.common import RNG_SEED
    from numerics import crosscheck

    rng = np.random.default_rng(RNG_SEED)
    U, theta = rng.normal(size=(3, 4)), rng.normal(size=4) * 0.5
    g = _shared_stage_gradients(U, theta)
    th = torch.tensor(theta, requires_grad=True)
    full, = torch.autograd.grad(_expected_reward(torch.tensor(U) @ th, (2, 2, 2)), th)
    inner = float(g["sampling"] @ g["decision"])
    assert float(full @ full) == pytest.approx(float(g["sampling"] @ g["sampling"] + g["decision"] @ g["decision"])
                                               + 2 * inner, rel=1e-12)
    cos = inner / float(g["sampling"].norm() * g["decision"].norm())
    code = crosscheck.shared_stage_gradients(3, (2, 2, 2), U, theta)
    for stage in ("sampling", "decision"):
        assert_close(code[stage], g[stage], f"{stage} gradient with shared theta")
    assert abs(inner) > 1e-4 and abs(cos) > 0.1  # a point where the cross-term shows


def test_cross_term_cosine_distribution_over_random_parameterisations():
    """cross-terms: the 40 seeded draws after the claim's point (U ~ N(0,1)^(3x4), theta ~ N(0, 0.25), then logits
    ~ U(-2, 2)^3 for the Hessian): each cosine from the attempt-level forward, each Hessian cross-term
    d2J/dz_s dz_d by torch's Hessian of the same forward; median, 5-95%, the smallest |cos| and counts against the
    committed values."""
    from dsproof.claims.common import RNG_SEED
    from dsproof.claims.core import CROSS_DRAWS, DIMENSIONS
    from numerics import crosscheck

    rng = np.random.default_rng(RNG_SEED)
    rng.normal(size=(3, 4)), rng.normal(size=4)  # the claim's point, drawn first
    cosines, hessian_nonzero, smallest_h, largest_h = [], 0, float("inf"), 0.0
    for draw in range(CROSS_DRAWS):
        U, theta = rng.normal(size=(3, 4)), rng.normal(size=4) * 0.5
        g = _shared_stage_gradients(U, theta)
        cosines.append(float(g["sampling"] @ g["decision"] / (g["sampling"].norm() * g["decision"].norm())))
        if draw < 3:  # the code's split at a few draws (each its own point)
            code = crosscheck.shared_stage_gradients(3, (2, 2, 2), U, theta)
            for stage in ("sampling", "decision"):
                assert_close(code[stage], g[stage], f"{stage} gradient, draw {draw}")
        H = torch.autograd.functional.hessian(lambda z: _expected_reward(z, (2, 2, 2)),
                                              torch.tensor(rng.uniform(-2, 2, size=3)))
        hessian_nonzero += bool(abs(H[0, 1]) > 1e-12 and abs(H[0, 2]) > 1e-12)
        smallest_h = min(smallest_h, float(abs(H[0, 1])), float(abs(H[0, 2])))
        largest_h = max(largest_h, float(abs(H[0, 1])), float(abs(H[0, 2])))
    by_dim = {}  # then the same generator's draws per dimension d: theta ~ N(0, 1/d)
    for d in DIMENSIONS:
        cos_d, share = [], []
        for _ in range(CROSS_DRAWS):
            U, theta = rng.normal(size=(3, d)), rng.normal(size=d) / np.sqrt(d)
            g = _shared_stage_gradients(U, theta)
            cross = float(g["sampling"] @ g["decision"])
            cos_d.append(cross / float(g["sampling"].norm() * g["decision"].norm()))
            share.append(2 * abs(cross) / float(((g["sampling"] + g["decision"]) ** 2).sum()))
        by_dim[d] = (np.std(cos_d), np.median(share))
    lo, med, hi = np.percentile(cosines, [5, 50, 95])
    printed = _values("cross-terms", "cosines")
    assert (printed["cos median"], printed["cos 5%"], printed["cos 95%"]) == pytest.approx((med, lo, hi), abs=5e-3)
    assert printed["draws with |cos| > 1e-9"] == (sum(abs(c) > 1e-9 for c in cosines), CROSS_DRAWS)
    assert printed["smallest |cos|"] == pytest.approx(min(abs(c) for c in cosines), abs=5e-4)
    hess = _values("cross-terms", "hessian")
    assert hess["points with both nonzero"] == (hessian_nonzero, CROSS_DRAWS)
    assert hess["smallest |d2J/dtheta_s dtheta_d|"] == pytest.approx(smallest_h, rel=5e-2)
    assert hess["largest |d2J/dtheta_s dtheta_d|"] == pytest.approx(largest_h, rel=5e-2)
    assert printed["largest |cos|"] == pytest.approx(max(abs(c) for c in cosines), abs=5e-4)
    dims = _values("cross-terms", "cosines-by-dimension")
    for d, (sd, share) in by_dim.items():
        assert dims[f"d={d:,}: sd of cos"] == pytest.approx(sd, rel=5e-2), d
        assert dims[f"d={d:,}: median cross-term share"] == pytest.approx(share, rel=5e-2), d
    sds = [by_dim[d][0] for d in DIMENSIONS]
    assert sds == sorted(sds, reverse=True)  # the spread shrinks with d
    assert lo < -0.5 and hi > 0.5  # of either sign: not a distribution where a sign error cancels


THM_3_1_Z = (0.5, 0.2, -0.1)  # the claim's point: p_s = 0.39 (L=2), p_dC = 0.55, p_dW = 0.48


def test_theorem_3_1_coefficients_are_the_advantage_read_off_the_torch_surrogate():
    """thm-3.1: the coefficient of each trajectory's sum grad log pi_sample and sum grad log pi_d (T=2, L=2) read off
    the torch surrogate (ratio_level='trajectory', unclipped, on-policy) as d loss / d log pi of each token over
    -P(tau): every sampling and every decision token of a trajectory carry the same coefficient, R - J with J from
    the attempt-level forward; theory.surrogate.theorem_3_1_coefficients gives both at every path; the claim prints
    'identical (A, A)'."""
    from numerics import crosscheck
    from numerics import toy as toy_numerics
    from numerics.attribution import stage_split
    from theory import toy as toy_theory
    from theory.toy import Path as ToyPath

    T, lengths = 2, (2, 2)
    J = float(_expected_reward(torch.tensor(THM_3_1_Z, dtype=torch.float64), lengths))
    rows = toy_numerics.enumerate_toy(T, lengths, grouped=False)
    logp_fn, batch = crosscheck.toy_token_batch(T, lengths, THM_3_1_Z)
    z = torch.tensor(THM_3_1_Z, dtype=torch.float64, requires_grad=True)
    obj = objectives.surrogate(ratio_level="trajectory", clip=None, loss_agg_mode="seq-mean-token-sum")
    per_token = -stage_split(logp_fn(z), obj, batch, z)["weights"] / batch.seq_weights[:, None]
    m = crosscheck.toy_model(T, lengths)
    probs = dict(zip(toy_theory.PROBS, torch.sigmoid(torch.tensor(THM_3_1_Z, dtype=torch.float64)).tolist()))
    theory = {path: (float(ws.subs(probs)), float(wd.subs(probs)))
              for path, ws, wd in surrogate_theory.theorem_3_1_coefficients(m)}
    assert len(theory) == len(m.paths()) == 2 + 4
    seen = set()
    for i in range(len(rows)):
        t = int(rows.attempt[i].max())
        path = ToyPath(tuple("W" if (rows.tokens[i][rows.attempt[i] == k] == toy_numerics.BAD).any() else "C"
                             for k in range(1, t + 1)), forced=t == T)
        A = (1.0 if path.final_correct else 0.0) - J
        coeff = {s: per_token[i][batch.stage[i] == code] for s, code in (("sampling", 1), ("decision", 2))}
        assert coeff["sampling"].numel() == sum(lengths[:t]) and coeff["decision"].numel() == len(path.decisions)
        for stage, c in coeff.items():
            assert c.tolist() == pytest.approx([A] * c.numel(), rel=1e-12, abs=1e-15), (path, stage)
        assert theory[path] == pytest.approx((A, A), rel=1e-12), path
        seen.add(path)
    assert seen == set(theory)
    assert _values("thm-3.1", "coefficients")["trajectories where they differ"] == 0


def test_expected_advantage_stage_gradients_equal_dJ_at_the_claims_theta():
    """thm-3.1: E[A g_stage] (theory.surrogate.expected_stage_gradient, the paper's seq-mean-token-sum) at the
    claim's theta against dJ/dtheta_stage by autograd through the attempt-level forward; the printed max |diff| is
    round-off."""
    from numerics import crosscheck

    z = torch.tensor(THM_3_1_Z, dtype=torch.float64, requires_grad=True)
    dJ, = torch.autograd.grad(_expected_reward(z, (2, 2)), z)
    m = crosscheck.toy_model(2, (2, 2))
    code = crosscheck.symbolic_values(surrogate_theory.expected_stage_gradient(m, "seq-mean-token-sum"), THM_3_1_Z)
    assert_close(torch.tensor(code), dJ, "E[A g_stage] vs dJ/dtheta")
    assert float(dJ[1]) != pytest.approx(-float(dJ[2]), rel=1e-2)  # a swap of the two decision logits would show
    assert _values("thm-3.1", "expected-stage")["max |diff|"] <= 1e-12


def _practised_ascent(z_old, lengths, mode: str, norm_const: float = 32.0) -> torch.Tensor:
    """On-policy ascent direction of the unclipped surrogate under ``mode``, from the attempt-level forward: the
    gradient at theta = theta_old of sum_tau P_old(tau) c(tau) A(tau) P_theta(tau) / P_old(tau), A = R - J, with the
    aggregation's per-trajectory factor c: 1 / E[n] (token-mean), 1 / n(tau) (seq-mean-token-mean), 1 / C
    (seq-mean-token-sum-norm), 1 otherwise; n(tau) = its attempt tokens plus its decisions."""
    T = len(lengths)
    z = torch.tensor(z_old, dtype=torch.float64, requires_grad=True)
    paths = list(_attempt_paths(T))
    logP = torch.stack([_log_path_prob(z, lengths, o, d) for o, d in paths])
    P_old = torch.exp(logP).detach()
    R = torch.tensor([1.0 if o[-1] == "C" else 0.0 for o, _ in paths], dtype=torch.float64)
    n = torch.tensor([sum(lengths[:len(o)]) + len(d) for o, d in paths], dtype=torch.float64)
    c = {"token-mean": 1 / (P_old * n).sum(), "seq-mean-token-mean": 1 / n,
         "seq-mean-token-sum-norm": torch.tensor(1 / norm_const)}.get(mode, torch.tensor(1.0))
    A = R - (P_old * R).sum()
    grad, = torch.autograd.grad((P_old * c * A * torch.exp(logP - logP.detach())).sum(), z)
    return grad


def test_practised_ratio_and_direction_per_loss_agg_mode():
    """thm-3.1-practised (T=3, L=3 at the claim's theta): for every loss_agg_mode the torch objective's per-stage
    ascent direction equals the attempt-level recomputation; its sampling:decision ratio |g_s| / ||g_d|| and its
    cosine with grad J (autograd of the attempt-level J) against the printed figures."""
    from numerics import crosscheck

    T, lengths = 3, (3, 3, 3)
    z = torch.tensor(THM_3_1_Z, dtype=torch.float64, requires_grad=True)
    dJ, = torch.autograd.grad(_expected_reward(z, lengths), z)
    ratio = lambda v: float(v[0].abs() / v[1:].norm())  # noqa: E731
    rows = {mode: (v["ratio |g_s| / ||g_d||"], v["cos(g, grad J)"])
            for mode in surrogate_theory.MODES for v in [_values("thm-3.1-practised", f"weights-{mode}")]}
    for mode in surrogate_theory.MODES:
        mine = _practised_ascent(THM_3_1_Z, lengths, mode)
        g = crosscheck.toy_objective_stage_gradients(T, lengths, THM_3_1_Z, objectives.surrogate(
            loss_agg_mode=mode, clip=None, norm_const=32.0))
        code = -torch.stack([g["sampling"][0], g["decision"][1], g["decision"][2]])
        assert_close(code, mine, f"{mode}: per-stage ascent direction")
        cos = float(mine @ dJ / (mine.norm() * dJ.norm()))
        assert rows[mode][0] == pytest.approx(ratio(mine), abs=5e-3), (mode, "ratio")
        assert rows[mode][1] == pytest.approx(cos, abs=5e-5), (mode, "cosine with grad J")
    assert rows["seq-mean-token-mean"][0] < rows["token-mean"][0] - 0.2  # the length-weighted mode moves the ratio


def _k1_reward_ratio_enumerated(L: int) -> float:
    """||dKL/dtheta_s|| / ||dKL/dtheta_d|| of KL(P || P_ref) (the k1-in-reward gradient on-policy: E[sum_t k1_t
    grad log P]) by autograd through the token-level enumeration (numerics.toy, grouped by wrong-token counts: KL
    is symmetric in the order of an attempt's tokens), T = 2, attempts of L tokens, at dsproof.scaling's point."""
    from dsproof import scaling
    from numerics import toy as toy_numerics

    batch = toy_numerics.enumerate_toy(2, (L, L))
    z = torch.tensor(scaling.POLICY_LOGITS, dtype=torch.float64, requires_grad=True)
    g, = torch.autograd.grad(toy_numerics.kl_sequence(batch, z, torch.tensor(scaling.REF_LOGITS,
                                                                              dtype=torch.float64)), z)
    return float(g[0].abs() / g[1:].norm())


def test_kl_ratio_half_limit_length():
    """thm-3.2, fixed logits: L_half = Delta_W / kl_tok by hand (Bernoulli KL of sigmoid(0.8) from sigmoid(0.5),
    Delta_W = 0.3); the exact ratio r(L) at L = 50 and 60 enumerated, where r = R_oo L / (L + L_half) up to terms
    ~ q^L < 1e-7, so L / r = L / R_oo + L_half / R_oo gives R_oo and L_half from the two; the code's exact ratio at
    L = 50 against the enumeration there; the printed L_half and ratio/limit."""
    import math

    from dsproof import scaling
    from dsproof.claims.objectives import kl_half_limit_length
    from theory import asymptotics
    from theory.closed_form import objective_gradients

    q, q_ref = (1 / (1 + math.exp(-x)) for x in (scaling.POLICY_LOGITS[0], scaling.REF_LOGITS[0]))
    kl_tok = q * math.log(q / q_ref) + (1 - q) * math.log((1 - q) / (1 - q_ref))
    L_half_hand = (scaling.POLICY_LOGITS[2] - scaling.REF_LOGITS[2]) / kl_tok
    (L1, r1), (L2, r2) = ((L, _k1_reward_ratio_enumerated(L)) for L in (50, 60))
    slope = (L2 / r2 - L1 / r1) / (L2 - L1)  # 1 / R_oo
    L_half_fit = (L1 / r1 - slope * L1) / slope
    L_half, at_half, p_s_half = kl_half_limit_length()
    assert L_half == pytest.approx(L_half_hand, rel=1e-12)
    assert L_half == pytest.approx(L_half_fit, rel=1e-6)
    assert p_s_half == pytest.approx(q ** L_half_hand, rel=1e-9)
    assert abs(at_half - 0.5) <= 10 * p_s_half  # the code's exact ratio there over its limit: half, to q^L_half
    values = asymptotics.setting(scaling.POLICY_LOGITS, scaling.REF_LOGITS, 2)
    exact = asymptotics.ratio_along(objective_gradients(2)["kl-k1-reward"], "fixed-logits", values)
    assert float(exact(L1)) == pytest.approx(r1, rel=1e-9)
    printed = _values("thm-3.2", "half-limit")
    assert printed["L_half"] == pytest.approx(L_half_fit, abs=5e-2)
    assert printed["ratio / limit at L_half"] == pytest.approx(at_half, abs=5e-5) and \
        abs(printed["ratio / limit at L_half"] - 0.5) < 1e-4


def test_sft_and_dft_implicit_reward_identities():
    """appD-sft-dft (D.1, D.3) at logits (0.7, -0.4, 1.3) of a softmax over 3 tokens, expert token 0, by autograd:
    grad log pi(y*) = sum_y pi(y) r(y) grad log pi(y) with r = 1[y = y*] / pi(y*) (SFT), and sg(pi(y*)) grad log
    pi(y*) = the same sum with r = 1[y = y*] (DFT); theory.sft.implicit_reward_identities's residuals (symbolic,
    and at this point) are 0; a wrong reward (r = 1 for SFT, 1 / pi for DFT) leaves a residual here; printed
    'residual 0'."""
    from theory import sft as sft_theory

    x = torch.tensor([0.7, -0.4, 1.3], dtype=torch.float64, requires_grad=True)
    log_pi = torch.log_softmax(x, 0)
    pi = log_pi.exp()
    score = [torch.autograd.grad(log_pi[y], x, retain_graph=True)[0] for y in range(3)]
    sft = score[0]
    dft = pi[0].detach() * score[0]
    policy_gradient = lambda r: sum(pi[y].detach() * r[y] * score[y] for y in range(3))  # noqa: E731
    assert_close(policy_gradient([1 / pi[0].detach(), 0, 0]), sft, "SFT = PG with reward 1[y = y*] / pi(y*)")
    assert_close(policy_gradient([1, 0, 0]), dft, "DFT = PG with reward 1[y = y*]")
    assert float((policy_gradient([1, 0, 0]) - sft).abs().max()) > 0.1  # the identities tell the two rewards apart
    terms = sft_theory.implicit_reward_identities(3)
    assert [t.name for t in terms] == ["SFT - PG(1/pi reward)", "DFT - PG(unit reward)"]
    logits = sft_theory.categorical(3)[0]
    for term in terms:
        assert term.expr.shape == (3, 1) and all(e == 0 for e in term.expr), term.name
        at_x = term.expr.subs(dict(zip(logits, x.tolist())))
        assert all(abs(float(e)) < 1e-12 for e in at_x), term.name
    assert [_values("appD-sft-dft", f"identity-{i}")["residual"] for i in (1, 2)] == [0, 0]


@pytest.mark.parametrize("policy, reference", [((0.8, 0.5, -0.3), (0.5, 0.2, 0.0)), ((0.8, 0.9, 0.2), (0.5, 0.2, 0.1))])
def test_kl_ratio_half_limit_length_is_signed(policy, reference):
    """L_half = Delta_W / kl_tok with its sign (kl_half_limit_length's docstring): at Delta_W = -0.3 the exact k1
    ratio at L = 50 is R_oo L / (L - 0.3 / kl_tok), above its limit, and not R_oo L / (L + 0.3 / kl_tok); at a point
    where Delta_dC (0.7) differs from Delta_W (0.1) the displacement is the wrong-branch decision's."""
    from theory import asymptotics
    from theory import toy as toy_theory
    from theory.closed_form import objective_gradients

    values = asymptotics.setting(policy, reference, 2)
    kl_tok = float(toy_theory.kl_bernoulli(toy_theory.q, toy_theory.q_ref).subs(values))
    gradient = objective_gradients(2)["kl-k1-reward"]
    limit = float(asymptotics.ratio_asymptotics(gradient, "fixed-logits", values).coeff)
    exact = float(asymptotics.ratio_along(gradient, "fixed-logits", values)(50))
    L_half = (policy[2] - reference[2]) / kl_tok
    assert exact == pytest.approx(limit * 50 / (50 + L_half), rel=1e-6)
    assert exact != pytest.approx(limit * 50 / (50 + (policy[1] - reference[1]) / kl_tok), rel=1e-3)  # not Delta_dC
    assert (exact > limit) == (L_half < 0)
