"""Figures of the claims about the per-stage value functions (dsproof.claims.values): Definition 3.1's statistic
read three ways, the discounted (gamma < 1) cases of Theorems 3.1 and 3.2, and Lemma 3.2's Markov state."""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from theory import asymptotics
from theory.closed_form import L as L_SYMBOL

from .. import scaling
from ..model import dec, sig
from .curves import curve, first_stage, frozen, grid, immediate, point, quotient
from .style import SIZE, legend, regime, styled


@styled
def definition_readings() -> plt.Figure:
    from theory import values

    Ls = tuple(grid(5))
    name = "fixed-logits"
    ks, kd = first_stage("k1")[:2]
    limit = float(sp.limit(values.exponentials_as_symbols(ks / kd, 1).subs(values.P_L, 0), L_SYMBOL, sp.oo)
                  .subs(point()))
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot(Ls, quotient("terminal", 0, 1, name, Ls), "-", color="k", lw=2.2, alpha=0.6, gid="surrogate Q",
            label="surrogate, Q level: E[Q_sample] / E[Q_d] = 1 (balanced by construction)")
    ax.plot(Ls, immediate(name, Ls), ":", color="C2", lw=1.6, gid="immediate",
            label="k1, immediate rewards: d^sample / d^decision (grows ~L: 'unbalanced')")
    ax.plot(Ls, quotient("k1", 0, 1, name, Ls), "-", color="C3", gid="Q level",
            label="k1, Q level: E[Q_sample] / E[Q_d] (bounded: 'balanced')")
    ax.axhline(limit, color="C3", lw=0.6, alpha=0.7, gid="Q-level limit")
    ax.annotate(f"limit (1 + p_dW)/p_dW = {sig(limit, 3).text()}", (1.5, limit), xytext=(0, 3),
                textcoords="offset points", fontsize=7, color="C3", gid="deciding|Q-level limit",
                bbox=dict(fc="w", ec="none", alpha=0.8, pad=0.5))
    rel = curve("kl-k1-reward", name, Ls) / curve("surrogate", name, Ls)
    ax.plot(Ls, rel, "-.", color="C4", gid="control|relative",
            label="k1, gradient relative to the surrogate (the control): vanishes")
    regime(ax)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens per attempt L")
    ax.set_ylabel("sampling : decision")
    ax.set_title("Definition 3.1's readings for k1 in the reward (fixed logits, T = 2): one penalty, three labels")
    legend(ax, loc="upper left")
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
    f = asymptotics.ratio_along(discounted_gradient(reward, discount, gamma), scaling_name, point())
    return frozen([f(n) for n in lengths])


DISCOUNT_SCALINGS = ("fixed-logits", "fixed-p_s-ref")
#: the discount of panel (b): the ledger's other gamma (0.999) has the same shapes with the horizon 1/(1 - gamma) ten
#: times further out
PANEL_B_GAMMA = "0.99"


def _discount_grid() -> tuple:
    return tuple(grid(6, per_decade=3, extra=(10 ** 6,)))


@styled
def discounted() -> plt.Figure:
    Ls = _discount_grid()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=SIZE)
    for s, c in zip(DISCOUNT_SCALINGS, ("C0", "C2")):
        for g, ls in zip(scaling.DISCOUNT_GAMMAS, ("-", "--")):
            rel = _discounted_curve("terminal", "token", g, s, Ls) / curve("surrogate", s, Ls)
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
        regime(a, label=a is ax)
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("tokens per attempt L")
        legend(a, loc="lower left" if a is ax else "upper left")
    fig.tight_layout(w_pad=0.5)
    return fig


# =============================================================================================== Lemma 3.2
@functools.lru_cache(maxsize=None)
def _markov() -> dict:
    from ..claims.values import markov_map

    return markov_map()


@styled
def markov_map() -> plt.Figure:
    from ..claims.values import MAP_DECAY, MAP_P_S, MAP_THETA_DW

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
        legend(ax, loc="upper right", ncol=2, fontsize=5.5)
    axes[0].set_ylabel("|prediction - true accuracy|")
    fig.tight_layout(w_pad=0.5)
    return fig
