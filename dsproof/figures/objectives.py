"""Figures of the claims about the objectives (dsproof.claims.objectives): Theorem 3.1 (the surrogate's credit, its
gradient norms, token-level clipping), Theorem 3.2 (the KL in the reward and as a per-token loss), and
Definition 3.1 / Appendix D (every objective's ratio relative to the surrogate)."""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from theory import asymptotics
from theory.closed_form import OBJECTIVES, objective_gradients

from .. import scaling
from ..model import sig
from .curves import curve, frozen, grid, immediate, point
from .style import COLOR, SCALING_COLOR, SIZE, legend, one_thread, outside, regime, styled


def _leading(coeff: float, power: int, log_power: int, Ls) -> np.ndarray:
    x = np.asarray(Ls, dtype=float)
    return coeff * x ** power * np.log(x) ** log_power


def _shape(coeff: float, power: int, log_power: int) -> str:
    """A leading order C L^a (log L)^c as printed, C at the ledger's four significant digits."""
    c = sig(coeff, 4).text()
    if (power, log_power) == (0, 0):
        return f"-> {c}"
    return f"~ {c} " + " ".join(([("L" if power == 1 else f"L^{power}")] if power else [])
                                + ([("log L" if log_power == 1 else f"(log L)^{log_power}")] if log_power else []))


# =============================================================================================== Theorem 3.1
@styled
def discount_credit() -> plt.Figure:
    from theory.surrogate import discounted_q_ratio

    Ls = grid(4, extra=(512,))
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot(Ls, np.ones(len(Ls)), "k-", lw=1.2, gid="gamma=1", label="gamma = 1 (GRPO): Q_d = Q_sample")
    for g, c in ((0.99, "C3"), (0.999, "C1")):
        ax.plot(Ls, [discounted_q_ratio(int(n), g) for n in Ls], "-", color=c, gid=f"gamma={g}",
                label=f"gamma = {g}: gamma^(-L)")
    v = discounted_q_ratio(512, 0.99)
    ax.plot([512], [v], "o", color="C3", ms=4)
    ax.annotate(f"L_k = 512, gamma = 0.99: Q_d / Q_sample = {sig(v, 4).text()}", (512, v), xytext=(0.03, 0.62),
                textcoords="axes fraction", fontsize=7, arrowprops=dict(arrowstyle="->", lw=0.6),
                gid="deciding|Q_d / Q_sample")
    regime(ax)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens in attempt k, L_k")
    ax.set_ylim(0.5, 1e12)
    ax.set_ylabel("Q_d(s_k) / Q_sample(attempt k)")
    ax.set_title("Theorem 3.1's two Q's with a per-token discount: equal only at gamma = 1")
    legend(ax, loc="upper left")
    fig.tight_layout()
    return fig


@styled
def surrogate_norms() -> plt.Figure:
    table = scaling.table()
    Ls = grid(5)
    fig, ax = plt.subplots(figsize=SIZE)
    style = {"fixed-logits": "-", "fixed-p_s": "-", "fixed-p_s-ref": (0, (3, 3))}
    for name in asymptotics.SCALINGS:
        row = table[("surrogate", name)]
        lead = scaling.leading_figures(row)
        shape = row.leading()
        label = f"{name}: {shape} ({lead['growth'].text()})"
        if name == "fixed-p_s-ref":
            label += "; = fixed-p_s (no reference in the surrogate)"
        ax.plot(Ls, curve("surrogate", name, tuple(Ls)), ls=style[name], color=SCALING_COLOR[name], label=label,
                gid=f"exact|{name}", lw=1.4 if name != "fixed-p_s" else 3, alpha=1 if name != "fixed-p_s" else 0.5)
        a = row.asymptotics
        big = Ls[Ls >= 10]
        ax.plot(big, _leading(float(a.coeff), int(a.power), int(a.log_power), big), ":", color="k", lw=1,
                gid=f"leading|{name}", label="derived leading order" if name == "fixed-logits" else None)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--", label="equal norms (1)")
    regime(ax)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens per attempt L")
    ax.set_ylabel("surrogate |g_s| / ||g_d||")
    ax.set_title("The surrogate's gradient norms: equal coefficients, not equal norms (T = 2, closed form)")
    legend(ax, loc="upper left")
    fig.tight_layout()
    return fig


@functools.lru_cache(maxsize=None)
def _clipping() -> tuple:
    from ..claims.objectives import clipping_map

    with one_thread():
        return tuple(clipping_map())


