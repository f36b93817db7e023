"""Positive-only and negative feedback on the enumerated toy (float64): the numeric twin of theory/feedback.py.

* :func:`rft_objective`: E_{tau ~ P_0(.|r=1)} log P_z(tau), SFT on the successes of a frozen model z0 (RFT);
* :func:`train_rft`: gradient ascent on it with autograd (the echo chamber's fixed point, reached by training);
* :func:`estimator_moments`: exact mean and per-stage variance of single-sample gradient estimators w(tau) grad log
  P(tau) (positive-only, with baseline, negative-only) by enumeration.
"""

from __future__ import annotations

import torch

from .toy import DTYPE, check_logits, path_probs, token_logprobs

#: single-trajectory weights w(r, J) whose estimator w grad log P has mean grad J on-policy (binary reward)
ESTIMATORS = {
    "positive-only (RFT: SFT on successes, = REINFORCE r)": lambda r, J: r,
    "baseline b = J (negative advantages on failures)": lambda r, J: r - J,
    "negative-only (unlikelihood on failures)": lambda r, J: -(1 - r),
}


def _logits(z) -> torch.Tensor:
    return check_logits(torch.as_tensor(z, dtype=DTYPE))


def rft_objective(batch, z: torch.Tensor, z0) -> torch.Tensor:
    """sum_tau P_0(tau | r = 1) log P_z(tau) (the multiplicity constant of a grouped row dropped: it has no gradient)."""
    P0 = path_probs(batch, _logits(z0)).detach()
    r = batch.rewards()
    weight = P0 * r / (P0 * r).sum()
    return (weight * token_logprobs(batch, z).sum(-1)).sum()


def train_rft(batch, z0, steps: int = 60) -> torch.Tensor:
    """Gradient ascent (L-BFGS, strong Wolfe line search, ``steps`` iterations) on :func:`rft_objective` from z0: a
    fixed set, the successes of z0, never resampled."""
    z = _logits(z0).clone().requires_grad_(True)
    opt = torch.optim.LBFGS([z], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                            tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        loss = -rft_objective(batch, z, z0)
        loss.backward()
        return loss

    opt.step(closure)
    return z.detach()


def scores(batch, z) -> torch.Tensor:
    """grad_z log P(tau) for every enumerated row: [B, 3] (sampling component, then the two decision logits)."""
    z = _logits(z)
    return torch.autograd.functional.jacobian(lambda x: token_logprobs(batch, x).sum(-1), z)


def estimator_moments(batch, z) -> dict[str, dict[str, object]]:
    """For each estimator of ESTIMATORS: its exact mean (a 3-vector) and the trace of its covariance restricted to the
    sampling logit and to the two decision logits (single trajectory, on-policy)."""
    z = _logits(z)
    P = path_probs(batch, z).detach()
    r = batch.rewards()
    J = (P * r).sum()
    g = scores(batch, z)
    out = {}
    for name, w in ESTIMATORS.items():
        x = w(r, J)[:, None] * g  # [B, 3]
        mean = (P[:, None] * x).sum(0)
        second = (P[:, None] * x ** 2).sum(0)
        var = second - mean ** 2
        out[name] = {"mean": mean, "sampling": float(var[0]), "decision": float(var[1:].sum())}
    return out
