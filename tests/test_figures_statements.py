"""Figures the statements of the ledger added, each against an independent computation: the clipping map of
thm-3.1-practised (a hand-written PPO loss at the attempt level), the growth of Theorem 3.2's immediate penalties
along each scaling (evaluated directly with mpmath), the per-token KL-level map of thm-3.2-practised (theory's closed
form evaluated at each length), the discounted leading orders (against the exact ratio at large L) and the per-stage
discount (a one-attempt enumeration).  Inventory: tests/figure_inventory.py."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch

LEDGER = Path(__file__).resolve().parent.parent / "reports" / "ledger.json"


def _values(claim_id: str, evidence_id: str) -> dict:
    from dsproof import ledger

    entry = next(e for e in ledger.load(LEDGER) if e.id == claim_id)
    return {k: v.value for k, v in entry.row(evidence_id).values.items()}


# ------------------------------------------------------------------ the clipping map (thm-3.1-practised)
def _clipped_stage_gradients(z_old, z_new, T=3, L=3, clip=(0.2, 0.28), dual=3.0):
    """(d/dz_s, d/dz_dC, d/dz_dW) of the expected token-mean PPO loss, clipped and unclipped, written at the attempt
    level: an attempt of L tokens with k wrong ones (multiplicity C(L, k)) has L - k tokens with ratio q/q_old and k
    with (1 - q)/(1 - q_old); a decision token's ratio is its probability over the old one; A = R - J_old; each
    token's loss -min(r A, clip(r) A), capped at -dual A where A < 0; averaged over the tokens under P_old."""
    zo = torch.tensor(z_old, dtype=torch.float64)
    p_old = torch.sigmoid(zo)

    def loss(z, clipped: bool):
        p = torch.sigmoid(z)
        paths = []  # (log P_old, R, [(ratio, count)])

        def attempts(k_left, prefix_logp, tokens):
            for k in range(L + 1):  # wrong tokens in this attempt
                correct = k == 0
                lp = math.log(math.comb(L, k)) + (L - k) * torch.log(p_old[0]) + k * torch.log(1 - p_old[0])
                toks = tokens + [(p[0] / p_old[0], L - k), ((1 - p[0]) / (1 - p_old[0]), k)]
                last = k_left == 1
                if last:  # budget cap: no decision
                    paths.append((prefix_logp + lp, 1.0 if correct else 0.0, toks))
                    continue
                stop_new, stop_old = (p[1], p_old[1]) if correct else (1 - p[2], 1 - p_old[2])
                paths.append((prefix_logp + lp + torch.log(stop_old), 1.0 if correct else 0.0,
                              toks + [(stop_new / stop_old, 1)]))  # STOP
                attempts(k_left - 1, prefix_logp + lp + torch.log(1 - stop_old),
                         toks + [((1 - stop_new) / (1 - stop_old), 1)])  # RESAMPLE

        attempts(T, torch.zeros((), dtype=torch.float64), [])
        w = torch.exp(torch.stack([lp for lp, _, _ in paths]))
        J = sum(wi * R for wi, (_, R, _) in zip(w, paths))
        total, tokens = 0.0, 0.0
        for wi, (_, R, toks) in zip(w, paths):
            A = R - J
            for r, n in toks:
                if n == 0:
                    continue
                per = -r * A
                if clipped:
                    per = torch.maximum(per, -torch.clamp(r, 1 - clip[0], 1 + clip[1]) * A)
                    if A < 0:
                        per = torch.minimum(per, -dual * A)
                total = total + wi * n * per
                tokens = tokens + wi * n
        return total / tokens

    out = {}
    for clipped in (True, False):
        z = torch.tensor(z_new, dtype=torch.float64, requires_grad=True)
        out[clipped], = torch.autograd.grad(loss(z, clipped), z)
    return out


