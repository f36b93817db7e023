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

from numerics.figure1 import READINGS, SWEEP_WS, SWEEP_Z0S, Figure1Run, holds_throughout, sweep, train_toy
from theory import calibration as calibration_theory
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
    ax.plot(x, calibration_theory.predicted_accuracy_numeric(None)(ps, pdC, x), "k-", lw=2, label="§4.2 formula (T -> oo)")
    for i, T in enumerate((1, 2, 4, 8)):
        ax.plot(x, calibration_theory.predicted_accuracy_numeric(T)(ps, pdC, x) * np.ones_like(x), "--", color=f"C{i}",
                label=f"budget T = {T}")
    ax.set_xlabel("p_{d|W}  (RESAMPLE when wrong)")
    ax.set_ylabel("predicted accuracy")
    ax.set_title(f"p_s = {ps}, p_dC = {pdC}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def appendix_c_map(lengths: int = 1) -> plt.Figure:
    """Where 'the KL ratio exceeds 2:1 throughout training' holds, per reading of the ratio: the fraction of the
    swept settings (theta_dC0, theta_dW0, reference period) that hold, by initial theta_s and KL weight w."""
    rows = sweep(lengths=lengths)
    readings = list(READINGS)
    fig, axes = plt.subplots(1, len(readings), figsize=(3.4 * len(readings), 3.4), sharey=True)
    for ax, reading in zip(axes, readings):
        frac = np.array([[np.mean([holds_throughout(r, reading) for r in rows if r["z0"][0] == zs and r["w"] == w])
                          for w in SWEEP_WS] for zs in sorted({z[0] for z in SWEEP_Z0S})])
        im = ax.imshow(frac, vmin=0, vmax=1, cmap="RdYlGn", origin="lower", aspect="auto")
        for (i, j), v in np.ndenumerate(frac):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(SWEEP_WS)), [str(w) for w in SWEEP_WS])
        ax.set_yticks(range(frac.shape[0]), [str(zs) for zs in sorted({z[0] for z in SWEEP_Z0S})])
        ax.set_xlabel("KL weight w")
        ax.set_title(reading, fontsize=10)
    axes[0].set_ylabel("initial theta_s")
    fig.subplots_adjust(bottom=0.2, wspace=0.08, right=0.86)
    fig.colorbar(im, ax=axes, shrink=0.8, label="fraction of settings where > 2:1 throughout")
    return fig


FIGURES: dict[str, tuple[Callable[[], plt.Figure], str]] = {
    "figure1": (figure1, "Appendix C / Figure 1 reproduced: the sampling:decision gradient ratio over training for the "
                         "reward (surrogate) term and the KL term; the reference is reset every 50 steps."),
    "appendix_c_map": (appendix_c_map, "Appendix C mapped: the fraction of settings (initial theta_dC, theta_dW and "
                                       "reference period, 18 per cell) in which the KL term's sampling:decision ratio "
                                       "exceeds 2:1 throughout training, by initial theta_s and KL weight w, for each "
                                       "reading of the ratio (L=1, T=4)."),
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


# (interim: the per-claim mapping; the figures module is being rewritten with one spec per figure)
_INTERIM = {"appC-toy": ["figure1", "appendix_c_map"], "calibration-4.2": ["calibration"],
            "def-3.1": ["ratio_vs_length"], "appD-sft-dft": ["ratio_vs_length"]}


def figures_of(claim_id: str):
    from types import SimpleNamespace

    return [SimpleNamespace(name=n) for n in _INTERIM.get(claim_id, [])]
