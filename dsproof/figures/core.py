"""Figures of the two-stage model itself (dsproof.claims.core): the cross-terms of the stage gradients, the §4.2
calibration formula, and the Appendix C toy model (Figure 1 and its map over settings)."""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np

from numerics.figure1 import READINGS, SWEEP_WS, SWEEP_Z0S, Figure1Run, holds_throughout, kl_ratio_range, sweep, \
    train_toy
from theory import calibration as calibration_theory

from ..model import dec, signed
from .style import SIZE, legend, one_thread, styled

FIG1_SETTINGS = dict(T=4, w=0.05, steps=300, ref_every=50)


# =============================================================================================== cross-terms
@functools.lru_cache(maxsize=None)
def cross_term_cosines() -> tuple[float, ...]:
    """The cosines of the ledger's cross-terms 'cosines' row: seed RNG_SEED, drawn in dsproof.claims.core's order (one
    shared parameterisation for its shared-sum checks, then per draw a parameterisation U ~ N(0,1)^(3x4), theta ~
    N(0, 0.25) and, in turn, a Hessian point), T = 3, L = 2, exact expected stage gradients of J."""
    from numerics import crosscheck

    from ..claims.common import RNG_SEED
    from ..claims.core import CROSS_DRAWS

    rng = np.random.default_rng(RNG_SEED)
    rng.normal(size=(3, 4))  # the shared-sum and shared-symbolic checks' parameterisation (U, theta)
    rng.normal(size=4)
    out = []
    with one_thread():
        for _ in range(CROSS_DRAWS):
            U, theta = rng.normal(size=(3, 4)), rng.normal(size=4) * 0.5
            g = crosscheck.shared_stage_gradients(3, (2, 2, 2), U, theta)
            out.append(float(g["sampling"] @ g["decision"] / (g["sampling"].norm() * g["decision"].norm())))
            rng.uniform(-2, 2, size=3)  # the mixed-derivative point the claim draws in turn
    return tuple(out)


@styled
def cross_terms() -> plt.Figure:
    cos = np.array(cross_term_cosines())
    lo, med, hi = np.percentile(cos, [5, 50, 95])
    smallest = np.min(np.abs(cos))
    fig, ax = plt.subplots(figsize=SIZE)
    ax.hist(cos, bins=np.linspace(-1, 1, 21), color="C0", alpha=0.35, edgecolor="C0", label=f"{len(cos)} draws")
    ax.plot(cos, np.full_like(cos, -0.35), "|", color="C0", ms=12, mew=1.2, gid="cosines",
            label="each draw (shared theta)")
    ax.axvline(0.0, color="k", lw=1.5, gid="threshold", label="0: no cross-term (threshold; disjoint parameters)")
    for v, name in ((lo, "5%"), (hi, "95%")):
        ax.axvline(v, color="C3", ls="--", lw=1, gid=f"cos {name}")
        ax.annotate(f"{name}: {dec(v, 2).text()}", (v, 0.62), xycoords=("data", "axes fraction"), ha="center",
                    fontsize=7, color="C3", bbox=dict(fc="w", ec="none", pad=1), gid=f"deciding|cos {name}")
    ax.annotate(f"median {dec(med, 2).text()}; smallest |cos| {dec(smallest, 3).text()}: nonzero at every draw",
                (0.98, 0.93), xycoords="axes fraction", ha="right", va="top", fontsize=7,
                gid="deciding|smallest |cos|", bbox=dict(fc="w", ec="0.7", pad=2))
    ax.set_xlim(-1.05, 1.05)
    counts, _ = np.histogram(cos, bins=np.linspace(-1, 1, 21))
    ax.set_ylim(-0.8, counts.max() * 1.7)
    ax.set_xlabel("cos(g_sampling, g_decision), one theta shared by both stages")
    ax.set_ylabel("draws")
    ax.set_title("Cross-term of the stage gradients (toy model T=3, L=2, random shared parameterisations)")
    legend(ax, loc="upper left")
    fig.tight_layout()
    return fig


# =============================================================================================== calibration
@styled
def calibration(ps: float = 0.2, pdC: float = 0.95) -> plt.Figure:
    """§4.2: predicted accuracy as a function of p_dW, unlimited retries vs a budget of T attempts."""
    x = np.linspace(0.0, 0.95, 96)
    fig, ax = plt.subplots(figsize=SIZE)
    ax.axvspan(0.4, 0.6, color="0.92", lw=0, zorder=0, label="RL far out of distribution (§4: p_dW 40-60%)")
    f_inf = calibration_theory.predicted_accuracy_numeric(None)
    ax.plot(x, f_inf(ps, pdC, x), "k-", lw=2, label="§4.2 formula (T -> oo)")
    for i, T in enumerate((1, 2, 4, 8)):
        ax.plot(x, calibration_theory.predicted_accuracy_numeric(T)(ps, pdC, x) * np.ones_like(x), "--",
                color=f"C{i}", label=f"budget T = {T}")
    i = int(np.argmin(np.abs(x - 0.5)))
    gap = f_inf(ps, pdC, 0.5) - calibration_theory.predicted_accuracy_numeric(2)(ps, pdC, 0.5)
    ax.annotate(f"T = 2 at p_dW = 0.5: the formula over-predicts by {signed(gap, 3).text()}",
                (x[i], f_inf(ps, pdC, 0.5)),
                xytext=(0.03, 0.55), textcoords="axes fraction", fontsize=7, arrowprops=dict(arrowstyle="->", lw=0.6),
                gid="deciding|T=2")
    ax.set_xlabel("p_dW  (RESAMPLE when wrong)")
    ax.set_ylabel("predicted accuracy")
    ax.set_title(f"§4.2 calibration at p_s = {ps}, p_dC = {pdC}: unlimited retries against a budget of T attempts")
    legend(ax, loc="upper left")
    fig.tight_layout()
    return fig


# =============================================================================================== Appendix C
@styled
def figure1(lengths=(1, 8)) -> plt.Figure:
    """Appendix C / Figure 1 reproduced: sampling:decision gradient ratio over training, for the reward term
    (what the surrogate credits) and the KL term (k1 sequence KL), reference reset every ``ref_every`` steps."""
    fig, axes = plt.subplots(1, len(lengths), figsize=SIZE, squeeze=False, sharey=True)
    for ax, L in zip(axes[0], lengths):
        r = train_toy(lengths=L, **FIG1_SETTINGS)
        keep = r.steps % r.settings["ref_every"] != 0  # the KL gradient is exactly 0 at a reset
        ax.plot(r.steps, Figure1Run.ratio(r.reward_grad), label="surrogate (reward term): the control", color="C0",
                lw=1, gid=f"control|surrogate|L={L}")
        kl = np.where(keep, Figure1Run.ratio(r.kl_grad), np.nan)
        ax.plot(r.steps, kl, label="KL penalty (k1)", color="C3", gid=f"kl|L={L}")
        ax.axhline(2.0, ls="--", color="grey", lw=1, label="the paper's 2:1")
        ax.axhline(1.0, ls=":", color="grey", lw=1)
        if L == 1:
            lo, hi = kl_ratio_range(r)
            ax.annotate(f"KL ratio: min {dec(lo).text()}, max {dec(hi).text()}: below 2:1 for part of training",
                        (0.02, 0.04), xycoords="axes fraction", fontsize=7, gid="deciding|KL min max",
                        bbox=dict(fc="w", ec="0.7", pad=2))
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_title(f"L = {L} token{'s' if L > 1 else ''} per attempt" + ("" if L == 1 else " (outside App. C)"))
        legend(ax, loc="upper right")
    axes[0][0].set_ylabel("|g_s| / ||g_d||")
    fig.tight_layout()
    return fig


@functools.lru_cache(maxsize=None)
def _sweep(lengths: int) -> list[dict]:
    return sweep(lengths=lengths)


@styled
def appendix_c_map(lengths: int = 1) -> plt.Figure:
    """Where 'the KL ratio exceeds 2:1 throughout training' holds, per reading of the ratio, and where its control
    (the KL ratio over the surrogate's at the same step) does: the fraction of the swept settings (theta_dC0,
    theta_dW0, reference period) that hold, by initial theta_s and KL weight w."""
    rows = _sweep(lengths)
    readings = list(READINGS)
    z_s = sorted({z[0] for z in SWEEP_Z0S})
    fig, axes = plt.subplots(2, len(readings), figsize=(SIZE[0], 4.6), sharex=True, sharey=True, squeeze=False)
    for k, (term, what) in enumerate((("kl", "KL ratio > 2:1"), ("relative", "control:\nKL / surrogate > 2:1"))):
        for ax, reading in zip(axes[k], readings):
            frac = np.array([[np.mean([holds_throughout(r, reading, term=term) for r in rows
                                       if r["z0"][0] == zs and r["w"] == w]) for w in SWEEP_WS] for zs in z_s])
            n = sum(holds_throughout(r, reading, term=term) for r in rows)
            im = ax.imshow(frac, vmin=0, vmax=1, cmap="RdYlGn", origin="lower", aspect="auto")
            im.set_gid(("control|" if term == "relative" else "kl|") + reading)
            for (i, j), v in np.ndenumerate(frac):
                ax.text(j, i, f"{v:.2f}".lstrip("0") if v < 1 else "1", ha="center", va="center", fontsize=5.5)
            ax.set_xticks(range(len(SWEEP_WS)), [str(w) for w in SWEEP_WS], fontsize=6)
            ax.set_yticks(range(len(z_s)), [f"{x:g}" for x in z_s], fontsize=6)
            ax.set_title((f"{reading}\n" if k == 0 else "") + f"{n}/{len(rows)} settings", fontsize=7,
                         gid=f"deciding|{term}|{reading}")
        axes[k][0].set_ylabel(f"{what}\ninitial theta_s", fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("KL weight w", fontsize=7)
    fig.subplots_adjust(left=0.13, right=0.87, bottom=0.1, top=0.9, wspace=0.08, hspace=0.3)
    fig.colorbar(im, ax=axes, shrink=0.8, label="fraction of settings, > 2:1 throughout")
    return fig
