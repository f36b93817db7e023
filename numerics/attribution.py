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


def stage_split(logp, objective: Objective, batch: TokenBatch, params) -> dict[str, list[torch.Tensor]]:
    """Per-stage gradients of ``objective(logp, batch)`` with respect to ``params`` (a tensor or a list).

    ``logp``: the per-token log-probs [B, n] (one graph, split by stage-masked cotangents), or a dict
    {"sampling": logp_s, "decision": logp_d} of per-stage log-probs that are zero off their stage (graphs that may
    share a trunk, e.g. an LM head applied only at that stage's positions); the objective sees their sum.
    Returns {"sampling": [...], "decision": [...], "weights": w}: each stage a list shaped like params.
    Both are gradients of the loss (to minimise); their sum is the full autograd gradient.
    """
    single = isinstance(params, torch.Tensor)
    params = [params] if single else list(params)
    parts = logp if isinstance(logp, dict) else {name: logp for name in STAGES}
    total = logp if isinstance(logp, torch.Tensor) else sum(parts[name] for name in STAGES)
    lp = total.detach().requires_grad_(True)
    w, = torch.autograd.grad(objective(lp, batch), lp)
    out: dict = {"weights": w}
    names = list(STAGES)
    for j, name in enumerate(names):
        cot = w * (batch.stage == STAGES[name]).to(w)
        g = torch.autograd.grad(parts[name], params, grad_outputs=cot, retain_graph=j < len(names) - 1,
                                allow_unused=True)
        out[name] = [torch.zeros_like(p) if gi is None else gi for gi, p in zip(g, params)]
    if single:
        out = {k: (v[0] if k in STAGES else v) for k, v in out.items()}
    return out