def test_clipping_map_recomputed_with_a_hand_written_ppo_loss():
    """Every draw of thm-3.1-practised's clipping map (the same seeded draws) recomputed with the attempt-level PPO
    loss above: the fraction of each stage's gradient clipping keeps (sampling: d/dz_s; decision: the norm over
    d/dz_dC, d/dz_dW) against numerics' token-level objective, and the committed counts."""
    from dsproof.claims.common import RNG_SEED
    from dsproof.claims.objectives import CLIP_DRAWS, CLIP_STEP_SCALES, clipping_map

    code = clipping_map()
    rng = np.random.default_rng(RNG_SEED)
    mine = []
    for i in range(CLIP_DRAWS):
        z_old = rng.uniform(-1.5, 1.5, 3)
        s = float(rng.choice(CLIP_STEP_SCALES))
        z_new = z_old + rng.normal(0, s, 3)
        g = _clipped_stage_gradients(z_old, z_new)
        kept = (float(g[True][0].abs() / g[False][0].abs()), float(g[True][1:].norm() / g[False][1:].norm()))
        mine.append((s, *kept))
        assert code[i] == pytest.approx(mine[-1], rel=1e-9), i
    unequal = [m for m in mine if abs(m[2] - m[1]) > 1e-9]
    printed = _values("thm-3.1-practised", "clipping")
    assert printed["draws where the fractions differ"] == (len(unequal), CLIP_DRAWS)
    assert printed["decision keeps less"][0] == sum(d < s_ for _, s_, d in unequal)
    assert printed["sampling keeps less"][0] == sum(s_ < d for _, s_, d in unequal)
    assert 0 < len(unequal) < CLIP_DRAWS and printed["decision keeps less"][0] > 0 and printed["sampling keeps less"][0] > 0


# ------------------------------------------------------------------ Theorem 3.2's immediate penalties
def _kl(q, r):
    return q * mpmath.log(q / r) + (1 - q) * mpmath.log((1 - q) / (1 - r))


def _immediate(L, scaling):
    """L kl_tok at length L along a scaling, evaluated directly (mpmath, 40 digits) from the scalings' definitions
    (theory/asymptotics.py's docstring) at the ledger's point: policy logit 0.8, reference 0.5."""
    mpmath.mp.dps = 40
    sig = lambda x: 1 / (1 + mpmath.exp(-mpmath.mpf(x)))  # noqa: E731
    P, q_ref0 = sig(0.8), sig(0.5)
    if scaling == "fixed-logits":
        q, r = P, q_ref0
    else:
        q = P ** (mpmath.mpf(1) / L)
        r = q * mpmath.exp(-mpmath.mpf("0.3")) / (1 - q + q * mpmath.exp(-mpmath.mpf("0.3"))) \
            if scaling == "fixed-p_s" else q_ref0
    return L * _kl(q, r)


@pytest.mark.parametrize("scaling, grows", [("fixed-logits", True), ("fixed-p_s", False), ("fixed-p_s-ref", True)])
def test_immediate_penalty_growth_along_each_scaling(scaling, grows):
    """d^sample / d^decision = L kl_tok / kl_dec (kl_dec is the same at every L): from L = 10^4 to 10^6 it grows a
    hundredfold where the per-token KL stays comparable, and stays put where it shrinks like 1/L; against the
    ledger's derived powers (thm-3.2 and def-3.1 carry the same rows)."""
    ratio = float(_immediate(10**6, scaling) / _immediate(10**4, scaling))
    assert ratio == pytest.approx(100 if grows else 1, rel=1e-2)
    for claim in ("thm-3.2", "def-3.1"):
        printed = _values(claim, f"immediate-{scaling}")
        assert (printed["L power"], printed["log L power"], printed["growth"]) == \
            ((1, 0, "grows") if grows else (0, 0, "constant"))


# ------------------------------------------------------------------ the per-token KL-level map (thm-3.2-practised)
@functools.lru_cache(maxsize=None)
def _closed_form_gradient(name: str, L: int):
    """The gradient of an objective of theory.closed_form built at one numeric L (not the symbolic-L expressions the
    asymptotics module expands), as an mpmath function of the probabilities (built once per objective and L)."""
    from theory.closed_form import ClosedForm
    from theory.toy import PROBS, REF_PROBS

    cf = ClosedForm(2, L)
    g = cf.gradient(cf.J) if name == "surrogate" else cf.token_loss_gradient("k3")
    return sp.lambdify(PROBS + REF_PROBS, list(g), "mpmath")


def _closed_form_ratio(name: str, L: int, q_ref_value, P_value):
    """|g_s| / ||g_d|| of an objective at one numeric L, fixed-p_s-ref: q = P^(1/L)."""
    from dsproof import scaling

    sig = lambda x: 1 / (1 + mpmath.exp(-mpmath.mpf(x)))  # noqa: E731
    mpmath.mp.dps = 40
    args = [P_value ** (mpmath.mpf(1) / L), sig(scaling.POLICY_LOGITS[1]), sig(scaling.POLICY_LOGITS[2]),
            q_ref_value, sig(scaling.REF_LOGITS[1]), sig(scaling.REF_LOGITS[2])]
    v = _closed_form_gradient(name, L)(*args)
    return abs(v[0]) / mpmath.sqrt(v[1] ** 2 + v[2] ** 2)


def test_kl_level_map_against_the_closed_form_at_each_length():
    """Each kappa of the map: q_ref = exp(-kappa) (the first level is the reference point's own q_ref); the k3-loss
    ratio over the surrogate's at L = 10^2, 10^3, 10^4 from the closed form built at that L, the per-token KL
    there from the Bernoulli KL by hand, and the derived coefficient against the exact relative ratio at L = 10^6
    (relative ~ c L)."""
    from dsproof import scaling

    sig = lambda x: 1 / (1 + mpmath.exp(-mpmath.mpf(x)))  # noqa: E731
    P = sig(scaling.POLICY_LOGITS[0])
    for i, level in enumerate(scaling.KL_LEVELS):
        q_ref = sig(scaling.REF_LOGITS[0]) if i == 0 else mpmath.exp(-mpmath.mpf(level))
        printed = _values("thm-3.2-practised", f"k3-kl-{level}")
        for L in scaling.KL_LEVEL_LENGTHS:
            rel = _closed_form_ratio("kl-k3-loss", L, q_ref, P) / _closed_form_ratio("surrogate", L, q_ref, P)
            assert printed[f"relative at L={L:,}"] == pytest.approx(float(rel), rel=5e-3), (level, L)
            kl = _kl(P ** (mpmath.mpf(1) / L), q_ref)
            assert printed[f"per-token KL at L={L:,}"] == pytest.approx(float(kl), rel=5e-3), (level, L)
        big = 10**6
        rel = _closed_form_ratio("kl-k3-loss", big, q_ref, P) / _closed_form_ratio("surrogate", big, q_ref, P)
        assert (printed["relative L power"], printed["relative log L power"]) == (1, 0)
        assert printed["relative coefficient"] == pytest.approx(float(rel) / big, rel=1e-2), level
    assert sig(scaling.REF_LOGITS[0]) == pytest.approx(math.exp(-float(scaling.KL_LEVELS[0])), rel=1e-3)


# ------------------------------------------------------------------ the discounted model (gamma < 1)
def _exact_discounted(reward, discount, scaling, gamma, L):
    """The exact ratio of theory.values' discounted gradient at one L (gamma^L kept), along a scaling, by direct
    substitution (mpmath, 40 digits)."""
    from dsproof import scaling as sc
    from theory import values as V
    from theory.toy import PROBS, REF_PROBS

    mpmath.mp.dps = 40
    sig = lambda x: 1 / (1 + mpmath.exp(-mpmath.mpf(x)))  # noqa: E731
    P = sig(sc.POLICY_LOGITS[0])
    q = P if scaling == "fixed-logits" else P ** (mpmath.mpf(1) / L)
    args = [q, sig(sc.POLICY_LOGITS[1]), sig(sc.POLICY_LOGITS[2]), sig(sc.REF_LOGITS[0]), sig(sc.REF_LOGITS[1]),
            sig(sc.REF_LOGITS[2])]
    g = V.stage_gradients(2, V.L, 1 if gamma == "1" else V.gamma, reward, discount=discount)
    v = sp.lambdify((V.L, V.gamma) + PROBS + REF_PROBS, list(g), "mpmath")(L, mpmath.mpf(gamma), *args)
    return abs(v[0]) / mpmath.sqrt(v[1] ** 2 + v[2] ** 2)


@pytest.mark.parametrize("discount, scaling", [("token", "fixed-logits"), ("token", "fixed-p_s-ref"),
                                               ("stage", "fixed-logits"), ("stage", "fixed-p_s-ref")])
