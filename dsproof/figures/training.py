"""Figures of the claims about training (dsproof.claims.training): finite-group GRPO far out of distribution, §5's
SFT on the model's own successes against RL, and the abstract's length weighting."""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from ..model import dec
from .style import SIZE, legend, one_thread, styled


# =============================================================================================== GRPO groups
#: p_s of the far-OOD curves: the ledger's points (claims.training.FAR_OOD_PS) and values between
GRPO_PS = (0.005, 0.007, 0.01, 0.015, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
GRPO_T = (3, 4)


@functools.lru_cache(maxsize=None)
def _grpo_far_ood() -> dict:
    from theory import grpo

    from ..claims.training import FAR_OOD

    return {T: [grpo.far_ood_row(T, p, **FAR_OOD) for p in GRPO_PS] for T in GRPO_T}


@styled
def grpo_far_ood() -> plt.Figure:
    from ..claims.training import FAR_OOD, FAR_OOD_PS

    rows = _grpo_far_ood()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=SIZE)
    ps = np.array(GRPO_PS)
    mark = np.isin(ps, FAR_OOD_PS)
    for T, c in zip(GRPO_T, ("C0", "C3")):
        inf = np.array([r["informative"] for r in rows[T]])
        ax.plot(ps, inf, "-", color=c, gid=f"informative|{T}", label=f"T = {T}")
        ax.plot(ps[mark], inf[mark], "o", color=c, ms=3.5)
        push = np.array([r["grpo_dtheta_dW"] for r in rows[T]])
        dJ = np.array([r["dJ_dtheta_dW"] for r in rows[T]])
        bx.plot(ps, push, "-", color=c, gid=f"push|{T}", label=f"GRPO kappa dJ/dtheta_dW, T = {T}")
        bx.plot(ps, dJ, "--", color=c, lw=1, gid=f"control|dJ|{T}", label=f"surrogate dJ/dtheta_dW (control), T = {T}")
        bx.plot(ps[mark], push[mark], "o", color=c, ms=3.5)
    for p in FAR_OOD_PS:
        r = rows[GRPO_T[0]][GRPO_PS.index(p)]
        ax.annotate(dec(r["informative"], 3).text(), (p, r["informative"]), xytext=(4, -9), textcoords="offset points",
                    fontsize=6.5, gid=f"deciding|groups with any gradient|{p}")
    ax.set_ylabel("groups carrying any gradient")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Groups of {FAR_OOD['G']} with any nonzero advantage")
    bx.set_ylabel("expected push on theta_dW")
    bx.set_title("Expected push on RESAMPLE-when-wrong")
    for a in (ax, bx):
        a.set_xscale("log")
        a.set_xlabel("first-attempt accuracy p_s")
        legend(a, loc="upper left", fontsize=6)
    fig.tight_layout(w_pad=0.5)
    return fig


# =============================================================================================== §5 feedback
FEEDBACK_ROUNDS = 200


@functools.lru_cache(maxsize=None)
def _feedback() -> dict:
    """p_s over rounds of iterated RFT and over RL steps from §4.2's far-OOD start, and the offline fixed point:
    claims.training's model (its constants, rl_steps) and theory.feedback's closed-form map."""
    import torch

    from numerics.figure1 import logit
    from numerics.toy import DTYPE
    from theory import feedback
    from theory import toy as toy_theory

    from ..claims.training import FEEDBACK_L, FEEDBACK_START, FEEDBACK_T, rl_steps

    T, L = FEEDBACK_T, FEEDBACK_L
    p_s, p_dC, p_dW = FEEDBACK_START
    z0 = (logit(p_s ** (1 / L)), logit(p_dC), logit(p_dW))
    start = tuple(torch.sigmoid(torch.tensor(z0, dtype=DTYPE)).tolist())
    rounds = [x[0] ** L for x in feedback.iterate_rft(T, L, start, FEEDBACK_ROUNDS)]
    with one_thread():
        rl = rl_steps(T, L, z0)[:FEEDBACK_ROUNDS + 1]
    q_star = feedback.rft_fixed_point(T, L)["q"].subs({toy_theory.q: sp.Float(start[0], 30),
                                                        toy_theory.p_dC: sp.Float(start[1], 30),
                                                        toy_theory.p_dW: sp.Float(start[2], 30)})
    return dict(rounds=np.array(rounds), rl=np.array(rl), fixed=float(q_star) ** L)


