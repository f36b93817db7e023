"""The report's figures (matplotlib).  Each function computes its data with theory/ and numerics/ (through the
same helpers the claims use) and returns a Figure; the notebooks and ``dsproof report`` both call them, so a
figure has one home.  ``FIGURES`` lists them with captions; :func:`save_all` writes PNGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt  # no backend forced: Agg without a display, inline in a notebook kernel
import numpy as np
import sympy as sp

from numerics.figure1 import Figure1Run, train_toy
from theory import calibration as C_
from theory.closed_form import L as L_SYMBOL

FIG1_SETTINGS = dict(T=4, w=0.05, steps=300, ref_every=50)


def figure1(lengths=(1, 8)) -> plt.Figure:
    """Appendix C / Figure 1 reproduced: sampling:decision gradient ratio over training, for the reward term
    (what the surrogate credits) and the KL term (k1 sequence KL), reference reset every ``ref_every`` steps."""
    fig, axes = plt.subplots(1, len(lengths), figsize=(5.2 * len(lengths), 3.6), squeeze=False)
    for ax, L in zip(axes[0], lengths):
        r = train_toy(lengths=L, **FIG1_SETTINGS)
        keep = r.steps % r.settings["ref_every"] != 0  # the KL gradient is exactly 0 at a reset
        ax.plot(r.steps, Figure1Run.ratio(r.reward_grad), label="reward / surrogate", color="C0")
        kl = np.where(keep, Figure1Run.ratio(r.kl_grad), np.nan)
        ax.plot(r.steps, kl, label="KL penalty", color="C3")
        ax.axhline(2.0, ls="--", color="grey", lw=1, label="the paper's 2:1")
        ax.axhline(1.0, ls=":", color="grey", lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel("|g_sampling| / ||g_decision||")
        ax.set_title(f"L = {L} token{'s' if L > 1 else ''} per attempt, T = {FIG1_SETTINGS['T']}, "
                     f"w = {FIG1_SETTINGS['w']}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def ratio_vs_length(lengths=None) -> plt.Figure:
    """Definition 3.1 measured: the exact sampling:decision ratio of every objective against the attempt length L
    (closed form, 1 <= L <= 10^5), one panel per way of scaling the model with L, with each derived leading order
    dashed.  The shaded band is the regime of real attempts (10^2 - 10^4 tokens)."""
    from theory import asymptotics
    from theory.closed_form import objective_gradients

    from . import scaling

    Ls = np.unique(np.round(np.logspace(0, 5, 41)).astype(int)) if lengths is None else np.asarray(lengths)
    values = asymptotics.setting(scaling.POLICY_LOGITS, scaling.REF_LOGITS, 2)
    grads = objective_gradients(2)
    table = scaling.table()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), sharey=True)
    for ax, name in zip(axes, asymptotics.SCALINGS):
        for i, (obj, g) in enumerate(grads.items()):
            exact = asymptotics.ratio_along(g, name, values)
            ax.plot(Ls, [exact(n) for n in Ls], "-", color=f"C{i}", label=obj)
            lead = table[(obj, name)].asymptotics
            if not lead.exponentially_small:
                big = Ls[Ls >= 10]
                f = sp.lambdify(L_SYMBOL, lead.expr(), "numpy")
                ax.plot(big, np.broadcast_to(f(big.astype(float)), big.shape), ":", color=f"C{i}")
        ax.axvspan(1e2, 1e4, color="0.9", zorder=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("tokens per attempt L")
        ax.set_title(f"{name}", fontsize=10)
    axes[0].set_ylabel("|g_s| / ||g_d||  (dotted: leading order)")
    axes[0].set_ylim(1e-2, None)
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Attribution ratio vs attempt length, toy model T=2 (closed form; no fit)", fontsize=11)
    fig.tight_layout()
    return fig


def calibration(ps: float = 0.2, pdC: float = 0.95) -> plt.Figure:
    """§4.2: predicted accuracy as a function of p_dW, unlimited retries vs a budget of T attempts."""
    x = np.linspace(0.0, 0.95, 96)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, C_.predicted_accuracy_numeric(None)(ps, pdC, x), "k-", lw=2, label="§4.2 formula (T -> oo)")
    for i, T in enumerate((1, 2, 4, 8)):
        ax.plot(x, C_.predicted_accuracy_numeric(T)(ps, pdC, x) * np.ones_like(x), "--", color=f"C{i}",
                label=f"budget T = {T}")
    ax.set_xlabel("p_{d|W}  (RESAMPLE when wrong)")
    ax.set_ylabel("predicted accuracy")
    ax.set_title(f"p_s = {ps}, p_dC = {pdC}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES: dict[str, tuple[Callable[[], plt.Figure], str]] = {
    "figure1": (figure1, "Appendix C / Figure 1 reproduced: the sampling:decision gradient ratio over training for the "
                         "reward (surrogate) term and the KL term; the reference is reset every 50 steps."),
    "ratio_vs_length": (ratio_vs_length, "Definition 3.1 measured: the exact sampling:decision attribution ratio of "
                                         "each objective against the attempt length L under the three ways of "
                                         "scaling the model (closed form, T=2), derived leading orders dotted; grey: "
                                         "the regime of real attempts."),
    "calibration": (calibration, "§4.2: predicted accuracy vs p_{d|W}, unlimited retries and finite budgets."),
}


def save_all(out_dir: Path, names=None, progress=None) -> list[tuple[str, Path, str]]:
    """Write each figure as ``out_dir/<name>.png``; returns (name, path, caption)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or FIGURES:
        fn, caption = FIGURES[name]
        fig = fn()
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append((name, path, caption))
        if progress:
            progress(name)
    return written