def test_discounted_leading_orders_against_the_exact_ratio_at_large_L(discount, scaling):
    """thm-3.2-discounted's rows: the derived leading order C L^a (log L)^c of the k1-in-reward ratio against the
    exact ratio at large L: C L (a = 1) as exact(L) / L, C (a = 0) as exact(L), C log L as the growth between
    L = 10^6 and 10^8 (C log 100); the exact values at L = 10^3, 10^4 against the printed ones; and thm-3.1-discounted's
    surrogate rows (per-token discount) through the exact ratio relative to gamma = 1."""
    for gamma in ("0.99", "0.999"):
        printed = _values("thm-3.2-discounted", f"gradient-{discount}-{scaling}-{gamma}")
        a, c, C = printed["L power"], printed["log L power"], printed["coefficient"]
        exact = lambda L: float(_exact_discounted("k1", discount, scaling, gamma, L))  # noqa: E731
        if (a, c) == (1, 0):
            assert exact(10**6) / 10**6 == pytest.approx(C, rel=1e-3)
        elif (a, c) == (0, 1):
            assert exact(10**8) - exact(10**6) == pytest.approx(C * math.log(100), rel=2e-2)
        else:
            assert (a, c) == (0, 0) and exact(10**6) == pytest.approx(C, rel=1e-3)
        for L in (1000, 10_000):
            assert printed[f"ratio at L={L:,}"] == pytest.approx(exact(L), rel=5e-4)
        if discount == "token":
            sur = _values("thm-3.1-discounted", f"surrogate-{scaling}-{gamma}")
            for L in (1000, 10_000):
                one = float(_exact_discounted("terminal", "token", scaling, "1", L))
                assert sur[f"relative at L={L:,}"] == pytest.approx(
                    float(_exact_discounted("terminal", "token", scaling, gamma, L)) / one, rel=5e-3)
            assert (sur["relative L power"], sur["relative growth"]) == (-1, "vanishes")
    expected = {("token", "fixed-logits"): (1, 0), ("token", "fixed-p_s-ref"): (0, 1)}.get((discount, scaling), (0, 0))
    assert (a, c) == expected


def test_per_stage_discount_leaves_the_attempt_undiscounted():
    """With a per-stage discount an attempt's immediate penalty (the first token's expected return, T = 1) is the
    undiscounted L kl_tok: enumeration (numerics.discounted, stage-counted returns) against L kl_tok by hand, and
    the per-token discount's kl_tok (1 - gamma^L)/(1 - gamma) beside it."""
    from numerics.discounted import discounted_returns
    from numerics.toy import enumerate_toy, path_probs, token_logprobs

    z, z_ref, L, gamma = (0.5, 0.2, -0.1), (0.3, 0.4, 0.1), 4, 0.9
    batch = enumerate_toy(1, L, grouped=False)
    lp = token_logprobs(batch, torch.tensor(z, dtype=torch.float64))
    r = (lp - token_logprobs(batch, torch.tensor(z_ref, dtype=torch.float64))) * batch.mask
    P = path_probs(batch, torch.tensor(z, dtype=torch.float64))
    q, qr = 1 / (1 + math.exp(-z[0])), 1 / (1 + math.exp(-z_ref[0]))
    kl_tok = q * math.log(q / qr) + (1 - q) * math.log((1 - q) / (1 - qr))
    by_stage = float((P * discounted_returns(r, batch.mask, gamma, batch.stage)[:, 0]).sum())
    by_token = float((P * discounted_returns(r, batch.mask, gamma)[:, 0]).sum())
    assert by_stage == pytest.approx(L * kl_tok, rel=1e-12)
    assert by_token == pytest.approx(kl_tok * (1 - gamma ** L) / (1 - gamma), rel=1e-12)
    assert _values("thm-3.2-discounted", "immediate-stage")["residual"] == 0