@styled
def clipping_map() -> plt.Figure:
    from ..claims.objectives import CLIP_STEP_SCALES

    draws = np.array(_clipping())
    fig, (ax, bx) = plt.subplots(1, 2, figsize=SIZE, gridspec_kw=dict(width_ratios=(1.15, 1)))
    top = float(draws[:, 1:].max()) * 1.03
    ax.plot([0, top], [0, top], "k-", lw=1, gid="threshold", label="equal fractions (the threshold)")
    for i, s in enumerate(CLIP_STEP_SCALES):
        d = draws[draws[:, 0] == s]
        ax.scatter(d[:, 1], d[:, 2], s=12, color=f"C{i}", alpha=0.7, gid=f"draws|{s}",
                   label=f"step scale s = {s} ({len(d)} draws)")
    ax.set_xlabel("fraction of the sampling gradient kept")
    ax.set_ylabel("fraction of the decision gradient kept")
    ax.set_title("Token-level clipping, per off-policy draw")
    ax.set_aspect("auto")
    legend(ax, loc="upper left")
    differ = np.abs(draws[:, 2] - draws[:, 1]) > 1e-9
    x = np.arange(len(CLIP_STEP_SCALES))
    dless = [int(np.sum(differ & (draws[:, 0] == s) & (draws[:, 2] < draws[:, 1]))) for s in CLIP_STEP_SCALES]
    sless = [int(np.sum(differ & (draws[:, 0] == s) & (draws[:, 1] < draws[:, 2]))) for s in CLIP_STEP_SCALES]
    tot = [int(np.sum(draws[:, 0] == s)) for s in CLIP_STEP_SCALES]
    bx.bar(x, dless, color="C3", label=f"decision keeps less ({sum(dless)}/{len(draws)})", gid="decision keeps less")
    bx.bar(x, sless, bottom=dless, color="C0", label=f"sampling keeps less ({sum(sless)}/{len(draws)})",
           gid="sampling keeps less")
    for xi, a, b, n in zip(x, dless, sless, tot):
        bx.text(xi, a + b + 0.5, f"{a + b}/{n}", ha="center", fontsize=7, gid="deciding|differ")
    bx.set_xticks(x, [f"s = {s}" for s in CLIP_STEP_SCALES])
    bx.set_ylabel("draws where the fractions differ")
    bx.set_ylim(0, max(tot) * 1.05)
    bx.set_title(f"Fractions differ in {int(differ.sum())}/{len(draws)} draws", gid="deciding|draws where the "
                 "fractions differ")
    legend(bx, loc="upper left")
    fig.tight_layout()
    return fig


# =============================================================================================== Theorem 3.2
@styled
def kl_reward_ratio() -> plt.Figure:
    from ..claims.objectives import COMPARABLE_KL

    table = scaling.table()
    Ls = tuple(grid(5))
    order = [s for s in asymptotics.SCALINGS if s in COMPARABLE_KL] + \
            [s for s in asymptotics.SCALINGS if s not in COMPARABLE_KL]
    fig, axes = plt.subplots(1, len(order), figsize=SIZE, sharey=True, squeeze=False)
    for ax, name in zip(axes[0], order):
        inside = name in COMPARABLE_KL
        ax.plot(Ls, immediate(name, Ls), ":", color="C2", lw=1.6, gid=f"immediate|{name}",
                label="immediate d^s / d^d")
        ax.plot(Ls, curve("surrogate", name, Ls), "--", color="k", lw=1, gid=f"control|surrogate|{name}",
                label="surrogate (the control)")
        ax.plot(Ls, curve("kl-k1-reward", name, Ls), "-", color="C3", gid=f"k1|{name}", label="k1 in the reward")
        limit = float(table[("kl-k1-reward", name)].asymptotics.coeff)
        ax.axhline(limit, color="C3", lw=0.6, alpha=0.7, gid=f"limit|{name}")
        ax.annotate(f"limit {sig(limit, 4).text()}", (1.5, limit), xytext=(0, 3), textcoords="offset points",
                    fontsize=7, color="C3", gid=f"deciding|coefficient|{name}",
                    bbox=dict(fc="w", ec="none", alpha=0.8, pad=0.5))
        regime(ax, label=name == order[0])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("tokens per attempt L")
        if inside:
            ax.set_title(name)
        else:
            outside(ax, f"{name} (outside: KL ~ 1/L)")
        legend(ax, loc="upper left")
    axes[0][0].set_ylabel("|g_s| / ||g_d||  (KL: ||dKL/dtheta||)")
    fig.tight_layout(w_pad=0.4)
    return fig


def _k3_level_point(level: str) -> dict:
    """The reference point with the reference's per-token accuracy q_ref = exp(-kappa) for the per-token KL level
    kappa (the first level is the reference point itself), as dsproof.scaling.kl_level_rows sets it."""
    from theory.toy import q_ref

    values = dict(point())
    if level != scaling.KL_LEVELS[0]:
        values[q_ref] = sp.exp(-sp.Rational(level))
    return values


@functools.lru_cache(maxsize=None)
def _k3_level_curve(level: str, lengths: tuple) -> np.ndarray:
    grads = objective_gradients(2)
    values = _k3_level_point(level)
    num = asymptotics.ratio_along(grads["kl-k3-loss"], "fixed-p_s-ref", values)
    den = asymptotics.ratio_along(grads["surrogate"], "fixed-p_s-ref", values)
    return frozen([num(n) / den(n) for n in lengths])


@styled
def k3_loss_ratio() -> plt.Figure:
    table = scaling.table()
    levels = scaling.kl_level_rows("kl-k3-loss")
    Ls = tuple(grid(5))
    big = np.asarray([n for n in Ls if n >= 10])
    fig, (ax, bx) = plt.subplots(1, 2, figsize=SIZE, sharey=True)
    kl_text = {"fixed-logits": "KL/token constant", "fixed-p_s": "KL/token ~ 1/L",
               "fixed-p_s-ref": f"KL/token -> {scaling.KL_LEVELS[0]}"}
    for name in asymptotics.SCALINGS:
        row = table[("kl-k3-loss", name)]
        rel = curve("kl-k3-loss", name, Ls) / curve("surrogate", name, Ls)
        shape = _shape(row.relative_coeff, row.relative_power, row.relative_log_power)
        ax.plot(Ls, rel, "-", color=SCALING_COLOR[name], gid=f"relative|{name}",
                label=f"{name}, {kl_text[name]}: {shape}")
        ax.plot(big, _leading(row.relative_coeff, row.relative_power, row.relative_log_power, big), ":", color="k",
                lw=0.8, gid=f"leading|{name}")
    for i, level in enumerate(scaling.KL_LEVELS):
        r = levels[level]
        bx.plot(Ls, _k3_level_curve(level, Ls), "-", color=plt.cm.viridis(i / len(scaling.KL_LEVELS)),
                gid=f"level|{level}", label=f"KL/token -> {level}: {_shape(r['coeff'], r['power'], r['log_power'])}")
        bx.plot(big, _leading(r["coeff"], r["power"], r["log_power"], big), ":", color="k", lw=0.8,
                gid=f"leading|level|{level}")
    for a in (ax, bx):
        a.axhline(1.0, color="k", lw=1.2, ls="--", gid="control|surrogate", label="surrogate = 1 (the control)")
        regime(a, label=a is ax)
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("tokens per attempt L")
        legend(a, loc="upper left")
    ax.set_title("k3 loss / surrogate, per scaling")
    bx.set_title("fixed-p_s-ref, per-token KL levels")
    ax.set_ylabel("(k3 ratio) / (surrogate ratio)")
    fig.tight_layout(w_pad=0.4)
    return fig


# =============================================================================================== Definition 3.1
@styled
def ratio_vs_length(lengths=None) -> plt.Figure:
    """Definition 3.1 measured against its control: the exact sampling:decision ratio of every objective divided
    by the surrogate's in the same model, scaled the same way, at the same L (closed form, T = 2), one panel per way
    of scaling the model with L, each derived leading order dotted.  The shaded band is the regime of real attempts
    (10^2 - 10^4 tokens)."""
    Ls = grid(5) if lengths is None else np.asarray(lengths)
    key = tuple(int(n) for n in Ls)
    table = scaling.table()
    names = list(asymptotics.SCALINGS)  # read at call time (a test draws one panel)
    fig, axes = plt.subplots(1, len(names), figsize=SIZE, squeeze=False)
    for ax, name in zip(axes[0], names):
        sur = curve("surrogate", name, key)
        ax.plot(Ls, sur / sur, "-", color=COLOR["surrogate"], lw=1.2, gid="control|surrogate",
                label="surrogate = 1 (control)")
        for obj in OBJECTIVES:
            if obj == "surrogate":
                continue
            row = table[(obj, name)]
            ax.plot(Ls, curve(obj, name, key) / sur, "-", color=COLOR[obj], label=f"{obj} {row.relative()}",
                    gid=f"relative|{obj}")
            if not row.asymptotics.exponentially_small:
                big = Ls[Ls >= 10]
                ax.plot(big, _leading(row.relative_coeff, row.relative_power, row.relative_log_power, big), ":",
                        color=COLOR[obj], lw=1, gid=f"leading|{obj}")
        regime(ax, label=False)
        ax.set_xscale("log")
        ax.set_yscale("log", nonpositive="mask")
        ax.set_xlabel("tokens per attempt L")
        ax.set_title(name)
        legend(ax, loc="best", ncol=1, fontsize=5.5)
    axes[0][0].set_ylabel("ratio / surrogate's ratio")
    fig.tight_layout(w_pad=0.3)
    return fig