@styled
def feedback_rounds() -> plt.Figure:
    from ..claims.training import PS_TARGETS

    d = _feedback()
    fig, ax = plt.subplots(figsize=SIZE)
    x = np.arange(FEEDBACK_ROUNDS + 1)
    ax.plot(x, d["rounds"], "-", color="C0", gid="rft", label="iterated RFT: refit on fresh successes, per round")
    ax.plot(x[:len(d["rl"])], d["rl"], "-", color="C3", gid="rl", label="RL: exact gradient step (lr 1), per step")
    ax.axhline(d["fixed"], color="C0", ls="--", lw=1, gid="fixed point",
               label=f"offline RFT fixed point (echo chamber): p_s = {dec(d['fixed'], 4).text()}")
    for t in PS_TARGETS:
        ax.axhline(t, color="0.8", lw=0.6, zorder=0)
        a = int(np.argmax(d["rounds"] >= t))
        b = int(np.argmax(d["rl"] >= t))
        ax.annotate(f"{t}: RFT {a}, RL {b}", (FEEDBACK_ROUNDS, t), xytext=(-2, -8), textcoords="offset points",
                    ha="right", fontsize=6.5, color="0.3", gid=f"deciding|p_s {t}")
    ax.set_xscale("symlog", linthresh=1, linscale=0.4)
    ax.set_xlim(0, FEEDBACK_ROUNDS)
    ax.set_ylim(0, 1)
    ax.set_xlabel("RFT rounds / RL steps")
    ax.set_ylabel("first-attempt accuracy p_s")
    ax.set_title("SFT on the model's own successes vs RL, from §4.2's far-OOD start (toy, T = 3, L = 4)")
    legend(ax, loc="center right", bbox_to_anchor=(1, 0.35))
    fig.tight_layout()
    return fig


# =============================================================================================== length weighting
LW_KEYS = ("theta_s restrained most", "theta_dW left short")
SFT_ROWS = (("sft-correct", "without reflection", "SFT, no reflection"),
            ("sft-reflect", "half reflective", "SFT, half reflective"))


@functools.lru_cache(maxsize=None)
def length_weighting_counts() -> dict:
    """Per protocol of claims.training.PROTOCOLS, (k, n) of the settings where theta_s is restrained more than both
    decision logits and where theta_dW is left short of the surrogate's movement; per SFT row, where theta_dW is left
    short (recomputed with the claim module's public functions: length_weighting_map, sft_runs, and
    numerics.toy_training.kept_fraction)."""
    from numerics import toy_training

    from ..claims.training import PROTOCOLS, length_weighting_map, sft_runs

    out = {}
    for protocol in PROTOCOLS:
        runs = length_weighting_map(protocol)
        kept = np.concatenate([toy_training.kept_fraction(r["kl"], r["rl"], r["z0"]) for r in runs.values()])
        gap = kept[:, 0] - np.minimum(kept[:, 1], kept[:, 2])
        out[protocol] = {LW_KEYS[0]: (int((gap < 0).sum()), len(kept)),
                         LW_KEYS[1]: (int((kept[:, 2] < 1).sum()), len(kept))}
    sft = sft_runs()
    for name, _, label in SFT_ROWS:
        k = np.concatenate([toy_training.kept_fraction(r[name], r["rl"], r["z0"])[:, 2] for r in sft.values()])
        out[label] = {LW_KEYS[1]: (int((k < 1).sum()), len(k))}
    return out


def length_weighting_counts_from(entries) -> dict:
    """The same counts read from ledger entries (the abstract-length-weighting claim's protocol rows and its SFT
    statement's outcomes)."""
    from ..claims.training import PROTOCOLS

    e = next(x for x in entries if x.id == "abstract-length-weighting")
    out = {p: {k: tuple(e.row(f"protocol-{p}").values[k].value) for k in LW_KEYS} for p in PROTOCOLS}
    st = e.statement("abstract-length-weighting/sft-pi_d")
    for _, key, label in SFT_ROWS:
        outs = [o for o in st.outcomes if o.setting["demonstrations"] == key]
        out[label] = {LW_KEYS[1]: (sum(o.settings for o in outs if o.setting["settings"] == "where it holds"),
                                   sum(o.settings for o in outs))}
    return out


@styled
def length_weighting(counts: dict | None = None) -> plt.Figure:
    counts = length_weighting_counts() if counts is None else counts
    rows = list(counts)
    fig, ax = plt.subplots(figsize=SIZE)
    y = np.arange(len(rows))[::-1].astype(float)
    h = 0.38
    for j, (key, c) in enumerate(zip(LW_KEYS, ("C0", "C3"))):
        for yi, r in zip(y, rows):
            if key not in counts[r]:
                continue
            k, n = counts[r][key]
            ax.barh(yi + (h / 2 if j == 0 else -h / 2), k / n, height=h, color=c, gid=f"{key}|{r}",
                    label=key if yi == y[0] or (j == 1 and r == rows[-1] and key not in counts[rows[0]]) else None)
            ax.text(k / n + 0.01, yi + (h / 2 if j == 0 else -h / 2), f"{k}/{n}", va="center", fontsize=6.5,
                    gid=f"deciding|{key}|{r}")
    ax.axvline(1.0, color="k", ls="--", lw=0.8, label="every setting (the abstract's words)")
    ax.axhline(y[len(rows) - len(SFT_ROWS)] + 0.5, color="0.6", lw=0.6)
    ax.set_yticks(y, [("KL: " + r) if i < len(rows) - len(SFT_ROWS) else r for i, r in enumerate(rows)], fontsize=6.5)
    ax.set_xlim(0, 1.8)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_xlabel("fraction of settings (KL: 216 per protocol; SFT: 108)")
    ax.set_title("Where the KL restrains theta_s most, and where theta_dW is left short")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig
