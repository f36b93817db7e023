"""Finite-group GRPO on the toy model by exact enumeration of every group of G trajectories (float64): the independent
numeric twin of theory/grpo.py.

The group advantage is computed the way a trainer computes it (torch.mean / torch.std over the group's rewards, an
eps in the denominator); the expected update is the autograd gradient of

    sum over G-tuples (tau_1..tau_G) of prod_i P(tau_i) * (1/G) sum_i A_i log P(tau_i)

with the tuple probabilities and the advantages detached (on-policy, stop-gradient in A).
"""

from __future__ import annotations

import itertools

import torch

from .toy import DTYPE, check_logits, path_probs, token_logprobs

EPS = 1e-6  # verl's epsilon in (r - mean) / (std + eps)


def group_advantages(rewards: torch.Tensor, normalisation: str = "unbiased", eps: float = EPS) -> torch.Tensor:
    """A_i of the last dimension's group of rewards: (r - mean) / (std + eps), std unbiased (torch.std), population
    (correction=0), or none (Dr. GRPO: r - mean).  eps = 0: the limit, A = 0 in an all-equal group."""
    centred = rewards - rewards.mean(-1, keepdim=True)
    if normalisation == "none":
        return centred
    if normalisation not in ("unbiased", "population"):
        raise ValueError(f"normalisation must be 'none', 'unbiased' or 'population', got {normalisation!r}")
    std = rewards.std(-1, keepdim=True, correction=1 if normalisation == "unbiased" else 0)
    if eps == 0:  # the exact limit eps -> 0: an all-equal group (std = 0, centred = 0) has A = 0
        return torch.where(std > 0, centred / torch.where(std > 0, std, 1.0), 0.0)
    return centred / (std + eps)


def expected_group_update(batch, z, G: int, normalisation: str = "unbiased", eps: float = EPS) -> torch.Tensor:
    """E[(1/G) sum_i A_i grad log P(tau_i)] over every G-tuple of the enumerated trajectories (``batch`` from
    numerics.toy.enumerate_toy), exactly: the gradient in the logits (theta_s, theta_dC, theta_dW)."""
    if G < 2:
        raise ValueError(f"G must be >= 2, got {G}")
    z = check_logits(torch.as_tensor(z, dtype=DTYPE)).detach().clone().requires_grad_(True)
    logp = token_logprobs(batch, z).sum(-1)  # log P(tau) up to the constant multiplicity
    P = path_probs(batch, z).detach()
    r = batch.rewards()
    idx = torch.tensor(list(itertools.product(range(len(batch)), repeat=G)))  # [N^G, G]
    weight = P[idx].prod(-1)
    A = group_advantages(r[idx], normalisation, eps)
    obj = (weight * (A * logp[idx]).mean(-1)).sum()
    return torch.autograd.grad(obj, z)[0]


def zero_gradient_probability(batch, z, G: int) -> float:
    """P(all G rewards equal) by enumeration of the G-tuples."""
    P = path_probs(batch, check_logits(torch.as_tensor(z, dtype=DTYPE))).detach()
    r = batch.rewards()
    idx = torch.tensor(list(itertools.product(range(len(batch)), repeat=G)))
    same = (r[idx] == r[idx][:, :1]).all(-1)
    return float((P[idx].prod(-1) * same).sum())
