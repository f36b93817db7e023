"""Appendix C / Figure 1: the three-logit toy model trained by exact gradient ascent on the KL-regularised
objective J - w KL(P_theta || P_ref), with the reference reset to the current policy every ``ref_every``
steps (the paper's source of the cyclic pattern).  At each step it records the per-stage gradients of the
reward term (what the surrogate credits) and of the KL term (what the k1-in-reward penalty credits).

The paper does not state its settings (initial logits, w, learning rate, reference period); ours are the
defaults below and every figure states them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import toy as N_


@dataclass
class Figure1Run:
    settings: dict
    steps: np.ndarray
    probs: np.ndarray  # [S, 3] p_s (token-level q), p_dC, p_dW
    J: np.ndarray
    KL: np.ndarray
    reward_grad: np.ndarray  # [S, 2] |dJ/dtheta_s|, ||dJ/dtheta_d||
    kl_grad: np.ndarray  # [S, 2] |dKL/dtheta_s|, ||dKL/dtheta_d||

    @staticmethod
    def ratio(g: np.ndarray) -> np.ndarray:
        """sampling / decision gradient-norm ratio (nan where the decision norm is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(g[:, 1] > 0, g[:, 0] / g[:, 1], np.nan)


def train_toy(T: int = 4, lengths=1, z0=(0.0, 0.0, 0.0), w: float = 0.05, lr: float = 1.0, steps: int = 300,
              ref_every: int = 50, progress=None) -> Figure1Run:
    """Exact-gradient training of the toy model on J - w KL.  ``progress``: optional callable(step)."""
    if steps < 1 or ref_every < 1:
        raise ValueError(f"steps and ref_every must be >= 1, got steps={steps}, ref_every={ref_every}")
    batch = N_.enumerate_toy(T, lengths)
    z = torch.tensor(z0, dtype=N_.DTYPE, requires_grad=True)
    z_ref = z.detach().clone()
    rec = {k: [] for k in ("probs", "J", "KL", "rg", "kg")}
    for step in range(steps):
        if step % ref_every == 0:
            z_ref = z.detach().clone()
        J = N_.expected_reward(batch, z)
        KL = N_.kl_sequence(batch, z, z_ref)
        gJ, = torch.autograd.grad(J, z, retain_graph=True)
        gK, = torch.autograd.grad(KL, z)
        rec["probs"].append(torch.sigmoid(z).tolist())
        rec["J"].append(J.item())
        rec["KL"].append(KL.item())
        rec["rg"].append([abs(gJ[0].item()), gJ[1:].norm().item()])
        rec["kg"].append([abs(gK[0].item()), gK[1:].norm().item()])
        with torch.no_grad():
            z += lr * (gJ - w * gK)
        if progress:
            progress(step)
    settings = dict(T=T, lengths=lengths, z0=list(z0), w=w, lr=lr, steps=steps, ref_every=ref_every)
    return Figure1Run(settings, np.arange(steps), np.array(rec["probs"]), np.array(rec["J"]), np.array(rec["KL"]),
                      np.array(rec["rg"]), np.array(rec["kg"]))


def kl_ratio_range(run: Figure1Run) -> tuple[float, float]:
    """(min, max) over training of the KL term's sampling:decision ratio, reset steps excluded (the KL gradient is
    exactly 0 when the reference has just been set to the policy)."""
    keep = run.steps % run.settings["ref_every"] != 0
    r = Figure1Run.ratio(run.kl_grad)[keep]
    return float(np.nanmin(r)), float(np.nanmax(r))


def sweep(z0s, ws, ref_everys, T: int = 4, lengths=1, steps: int = 300) -> list[dict]:
    """train_toy over a grid of the settings the paper does not report; per setting the KL ratio's range."""
    out = []
    for z0 in z0s:
        for w in ws:
            for ref_every in ref_everys:
                lo, hi = kl_ratio_range(train_toy(T=T, lengths=lengths, z0=z0, w=w, steps=steps, ref_every=ref_every))
                out.append(dict(z0=tuple(z0), w=w, ref_every=ref_every, kl_min=lo, kl_max=hi))
    return out
