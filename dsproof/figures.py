"""The report's figures: one deciding plot per claim (matplotlib).

Each figure computes its data with theory/ and numerics/ through the same public functions the claims use (so
what it draws is the ledger's figures, not a second derivation), marks the claim's deciding numbers at the
ledger's precision, draws the control the verdicts use where there is one, and returns a matplotlib Figure.
:data:`FIGURES` lists them in the ledger's claim order (paper order by part) with their ids, the claims whose card
shows each and a caption in words; :func:`figures_of` gives a claim's figures and :func:`save_all` writes PNGs.
The notebooks call :func:`figure1`, :func:`appendix_c_map`, :func:`ratio_vs_length` and :func:`calibration`.

Every artist that carries a number the tests read back has a gid: 'control...' for the control (a caption must
name it), otherwise the quantity and its setting (e.g. 'k1|fixed-logits').  tests/test_figures_plots.py compares
the plotted data with reports/ledger.json at the ledger's precision.
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt  # no backend forced: Agg without a display, inline in a notebook kernel
import numpy as np
import sympy as sp

from numerics.figure1 import READINGS, SWEEP_WS, SWEEP_Z0S, Figure1Run, holds_throughout, kl_ratio_range, sweep, \
    train_toy
from theory import asymptotics
from theory import calibration as calibration_theory
from theory.closed_form import L as L_SYMBOL
from theory.closed_form import OBJECTIVES, objective_gradients

from . import scaling
from .model import dec, pct, sig, signed

FIG1_SETTINGS = dict(T=4, w=0.05, steps=300, ref_every=50)
#: a card's figure: inches and the dpi save_all writes at
SIZE = (7.0, 3.2)
DPI = 90
#: the regime of real attempts (tokens), shaded wherever L is an axis
REGIME = (1e2, 1e4)
STYLE = {"font.size": 8, "axes.titlesize": 8.5, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
         "legend.fontsize": 6.5, "legend.framealpha": 0.85, "legend.borderaxespad": 0.3, "legend.handlelength": 1.8,
         "lines.linewidth": 1.4, "axes.titlepad": 4}
COLOR = {"surrogate": "k", "kl-k1-reward": "C3", "kl-k2-loss": "C1", "kl-k3-loss": "C4", "sft": "C0", "dft": "C2"}
SCALING_COLOR = {"fixed-logits": "C0", "fixed-p_s": "C1", "fixed-p_s-ref": "C2"}
OUTSIDE = "0.95"  # the face of a panel outside the stated setting


def _styled(fn):
    """Draw ``fn``'s figure under STYLE (fonts are fixed when an artist is made, so the whole call is wrapped)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with plt.rc_context(STYLE):
            return fn(*args, **kwargs)

    return wrapped


@contextlib.contextmanager
def _one_thread():
    """torch on one thread: the toy model's tensors are tiny, and intra-op threads on a shared 2-core machine make
    the enumerations 10x slower."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _regime(ax, label: bool = True):
    ax.axvspan(*REGIME, color="0.9", zorder=0, lw=0, label="real attempts (L = 10^2..10^4)" if label else None)


def _grid(decades: int = 5, per_decade: int = 6, extra=()) -> np.ndarray:
    """Integer lengths 1..10^decades, log-spaced, with scaling.LENGTHS (where the ledger prints) and ``extra``."""
    Ls = np.round(np.logspace(0, decades, decades * per_decade + 1)).astype(int)
    keep = [n for n in scaling.LENGTHS + tuple(extra) if n <= 10 ** decades]
    return np.unique(np.concatenate([Ls, np.asarray(keep, dtype=int)]))


def _legend(ax, **kw):
    ax.legend(**({"loc": "best"} | kw))


def _outside(ax, title: str):
    ax.set_facecolor(OUTSIDE)
    ax.set_title(title, color="0.4")


# ------------------------------------------------------------------------------ the closed forms, evaluated once
@functools.lru_cache(maxsize=None)
def _point(T: int = 2) -> dict:
    """The ledger's reference point (dsproof.scaling: policy logits and reference) with budget T."""
    return asymptotics.setting(scaling.POLICY_LOGITS, scaling.REF_LOGITS, T)


@functools.lru_cache(maxsize=None)
def _exact(objective: str, scaling_name: str):
    """L -> the exact ratio of ``objective`` along a scaling at the reference point (T = 2): the function the scaling
    table's exact figures come from (theory.asymptotics.ratio_along, 30 digits)."""
    return asymptotics.ratio_along(objective_gradients(2)[objective], scaling_name, _point())


@functools.lru_cache(maxsize=None)
def _curve(objective: str, scaling_name: str, lengths: tuple) -> np.ndarray:
    f = _exact(objective, scaling_name)
    return _frozen([f(n) for n in lengths])


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


def _frozen(a) -> np.ndarray:
    """A cached curve, read-only (a caller cannot change what the next figure draws)."""
    a = np.asarray(a, dtype=float)
    a.flags.writeable = False
    return a


# =============================================================================================== cross-terms
@functools.lru_cache(maxsize=None)
def cross_term_cosines() -> tuple[float, ...]:
    """The cosines of the ledger's cross-terms 'cosines' row: seed RNG_SEED, drawn in dsproof.claims.core's order (one
    shared parameterisation for its shared-sum checks, then per draw a parameterisation U ~ N(0,1)^(3x4), theta ~
    N(0, 0.25) and, in turn, a Hessian point), T = 3, L = 2, exact expected stage gradients of J."""
    from numerics import crosscheck

    from .claims.common import RNG_SEED
    from .claims.core import CROSS_DRAWS

    rng = np.random.default_rng(RNG_SEED)
    rng.normal(size=(3, 4))  # the shared-sum and shared-symbolic checks' parameterisation (U, theta)
    rng.normal(size=4)
    out = []
    with _one_thread():
        for _ in range(CROSS_DRAWS):
            U, theta = rng.normal(size=(3, 4)), rng.normal(size=4) * 0.5
            g = crosscheck.shared_stage_gradients(3, (2, 2, 2), U, theta)
            out.append(float(g["sampling"] @ g["decision"] / (g["sampling"].norm() * g["decision"].norm())))
            rng.uniform(-2, 2, size=3)  # the mixed-derivative point the claim draws in turn
    return tuple(out)


@_styled
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
    _legend(ax, loc="upper left")
    fig.tight_layout()
    return fig


# =============================================================================================== calibration
@_styled
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
    _legend(ax, loc="upper left")
    fig.tight_layout()
    return fig


# =============================================================================================== Appendix C
@_styled
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
        _legend(ax, loc="upper right")
    axes[0][0].set_ylabel("|g_s| / ||g_d||")
    fig.tight_layout()
    return fig


@functools.lru_cache(maxsize=None)
def _sweep(lengths: int) -> list[dict]:
    return sweep(lengths=lengths)


@_styled
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


# =============================================================================================== Theorem 3.1
@_styled
def discount_credit() -> plt.Figure:
    from theory.surrogate import discounted_q_ratio

    Ls = _grid(4, extra=(512,))
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
    _regime(ax)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens in attempt k, L_k")
    ax.set_ylim(0.5, 1e12)
    ax.set_ylabel("Q_d(s_k) / Q_sample(attempt k)")
    ax.set_title("Theorem 3.1's two Q's with a per-token discount: equal only at gamma = 1")
    _legend(ax, loc="upper left")
    fig.tight_layout()
    return fig


@_styled
def surrogate_norms() -> plt.Figure:
    table = scaling.table()
    Ls = _grid(5)
    fig, ax = plt.subplots(figsize=SIZE)
    style = {"fixed-logits": "-", "fixed-p_s": "-", "fixed-p_s-ref": (0, (3, 3))}
    for name in asymptotics.SCALINGS:
        row = table[("surrogate", name)]
        lead = scaling.leading_figures(row)
        shape = row.leading()
        label = f"{name}: {shape} ({lead['growth'].text()})"
        if name == "fixed-p_s-ref":
            label += "; = fixed-p_s (no reference in the surrogate)"
        ax.plot(Ls, _curve("surrogate", name, tuple(Ls)), ls=style[name], color=SCALING_COLOR[name], label=label,
                gid=f"exact|{name}", lw=1.4 if name != "fixed-p_s" else 3, alpha=1 if name != "fixed-p_s" else 0.5)
        a = row.asymptotics
        big = Ls[Ls >= 10]
        ax.plot(big, _leading(float(a.coeff), int(a.power), int(a.log_power), big), ":", color="k", lw=1,
                gid=f"leading|{name}", label="derived leading order" if name == "fixed-logits" else None)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--", label="equal norms (1)")
    _regime(ax)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens per attempt L")
    ax.set_ylabel("surrogate |g_s| / ||g_d||")
    ax.set_title("The surrogate's gradient norms: equal coefficients, not equal norms (T = 2, closed form)")
    _legend(ax, loc="upper left")
    fig.tight_layout()
    return fig


@functools.lru_cache(maxsize=None)
def _clipping() -> tuple:
    from .claims.objectives import clipping_map

    with _one_thread():
        return tuple(clipping_map())


@_styled
def clipping_map() -> plt.Figure:
    from .claims.objectives import CLIP_STEP_SCALES

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
    _legend(ax, loc="upper left")
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
    _legend(bx, loc="upper left")
    fig.tight_layout()
    return fig


# =============================================================================================== Theorem 3.2
@functools.lru_cache(maxsize=None)
def _first_stage(reward: str):
    """theory.values' expected first-stage Q's and immediate rewards (T = 2) in closed_form's L."""
    from theory import values

    return tuple(sp.sympify(e).subs(values.L, L_SYMBOL) for e in values.first_stage_expected_q(2, values.L, reward))


@functools.lru_cache(maxsize=None)
def _quotient(reward: str, num: int, den: int, scaling_name: str, lengths: tuple) -> np.ndarray:
    """first_stage_expected_q's entry ``num`` over entry ``den`` along a scaling (T = 2, the reference point), exact
    (theory.asymptotics.ratio_along of the pair (num, den, 0): |num| / |den|)."""
    e = _first_stage(reward)
    f = asymptotics.ratio_along((e[num], e[den], sp.Integer(0)), scaling_name, _point())
    return _frozen([f(n) for n in lengths])


def _immediate(scaling_name: str, lengths: tuple) -> np.ndarray:
    """Theorem 3.2's immediate penalties d^sample / d^decision = L kl_tok / E[kl_dec] (k1, first attempt and the
    decision after it)."""
    return _quotient("k1", 2, 3, scaling_name, lengths)


@_styled
def kl_reward_ratio() -> plt.Figure:
    from .claims.objectives import COMPARABLE_KL

    table = scaling.table()
    Ls = tuple(_grid(5))
    order = [s for s in asymptotics.SCALINGS if s in COMPARABLE_KL] + \
            [s for s in asymptotics.SCALINGS if s not in COMPARABLE_KL]
    fig, axes = plt.subplots(1, len(order), figsize=SIZE, sharey=True, squeeze=False)
    for ax, name in zip(axes[0], order):
        inside = name in COMPARABLE_KL
        ax.plot(Ls, _immediate(name, Ls), ":", color="C2", lw=1.6, gid=f"immediate|{name}",
                label="immediate d^s / d^d")
        ax.plot(Ls, _curve("surrogate", name, Ls), "--", color="k", lw=1, gid=f"control|surrogate|{name}",
                label="surrogate (the control)")
        ax.plot(Ls, _curve("kl-k1-reward", name, Ls), "-", color="C3", gid=f"k1|{name}", label="k1 in the reward")
        limit = float(table[("kl-k1-reward", name)].asymptotics.coeff)
        ax.axhline(limit, color="C3", lw=0.6, alpha=0.7, gid=f"limit|{name}")
        ax.annotate(f"limit {sig(limit, 4).text()}", (1.5, limit), xytext=(0, 3), textcoords="offset points",
                    fontsize=7, color="C3", gid=f"deciding|coefficient|{name}",
                    bbox=dict(fc="w", ec="none", alpha=0.8, pad=0.5))
        _regime(ax, label=name == order[0])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("tokens per attempt L")
        if inside:
            ax.set_title(name)
        else:
            _outside(ax, f"{name} (outside: KL ~ 1/L)")
        _legend(ax, loc="upper left")
    axes[0][0].set_ylabel("|g_s| / ||g_d||  (KL: ||dKL/dtheta||)")
    fig.tight_layout(w_pad=0.4)
    return fig


def _k3_level_point(level: str) -> dict:
    """The reference point with the reference's per-token accuracy q_ref = exp(-kappa) for the per-token KL level
    kappa (the first level is the reference point itself), as dsproof.scaling.kl_level_rows sets it."""
    from theory.toy import q_ref

    values = dict(_point())
    if level != scaling.KL_LEVELS[0]:
        values[q_ref] = sp.exp(-sp.Rational(level))
    return values


@functools.lru_cache(maxsize=None)
def _k3_level_curve(level: str, lengths: tuple) -> np.ndarray:
    grads = objective_gradients(2)
    values = _k3_level_point(level)
    num = asymptotics.ratio_along(grads["kl-k3-loss"], "fixed-p_s-ref", values)
    den = asymptotics.ratio_along(grads["surrogate"], "fixed-p_s-ref", values)
    return _frozen([num(n) / den(n) for n in lengths])


@_styled
def k3_loss_ratio() -> plt.Figure:
    table = scaling.table()
    levels = scaling.kl_level_rows("kl-k3-loss")
    Ls = tuple(_grid(5))
    big = np.asarray([n for n in Ls if n >= 10])
    fig, (ax, bx) = plt.subplots(1, 2, figsize=SIZE, sharey=True)
    kl_text = {"fixed-logits": "KL/token constant", "fixed-p_s": "KL/token ~ 1/L",
               "fixed-p_s-ref": f"KL/token -> {scaling.KL_LEVELS[0]}"}
    for name in asymptotics.SCALINGS:
        row = table[("kl-k3-loss", name)]
        rel = _curve("kl-k3-loss", name, Ls) / _curve("surrogate", name, Ls)
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
        _regime(a, label=a is ax)
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("tokens per attempt L")
        _legend(a, loc="upper left")
    ax.set_title("k3 loss / surrogate, per scaling")
    bx.set_title("fixed-p_s-ref, per-token KL levels")
    ax.set_ylabel("(k3 ratio) / (surrogate ratio)")
    fig.tight_layout(w_pad=0.4)
    return fig


# =============================================================================================== Definition 3.1
@_styled
def ratio_vs_length(lengths=None) -> plt.Figure:
    """Definition 3.1 measured against its control: the exact sampling:decision ratio of every objective divided
    by the surrogate's in the same model, scaled the same way, at the same L (closed form, T = 2), one panel per way
    of scaling the model with L, each derived leading order dotted.  The shaded band is the regime of real attempts
    (10^2 - 10^4 tokens)."""
    Ls = _grid(5) if lengths is None else np.asarray(lengths)
    key = tuple(int(n) for n in Ls)
    table = scaling.table()
    names = list(asymptotics.SCALINGS)  # read at call time (a test draws one panel)
    fig, axes = plt.subplots(1, len(names), figsize=SIZE, squeeze=False)
    for ax, name in zip(axes[0], names):
        sur = _curve("surrogate", name, key)
        ax.plot(Ls, sur / sur, "-", color=COLOR["surrogate"], lw=1.2, gid="control|surrogate",
                label="surrogate = 1 (control)")
        for obj in OBJECTIVES:
            if obj == "surrogate":
                continue
            row = table[(obj, name)]
            ax.plot(Ls, _curve(obj, name, key) / sur, "-", color=COLOR[obj], label=f"{obj} {row.relative()}",
                    gid=f"relative|{obj}")
            if not row.asymptotics.exponentially_small:
                big = Ls[Ls >= 10]
                ax.plot(big, _leading(row.relative_coeff, row.relative_power, row.relative_log_power, big), ":",
                        color=COLOR[obj], lw=1, gid=f"leading|{obj}")
        _regime(ax, label=False)
        ax.set_xscale("log")
        ax.set_yscale("log", nonpositive="mask")
        ax.set_xlabel("tokens per attempt L")
        ax.set_title(name)
        _legend(ax, loc="best", ncol=1, fontsize=5.5)
    axes[0][0].set_ylabel("ratio / surrogate's ratio")
    fig.tight_layout(w_pad=0.3)
    return fig


@_styled
def definition_readings() -> plt.Figure:
    from theory import values

    Ls = tuple(_grid(5))
    name = "fixed-logits"
    ks, kd = _first_stage("k1")[:2]
    limit = float(sp.limit(values.exponentials_as_symbols(ks / kd, 1).subs(values.P_L, 0), L_SYMBOL, sp.oo)
                  .subs(_point()))
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot(Ls, _quotient("terminal", 0, 1, name, Ls), "-", color="k", lw=2.2, alpha=0.6, gid="surrogate Q",
            label="surrogate, Q level: E[Q_sample] / E[Q_d] = 1 (balanced by construction)")
    ax.plot(Ls, _immediate(name, Ls), ":", color="C2", lw=1.6, gid="immediate",
            label="k1, immediate rewards: d^sample / d^decision (grows ~L: 'unbalanced')")
    ax.plot(Ls, _quotient("k1", 0, 1, name, Ls), "-", color="C3", gid="Q level",
            label="k1, Q level: E[Q_sample] / E[Q_d] (bounded: 'balanced')")
    ax.axhline(limit, color="C3", lw=0.6, alpha=0.7, gid="Q-level limit")
    ax.annotate(f"limit (1 + p_dW)/p_dW = {sig(limit, 3).text()}", (1.5, limit), xytext=(0, 3),
                textcoords="offset points", fontsize=7, color="C3", gid="deciding|Q-level limit",
                bbox=dict(fc="w", ec="none", alpha=0.8, pad=0.5))
    rel = _curve("kl-k1-reward", name, Ls) / _curve("surrogate", name, Ls)
    ax.plot(Ls, rel, "-.", color="C4", gid="control|relative",
            label="k1, gradient relative to the surrogate (the control): vanishes")
    _regime(ax)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens per attempt L")
    ax.set_ylabel("sampling : decision")
    ax.set_title("Definition 3.1's readings for k1 in the reward (fixed logits, T = 2): one penalty, three labels")
    _legend(ax, loc="upper left")
    fig.tight_layout()
    return fig


# =============================================================================================== gamma < 1
def discounted_gradient(reward: str, discount: str, gamma: str) -> list:
    """The discounted toy model's per-stage gradient (T = 2) at ``gamma``, in closed_form's L, with gamma^L kept:
    the gradient dsproof.scaling.discounted_row evaluates its exact ratio on (built from theory.values the same way;
    dsproof.scaling has no public function for it)."""
    from theory import values

    out = []
    for x in values.stage_gradients(2, values.L, values.gamma, reward, discount=discount):
        e = sp.expand(sp.powsimp(sp.expand(x, power_exp=True)), power_exp=True)
        out.append(e.subs(values.gamma, sp.Rational(gamma)).subs(values.L, L_SYMBOL))
    return out


@functools.lru_cache(maxsize=None)
def _discounted_curve(reward: str, discount: str, gamma: str, scaling_name: str, lengths: tuple) -> np.ndarray:
    f = asymptotics.ratio_along(discounted_gradient(reward, discount, gamma), scaling_name, _point())
    return _frozen([f(n) for n in lengths])


DISCOUNT_SCALINGS = ("fixed-logits", "fixed-p_s-ref")
#: the discount of panel (b): the ledger's other gamma (0.999) has the same shapes with the horizon 1/(1 - gamma) ten
#: times further out
PANEL_B_GAMMA = "0.99"


def _discount_grid() -> tuple:
    return tuple(_grid(6, per_decade=3, extra=(10 ** 6,)))


@_styled
def discounted() -> plt.Figure:
    Ls = _discount_grid()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=SIZE)
    for s, c in zip(DISCOUNT_SCALINGS, ("C0", "C2")):
        for g, ls in zip(scaling.DISCOUNT_GAMMAS, ("-", "--")):
            rel = _discounted_curve("terminal", "token", g, s, Ls) / _curve("surrogate", s, Ls)
            ax.plot(Ls, rel, ls, color=c, gid=f"surrogate|{s}|{g}", label=f"{s}, gamma = {g}")
    ax.axhline(1.0, color="k", lw=1.2, gid="control|gamma=1", label="gamma = 1 (the control)")
    ax.set_title("(a) surrogate at gamma / at gamma = 1")
    ax.set_ylabel("ratio relative to gamma = 1")
    g = PANEL_B_GAMMA
    for s, c in zip(DISCOUNT_SCALINGS, ("C3", "C4")):
        for discount, ls in (("token", "-"), ("stage", "--")):
            bx.plot(Ls, _discounted_curve("k1", discount, g, s, Ls), ls, color=c, gid=f"k1|{discount}|{s}",
                    label=f"per {discount}, {s}")
    bx.set_title(f"(b) k1 in the reward, gamma = {g}")
    bx.set_ylabel("||dKL/dtheta_s|| / ||dKL/dtheta_d||")
    for a in (ax, bx):
        _regime(a, label=a is ax)
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("tokens per attempt L")
        _legend(a, loc="lower left" if a is ax else "upper left")
    fig.tight_layout(w_pad=0.5)
    return fig


# =============================================================================================== Lemma 3.2
@functools.lru_cache(maxsize=None)
def _markov() -> dict:
    from .claims.values import markov_map

    return markov_map()


@_styled
def markov_map() -> plt.Figure:
    from .claims.values import MAP_DECAY, MAP_P_S, MAP_THETA_DW

    m = _markov()
    fig, axes = plt.subplots(1, 2, figsize=SIZE)
    for ax, (k, what) in zip(axes, ((2, "(a) fed the first decision's p_dW"), (1, "(b) fed the pooled p_dW"))):
        worst = 0.0
        for i, th in enumerate(MAP_THETA_DW):
            for ps, ls in zip(MAP_P_S, ("-", "--")):
                err = [abs(m[(ps, d, th)][k]) for d in MAP_DECAY]
                worst = max(worst, max(err))
                ax.plot(MAP_DECAY, err, ls, marker="o", ms=2.5, color=f"C{i}", gid=f"error|{ps}|{th}",
                        label=f"theta_dW = {th}" if ps == MAP_P_S[0] else None)
        ax.axvline(0, color="grey", lw=0.8, ls=":")
        ax.annotate("Markov (decay 0): exact", (0, 0.5), xycoords=("data", "axes fraction"), xytext=(3, 0),
                    textcoords="offset points", fontsize=6.5, color="0.3", rotation=90, va="center")
        ax.annotate(f"largest error {dec(worst, 3).text()}", (0.03, 0.9), xycoords="axes fraction", fontsize=7,
                    gid="deciding|" + what, bbox=dict(fc="w", ec="0.7", pad=2))
        ax.plot([], [], "k-", label=f"p_s = {MAP_P_S[0]}")
        ax.plot([], [], "k--", label=f"p_s = {MAP_P_S[1]}")
        ax.set_xlabel("decay of p_dW per attempt")
        ax.set_ylim(-0.03 * worst, 1.45 * worst)
        ax.set_title(what)
        _legend(ax, loc="upper right", ncol=2, fontsize=5.5)
    axes[0].set_ylabel("|prediction - true accuracy|")
    fig.tight_layout(w_pad=0.5)
    return fig