# ------------------------------------------------------------------ def-3.1/sft: the demonstration's wrong attempt
@pytest.mark.parametrize("wrong", ["every token", "the policy's own"])
def test_sft_wrong_attempt_map_by_hand(wrong):
    """def-3.1/sft's map over the demonstration's wrong attempt: SFT's gradient on one reflection demonstration by
    hand (d/dtheta_s = (2L - n_w)(1 - q) - n_w q, d/dtheta_dC = 1 - p_dC, d/dtheta_dW = 1 - p_dW, with n_w = L or
    the policy's expected count L (1 - q) / (1 - q^L)) over the surrogate's ratio from the closed form built at each
    L, against the ledger's relative values at L = 10^3 and 10^4, per scaling; and the growth the ledger derives."""
    from dsproof import scaling

    sig = lambda x: 1 / (1 + mpmath.exp(-mpmath.mpf(x)))  # noqa: E731
    mpmath.mp.dps = 40
    P, pC, pW = (sig(x) for x in scaling.POLICY_LOGITS)
    printed = _values("def-3.1", "sft-wrong-" + wrong.replace("'", "").replace(" ", "-"))
    for s in ("fixed-logits", "fixed-p_s", "fixed-p_s-ref"):
        for L in (1000, 10_000):
            q = P if s == "fixed-logits" else P ** (mpmath.mpf(1) / L)
            n_w = L if wrong == "every token" else L * (1 - q) / (1 - q ** L)
            sft = abs((2 * L - n_w) * (1 - q) - n_w * q) / mpmath.sqrt((1 - pC) ** 2 + (1 - pW) ** 2)
            sur = _closed_form_ratio("surrogate", L, sig(scaling.REF_LOGITS[0]), q ** L)
            assert printed[f"{s}: relative at L={L:,}"] == pytest.approx(float(sft / sur), rel=5e-3), (s, L)
        grows = wrong == "every token" and s != "fixed-logits"
        assert printed[f"{s}: relative growth"] == ("grows" if grows else "constant"), s


# ------------------------------------------------------------------ abstract-length-weighting: counts per L
def test_length_weighting_counts_per_length_add_up_and_come_from_the_runs():
    """The 'as run' counts per attempt length L: recounted from the training runs (dsproof.claims.training's map,
    the kept fractions computed here from the final logits) and summing to the protocol's totals."""
    from dsproof.claims.training import LW_LENGTHS, length_weighting_map

    runs = length_weighting_map("as run")
    per_L = {L: [0, 0, 0] for L in LW_LENGTHS}
    for (L, _), r in runs.items():
        moved_rl, moved_kl = r["rl"] - r["z0"], r["kl"] - r["z0"]
        kept = moved_kl / moved_rl  # each logit's movement under the KL over the surrogate's, from the same start
        per_L[L][0] += int(((kept[:, 0] - np.minimum(kept[:, 1], kept[:, 2])) < 0).sum())
        per_L[L][1] += int((kept[:, 2] < 1).sum())
        per_L[L][2] += len(kept)
    printed = _values("abstract-length-weighting", "by-length")
    total = _values("abstract-length-weighting", "protocol-as run")
    for L, (restrained, short, n) in per_L.items():
        assert printed[f"L={L}: theta_s restrained most"] == (restrained, n), L
        assert printed[f"L={L}: theta_dW left short"] == (short, n), L
    assert sum(v[0] for v in per_L.values()) == total["theta_s restrained most"][0]
    assert sum(v[1] for v in per_L.values()) == total["theta_dW left short"][0]


# ------------------------------------------------------------------ appC-toy: the control and joint counts
def test_appendix_c_control_and_joint_counts_recounted_from_the_sweep():
    """appC-toy's map record: settings where the control (KL ratio over the surrogate's) reaches 5 at its peak, and
    where Figure 1's three statements hold at once, recounted from numerics.figure1.sweep's rows with the
    statements' thresholds written out here; the joint count is at most each statement's own."""
    from numerics.figure1 import READINGS, sweep

    grid = sweep(lengths=1)
    printed = _values("appC-toy", "map")
    for r in READINGS:
        control = sum(row[("relative", r)][1] >= 5 for row in grid)
        symmetric = [0.5 <= row[("reward", r)][0] and row[("reward", r)][1] <= 2 for row in grid]
        magnitude = [row[("kl", r)][1] >= 5 for row in grid]
        above = [row[("kl", r)][0] > 2 for row in grid]
        joint = sum(a and b and c for a, b, c in zip(symmetric, magnitude, above))
        assert printed[f"{r}: control >= 5 at its peak"] == (control, len(grid)), r
        assert printed[f"{r}: all three statements at once"] == (joint, len(grid)), r
        assert joint <= min(sum(symmetric), sum(magnitude), sum(above))
