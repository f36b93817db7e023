"""Per-stage gradient attribution of any objective from numerics.objectives.

The split: the loss depends on the parameters only through the per-token log-probs, so with
w_t = d loss / d logp_t, grad loss = sum_t w_t grad logp_t = g_sampling + g_decision, where g_stage keeps the
tokens of one stage.  Computed as vector-Jacobian products of logp with the stage-masked cotangent w * 1[stage]:
one forward pass, one cheap backward to w (through the loss only), and one backward per stage.
"""

from __future__ import annotations

import torch

from .objectives import DECISION, SAMPLING, Objective, TokenBatch

STAGES = {"sampling": SAMPLING, "decision": DECISION}


def stage_split(logp: torch.Tensor, objective: Objective, batch: TokenBatch, params) -> dict[str, list[torch.Tensor]]:
    """Per-stage gradients of ``objective(logp, batch)`` with respect to ``params`` (a tensor or a list).

    Returns {"sampling": [...], "decision": [...], "weights": w}: each stage a list shaped like params.
    Both are gradients of the loss (to minimise); their sum is the full autograd gradient.
    """
    single = isinstance(params, torch.Tensor)
    params = [params] if single else list(params)
    lp = logp.detach().requires_grad_(True)
    w, = torch.autograd.grad(objective(lp, batch), lp)
    out: dict = {"weights": w}
    names = list(STAGES)
    for j, name in enumerate(names):
        cot = w * (batch.stage == STAGES[name]).to(w)
        g = torch.autograd.grad(logp, params, grad_outputs=cot, retain_graph=j < len(names) - 1, allow_unused=True)
        out[name] = [torch.zeros_like(p) if gi is None else gi for gi, p in zip(g, params)]
    if single:
        out = {k: (v[0] if k in STAGES else v) for k, v in out.items()}
    return out