# =============================================================================================== GRPO groups
#: p_s of the far-OOD curves: the ledger's points (claims.training.FAR_OOD_PS) and values between
GRPO_PS = (0.005, 0.007, 0.01, 0.015, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
GRPO_T = (3, 4)


@functools.lru_cache(maxsize=None)
def _grpo_far_ood() -> dict:
    from theory import grpo

    from .claims.training import FAR_OOD

    return {T: [grpo.far_ood_row(T, p, **FAR_OOD) for p in GRPO_PS] for T in GRPO_T}


@_styled
def grpo_far_ood() -> plt.Figure:
    from .claims.training import FAR_OOD, FAR_OOD_PS

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
        _legend(a, loc="upper left", fontsize=6)
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

    from .claims.training import FEEDBACK_L, FEEDBACK_START, FEEDBACK_T, rl_steps

    T, L = FEEDBACK_T, FEEDBACK_L
    p_s, p_dC, p_dW = FEEDBACK_START
    z0 = (logit(p_s ** (1 / L)), logit(p_dC), logit(p_dW))
    start = tuple(torch.sigmoid(torch.tensor(z0, dtype=DTYPE)).tolist())
    rounds = [x[0] ** L for x in feedback.iterate_rft(T, L, start, FEEDBACK_ROUNDS)]
    with _one_thread():
        rl = rl_steps(T, L, z0)[:FEEDBACK_ROUNDS + 1]
    q_star = feedback.rft_fixed_point(T, L)["q"].subs({toy_theory.q: sp.Float(start[0], 30),
                                                        toy_theory.p_dC: sp.Float(start[1], 30),
                                                        toy_theory.p_dW: sp.Float(start[2], 30)})
    return dict(rounds=np.array(rounds), rl=np.array(rl), fixed=float(q_star) ** L)


@_styled
def feedback_rounds() -> plt.Figure:
    from .claims.training import PS_TARGETS

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
    _legend(ax, loc="center right", bbox_to_anchor=(1, 0.35))
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

    from .claims.training import PROTOCOLS, length_weighting_map, sft_runs

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
    from .claims.training import PROTOCOLS

    e = next(x for x in entries if x.id == "abstract-length-weighting")
    out = {p: {k: tuple(e.row(f"protocol-{p}").values[k].value) for k in LW_KEYS} for p in PROTOCOLS}
    st = e.statement("abstract-length-weighting/sft-pi_d")
    for _, key, label in SFT_ROWS:
        outs = [o for o in st.outcomes if o.setting["demonstrations"] == key]
        out[label] = {LW_KEYS[1]: (sum(o.settings for o in outs if o.setting["settings"] == "where it holds"),
                                   sum(o.settings for o in outs))}
    return out


@_styled
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


# =============================================================================================== §4 empirical
@functools.lru_cache(maxsize=None)
def _sec4_summaries() -> tuple:
    from . import pooling

    sums = [pooling.proxy_summary(f) for f, _, _ in pooling.FORMATS] + [pooling.confirmatory_summary()]
    return tuple(s for s in sums if s is not None and s.seeds)


def _sec4_label(sm) -> str:
    short = {"answer-only": "answer-only (control)", "chain of thought": "chain of thought",
             "chain of thought, confirmatory recipe": "CoT, confirmatory"}.get(sm.label, sm.label)
    return f"{short}\n{sm.preset}\nseeds {min(sm.seeds)}-{max(sm.seeds)}"


@_styled
def sec4_shares() -> plt.Figure:
    from . import pooling

    sums = _sec4_summaries()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=SIZE, gridspec_kw=dict(width_ratios=(1.5, 1)))
    none_y = -0.15
    for i, sm in enumerate(sums):
        ctl = "control|" if sm.fmt == "answer" and "confirmatory" not in sm.label else ""
        shares = [pooling.pooled_share(sm.seed_cells(s)) for s in sm.seeds]
        has = [not math.isnan(v) for v in shares]
        jitter = np.linspace(-0.18, 0.18, len(sm.seeds))
        ax.plot(i + jitter[has], np.array(shares)[has], "o", color="C0", ms=4, gid=f"{ctl}seeds|{sm.preset}",
                label="one seed's pooled cells" if i == 0 else None)
        ax.plot(i + jitter[~np.array(has)], np.full(sum(not h for h in has), none_y), "x", color="0.5", ms=4,
                gid=f"{ctl}no pooled cell|{sm.preset}", label="seed with no pooled cell" if i == 0 else None)
        if not math.isnan(sm.share):
            lo, hi = sm.loso_range()
            ax.fill_between([i - 0.3, i + 0.3], lo, hi, color="C1", alpha=0.3, lw=0, gid=f"{ctl}loso|{sm.preset}",
                            label="leave one seed out" if i == 0 else None)
            ax.hlines(sm.share, i - 0.3, i + 0.3, color="C1", lw=2, gid=f"{ctl}pooled|{sm.preset}",
                      label="pooled share" if i == 0 else None)
            ax.annotate(f"{pct(sm.share).text()} (LOSO >= {pct(lo).text()})", (i, hi), xytext=(0, 4),
                        textcoords="offset points", ha="center", fontsize=6.5,
                        gid=f"deciding|pooled decision share|{sm.preset}")
            dC, dW = sm.decision_parts()
            bx.bar(i - 0.18, dC, width=0.36, color="C2", gid=f"{ctl}p_dC part|{sm.preset}",
                   label="p_dC part (stop when right)" if i == 0 else None)
            bx.bar(i + 0.18, dW, width=0.36, color="C3", gid=f"{ctl}p_dW part|{sm.preset}",
                   label="p_dW part (resample when wrong)" if i == 0 else None)
        else:
            ax.annotate("no pooled cell", (i, 0.25), ha="center", fontsize=6.5, color="0.4")
            bx.annotate("no pooled\ncell", (i, 0.0), xytext=(0, 3), textcoords="offset points", ha="center",
                        fontsize=6.5, color="0.4")
        ax.annotate(f"{len(sm.pooled)} of {len(sm.cells)} cells", (i, none_y), xytext=(0, -11),
                    textcoords="offset points", ha="center", fontsize=6, color="0.4")
    ax.axhline(0.5, color="k", ls="--", lw=0.8, label="half (the threshold)")
    ax.set_ylim(none_y - 0.15, 1.1)
    ax.set_yticks([none_y, 0, 0.25, 0.5, 0.75, 1.0], ["none", "0", "25%", "50%", "75%", "100%"])
    ax.set_ylabel("decision share of RL's gain")
    ax.set_title("Decision part's share of the pooled gain (proxies)")
    bx.axhline(0, color="k", lw=0.6)
    bx.set_ylabel("pooled predicted gain")
    bx.set_title("Its two halves")
    for a in (ax, bx):
        a.set_xticks(range(len(sums)), [_sec4_label(sm) for sm in sums], fontsize=5.5)
        a.set_xlim(-0.5, len(sums) - 0.5)
    _legend(ax, loc="upper center", fontsize=5.5)
    _legend(bx, loc="upper center", fontsize=5.5)
    fig.tight_layout(w_pad=0.5)
    return fig


# =============================================================================================== the registry
@dataclass(frozen=True)
class FigureSpec:
    """One figure of the report: ``name`` is its file stem and HTML id; ``claims`` the claim ids whose card shows it;
    ``caption`` what is plotted, which control is drawn and what to look at; ``draw`` makes it (computing its data);
    ``from_ledger`` (where recomputing is slow) makes the same figure with the numbers the ledger records read from
    its entries."""

    name: str
    claims: tuple[str, ...]
    caption: str
    draw: Callable[[], plt.Figure]
    from_ledger: Callable[[list], plt.Figure] | None = None


