"""Ledger figures that no other test recomputed: each against a hand-worked value or an enumeration, both through
the code the claim calls and as printed in the committed reports/ledger.json.  Inventory: tests/figure_inventory.py."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest
import torch

from numerics import objectives
from theory import calibration
from theory import surrogate as surrogate_theory
from theory.sft import stage_share

from .test_figures_reproduce import _accuracy_enumerated, _accuracy_unlimited

LEDGER = Path(__file__).resolve().parent.parent / "reports" / "ledger.json"


def _printed(claim_id: str, prefix: str) -> str:
    claim = next(c for c in json.loads(LEDGER.read_text())["claims"] if c["id"] == claim_id)
    return next(e["figure"] for e in claim["evidence"] if e["description"].startswith(prefix))


def test_far_ood_gap_at_every_printed_budget():
    """p_s = 0.2, p_dC = 0.95, p_dW = 0.5: unlimited-retry accuracy (hand formula) minus the T-attempt accuracy
    (the process enumerated attempt by attempt), against theory.calibration and the ledger's printed figure."""
    p_s, p_dC, p_dW = Fraction(1, 5), Fraction(19, 20), Fraction(1, 2)
    printed = dict(re.findall(r"T=(\d+): ([+-]\d\.\d+)", _printed("calibration-4.2", "far-OOD regime")))
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
    assert _printed("thm-3.1", "gamma < 1: Q_d / Q_sample") == "171.7"


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
    printed = _printed("appD-sft-dft", f"decision share of the per-token credit, L=8, RESAMPLE "
                                       f"{'likely' if p_dec == 0.5 else 'rare'}")
    assert printed.startswith(f"SFT 0.111, DFT {printed_dft}")
    assert float(printed_dft) == pytest.approx(share["dft"], abs=5e-4)


RUNS = sorted((LEDGER.parent / "reproduce").glob("*/results.json"))


@pytest.mark.skipif(not RUNS, reason="no reports/reproduce/*/results.json committed")
@pytest.mark.parametrize("path", RUNS, ids=lambda p: p.parent.name)
def test_empirical_figures_are_read_from_the_run(path):
    """sec4-empirical: the ledger's per-run figures (as printed and as committed) against the run's results.json,
    re-read here: the
    SFT-reflect -> RL accuracies and paired differences per n (which model is which), pass@T and p_s per n, the
    per-model means of p_s and p_retry, and the largest and mean |observed - predicted| over the cells."""
    import math

    import numpy as np

    from dsproof.reproduction import _run_evidence

    label, data = path.parent.name, json.loads(path.read_text())
    evidence, _, _ = _run_evidence(label, data)
    printed = {e.description[len(label) + 2:].split(" ")[0]: e.figure for e in evidence}
    claim = next(c for c in json.loads(LEDGER.read_text())["claims"] if c["id"] == "sec4-empirical")
    committed = {e["description"]: e["figure"] for e in claim["evidence"] if e["description"].startswith(f"{label}: ")}
    if committed:  # the committed ledger shows what the code prints from this run
        assert committed == {e.description: e.figure for e in evidence}
    models = {name: {n: v["metrics"] for n, v in per_n.items()} for name, per_n in data["models"].items()}
    diffs = re.findall(r"n=(\d+)(?: \(OOD\))?: accuracy (\S+)->(\S+) \(paired diff (\S+) \[(\S+), (\S+)\]\)",
                       printed["SFT-reflect"])
    assert [n for n, *_ in diffs] == list(data["diffs"])
    for n, a, b, est, lo, hi in diffs:
        want = (models["sft-reflect"][n]["accuracy"], models["rl"][n]["accuracy"], *data["diffs"][n]["accuracy"])
        assert tuple(map(float, (a, b, est, lo, hi))) == pytest.approx(want, abs=5e-4), n
    for n, ps, pass_T in re.findall(r"n=(\d+): p_s (\S+), pass@T ([\d.]+)", printed["SFT-reflect's"]):
        m = models["sft-reflect"][n]
        assert (float(ps), float(pass_T)) == pytest.approx((m["p_s"], m["pass_at_T"]), abs=5.001e-3), n
    means = re.findall(r"([\w-]+): p_s (\S+) vs p_retry ([\d.]+)", printed["§4.2"])
    assert {name for name, *_ in means} == set(models)
    for name, ps, pr in means:
        col = lambda k: np.array([m[k] for m in models[name].values()])  # noqa: E731
        assert (float(ps), float(pr)) == pytest.approx((col("p_s").mean(), np.nanmean(col("p_retry"))), abs=5.001e-3)
    fits = dict((what, (float(mx), float(mean), int(cells))) for what, mx, mean, cells in re.findall(
        r"(§4.2 \(one accuracy p_s\)|with p_retry): max \|observed - predicted\| = (\S+), mean (\S+) over (\d+) "
        r"cells", printed["finite-budget"]))
    for what, key in (("§4.2 (one accuracy p_s)", "predicted_T"), ("with p_retry", "predicted_T_retry")):
        gap = np.array([m["accuracy"] - m[key] for per_n in models.values() for m in per_n.values()])
        gap = np.abs(gap[~np.isnan(gap)])
        assert fits[what][:2] == pytest.approx((gap.max(), gap.mean()), abs=5e-4) and fits[what][2] == len(gap)
    assert not math.isnan(fits["with p_retry"][0])
