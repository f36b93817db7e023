"""The report's figures (matplotlib).  Each function computes its data with theory/ and numerics/ (through the
same helpers the claims use) and returns a Figure; the notebooks and ``dsproof report`` both call them, so a
figure has one home.  ``FIGURES`` lists them with captions; :func:`save_all` writes PNGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt  # no backend forced: Agg without a display, inline in a notebook kernel
import numpy as np

from numerics.figure1 import Figure1Run, train_toy
from theory import calibration as C_

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


def ratio_vs_length(Ls=(1, 2, 4, 8, 16)) -> plt.Figure:
    """Definition 3.1 measured: how the sampling:decision ratio scales with the attempt length L for the surrogate
    (Thm 3.1), the k1-in-reward KL (Thm 3.2, the paper's placement) and the token-level k2/k3 loss (verl)."""
    from .claims_objectives import kl_loss_ratio_curve, kl_reward_ratio_curve, surrogate_ratio_curve

    Ls = list(Ls)
    curves = {"surrogate (on-policy)": surrogate_ratio_curve(Ls),
              "KL: k1 in the reward (Thm 3.2)": kl_reward_ratio_curve(Ls)[0],
              "KL: k3 loss, token-mean (verl)": kl_loss_ratio_curve("k3", Ls),
              "KL: k2 loss, token-mean": kl_loss_ratio_curve("k2", Ls)}
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (name, c) in enumerate(curves.items()):
        ax.plot(Ls, [c[L] for L in Ls], "o-", label=name, color=f"C{i}")
    base = curves["KL: k3 loss, token-mean (verl)"][Ls[0]]
    ax.plot(Ls, [base * L / Ls[0] for L in Ls], "k:", label="~ L (the paper's claim)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("tokens per attempt L")
    ax.set_ylabel("|g_sampling| / ||g_decision||")
    ax.set_title("Attribution ratio vs attempt length (toy model, exact)")
    ax.legend(fontsize=8)
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
    "ratio_vs_length": (ratio_vs_length, "Definition 3.1 measured: growth of the attribution ratio with the attempt "
                                         "length L, per objective."),
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