_SPECS = [
    FigureSpec("cross_terms", ("cross-terms",),
               "The cosine between the sampling and the decision gradient of J when both stages share one parameter "
               "vector, over the ledger's 40 seeded random parameterisations of the toy model (T = 3, L = 2): the "
               "histogram, each draw as a tick, and the 5% and 95% values. The black line at 0 is the threshold (no "
               "cross-term), where disjoint parameters sit exactly. Look at the spread: the cosine takes both signs "
               "and is nonzero at every draw, so ||g||^2 is not the sum of the two stages' squared norms.",
               cross_terms),
    FigureSpec("calibration", ("calibration-4.2",),
               "The §4.2 prediction of accuracy against p_dW (the rate of RESAMPLE after a wrong attempt) at p_s = 0.2"
               " and p_dC = 0.95: the formula with unlimited retries (black) and the exact accuracy with a budget of T"
               " = 1, 2, 4, 8 attempts (dashed). The grey band is the far-out-of-distribution regime the paper reports"
               " for RL. Look at how far the unlimited-retry formula sits above the short budgets there: it is their "
               "limit, not their value.",
               calibration),
    FigureSpec("figure1", ("appC-toy",),
               "Appendix C's Figure 1 reproduced in the three-logit toy model (T = 4, KL weight w = 0.05, the "
               "reference reset every 50 steps): the sampling:decision gradient ratio over training for the KL penalty"
               " and for the surrogate's reward term, the control; dashed: the paper's 2:1. Left one token per attempt"
               " (the paper's model), right eight (a contrast outside it). Look at the KL curve after each reset: with"
               " one token it falls below 2:1, so 'exceeds 2:1 throughout training' depends on the setting.",
               figure1),
    FigureSpec("appendix_c_map", ("appC-toy",),
               "Appendix C mapped over the settings the paper does not report: per reading of the ratio (columns) the "
               "fraction of 18 settings (initial theta_dC, theta_dW, reference period) in each cell of initial theta_s"
               " and KL weight w where the ratio exceeds 2:1 throughout training. Top row: the KL ratio itself; bottom"
               " row: the control, the KL ratio over the surrogate's at the same step. Look at the counts in the "
               "titles: the claim holds in some settings and readings, and against the control in fewer.",
               appendix_c_map),
    FigureSpec("discount_credit", ("thm-3.1",),
               "Theorem 3.1's two Q's with a per-token discount: Q_d(s_k) / Q_sample(first token of attempt k) = "
               "gamma^(-L_k) against the attempt's length, for gamma = 0.99 and 0.999, and 1 at gamma = 1 (GRPO's "
               "choice, where the theorem holds). The marked point is the ledger's value at gamma = 0.99, L_k = 512. "
               "Look at how quickly the decision's Q outgrows the sampling tokens' once gamma < 1.",
               discount_credit),
    FigureSpec("surrogate_norms", ("thm-3.1-norms",),
               "The surrogate's sampling:decision gradient-norm ratio against the attempt length L under the three "
               "ways of scaling the toy model with L (exact closed form, T = 2; dotted: the derived leading order; "
               "grey band: real attempts, 10^2 to 10^4 tokens). With fixed p_s the two p_s scalings coincide (the "
               "surrogate has no reference). Look at the fixed-logits curve: equal advantage coefficients do not make "
               "equal norms, and the ratio grows like L.",
               surrogate_norms),
    FigureSpec("clipping_map", ("thm-3.1-practised",),
               "Token-level clipping as verl runs it (clip 0.2 / 0.28, dual-clip 3, token-mean), over the ledger's 120"
               " random off-policy states of the toy model (T = 3, L = 3): left, per draw the fraction of the sampling"
               " gradient kept against the fraction of the decision gradient kept, coloured by the step scale, with "
               "the diagonal (equal fractions: the threshold); right, per step scale the draws off the diagonal, by "
               "which stage keeps less. Look at the larger steps: clipping keeps different fractions of the two "
               "stages, in either direction.",
               clipping_map),
    FigureSpec("kl_reward_ratio", ("thm-3.2",),
               "Theorem 3.2 with k1 in the reward: the KL's sampling:decision gradient ratio (solid) against the "
               "attempt length L, with the immediate penalties' ratio d^sample / d^decision (dotted) and the "
               "surrogate's gradient ratio, the control (dashed), per scaling; the fixed-p_s panel is greyed, outside "
               "the theorem's comparable per-token KL. Look at the two inside panels: the immediate ratio grows like L"
               " while the gradient ratio levels off at its marked limit, below the control.",
               kl_reward_ratio),
    FigureSpec("k3_loss_ratio", ("thm-3.2-practised",),
               "The KL as the experiments ran it (k3 as a per-token loss, verl low_var_kl): its sampling:decision "
               "ratio divided by the surrogate's in the same model, scaling and L (the control, 1 on the dashed line),"
               " against L. Left, the three scalings; right, fixed p_s with the reference's per-token accuracy set so "
               "the per-token KL tends to 0.474, 0.1, 0.01, 0.001. Dotted: derived leading orders. Look at the right "
               "panel: the ratio grows like L whenever the per-token KL stays positive, with a coefficient that "
               "shrinks with it.",
               k3_loss_ratio),
    FigureSpec("ratio_vs_length", ("def-3.1", "appD-sft-dft"),
               "Every objective's sampling:decision gradient ratio divided by the surrogate's in the same model, "
               "scaled the same way, at the same L (the control, the flat black line at 1), against the attempt length"
               " L; one panel per scaling, closed form at T = 2, derived leading orders dotted, grey band the regime "
               "of real attempts. Look at which curves keep rising: only the per-token KL losses under fixed p_s with "
               "the reference's accuracy held; SFT and DFT stay bounded, and k1 in the reward falls.",
               ratio_vs_length),
    FigureSpec("discounted", ("thm-3.1-discounted", "thm-3.2-discounted"),
               "Discounted returns (gamma < 1) against the attempt length L, with the logits held and with p_s and the"
               " reference's accuracy held. (a) The surrogate's sampling:decision ratio with a per-token discount "
               "gamma = 0.99 or 0.999 divided by its ratio at gamma = 1 (the control, 1). (b) k1 in the reward at "
               "gamma = 0.99, discounted per token (solid) or per stage (dashed); gamma = 0.999 has the same shapes "
               "with the horizon ten times further out. Look at what happens past the horizon 1/(1 - gamma): the "
               "surrogate's balance tilts toward the decisions like 1/L, and the KL ratio grows per token (like L, or "
               "like log L) but levels off per stage, as at gamma = 1.",
               discounted),
    FigureSpec("markov_map", ("lemma-3.2",),
               "The finite-budget formula of §4.2 where the decision depends on the attempt count (p_dW,k = "
               "sigmoid(theta_dW - decay (k - 1)), T = 8, p_dC = 0.8): |prediction - true accuracy| against the decay,"
               " for four theta_dW and two p_s, the formula fed the first decision's p_dW (left) or the pooled, visit-"
               "weighted p_dW a practitioner measures (right). Look at the two scales: at decay 0 both are exact; "
               "otherwise the pooled rate stays within about a percent.",
               markov_map),
    FigureSpec("definition_readings", ("def-3.1-phi",),
               "Definition 3.1 read three ways for one penalty, k1 in the reward (toy model, fixed logits, T = 2), "
               "against the attempt length L: the immediate penalties' ratio (grows like L), the ratio of the expected"
               " Q's (levels off at (1 + p_dW)/p_dW), and the gradient ratio relative to the surrogate, the control "
               "(vanishes); with the surrogate's Q ratio, exactly 1. Look at the labels the readings give: "
               "'unbalanced', 'balanced', and below balanced.",
               definition_readings),
    FigureSpec("grpo_far_ood", ("grpo-groups",),
               "GRPO far out of distribution (toy model, one-token attempts, p_dC = 0.95, p_dW = 0.5, groups of 8, "
               "std-normalised advantages; budgets T = 3, 4) against the first-attempt accuracy p_s: left, the "
               "fraction of groups with any nonzero advantage; right, the expected push on the RESAMPLE-when-wrong "
               "logit, GRPO's kappa dJ/dtheta_dW against the surrogate's own dJ/dtheta_dW (the control, dashed). Dots:"
               " the ledger's points. Look at the left panel: as p_s falls most groups carry no gradient.",
               grpo_far_ood),
    FigureSpec("feedback_rounds", ("sec5-feedback",),
               "Training on the model's own successes against RL, from §4.2's far-out-of-distribution start (toy "
               "model, T = 3, L = 4): first-attempt accuracy p_s over rounds of iterated rejection-sampling fine-"
               "tuning (each a full refit on fresh successes) and over exact RL gradient steps; dashed, where SFT on "
               "one fixed set of its own successes stops (the echo chamber). Right: the rounds and steps to reach p_s "
               "= 0.5, 0.8, 0.9, 0.95. Look at the dashed line: offline, the model stalls far below what both online "
               "procedures reach.",
               feedback_rounds),
    FigureSpec("length_weighting", ("abstract-length-weighting",),
               "Length weighting in training (toy model, T = 4, 216 settings of initial policy, attempt length and KL "
               "weight per protocol): per training protocol, the fraction of settings where the KL restrains theta_s "
               "more than both decision logits and where it leaves theta_dW short of the surrogate's own movement (the"
               " control); below, SFT without and with reflective demonstrations, where theta_dW is left short. Look "
               "at the dashed line, every setting: the KL restrains sampling most in most settings, but leaves pi_d "
               "short only in some, and SFT's shortfall comes from what its demonstrations contain.",
               length_weighting, lambda entries: length_weighting(length_weighting_counts_from(entries))),
    FigureSpec("sec4_shares", ("sec4-empirical",),
               "§4's reading on the small-scale proxies (not the paper's 7B model): per proxy, each seed's decision "
               "share of RL's pooled accuracy gain over SFT-reflect (dots; crosses: seeds with no pooled cell), the "
               "pooled share (line) and its leave-one-seed-out range (band), and the pooled decision gain's two halves"
               " (bars). The answer-only proxy is the control (a wrong answer carries nothing a decision could check)."
               " Look at the bars: where a decision gain appears it comes through p_dC, stopping when right, not "
               "through resampling when wrong.",
               sec4_shares),
]

#: name -> FigureSpec, in the ledger's claim order (paper order by part)
FIGURES: dict[str, FigureSpec] = {s.name: s for s in _SPECS}


def figures_of(claim_id: str) -> list[FigureSpec]:
    """The figures a claim's card shows, in FIGURES order (none for an identity such as lemma-3.1)."""
    return [s for s in FIGURES.values() if claim_id in s.claims]


def save_all(out_dir: Path, names=None, progress=None, entries=None) -> list[tuple[str, Path, str]]:
    """Write each figure as ``out_dir/<name>.png`` (dpi DPI); returns (name, path, caption).  ``entries`` (ledger
    entries): figures with ``from_ledger`` read their recorded numbers from them instead of recomputing."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or FIGURES:
        spec = FIGURES[name]
        fig = spec.from_ledger(entries) if entries is not None and spec.from_ledger else spec.draw()
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=DPI)
        plt.close(fig)
        written.append((name, path, spec.caption))
        if progress:
            progress(name)
    return written

