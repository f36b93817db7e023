"""Discounted per-token returns on the enumerated toy model, and their per-stage policy gradient by autograd: the
independent forward that theory.values is tested against (Theorems 3.1 and 3.2 with gamma < 1).

Every token ordering is enumerated (``grouped=False``): a token's discounted return depends on where in the attempt
it sits.  A token's return is G_t = sum_{t' >= t} gamma^(t' - t) r_t' with r the terminal reward on the last token
('terminal') or k1 = log pi / pi_ref of every token, detached ('k1', the penalty counted positive).  The per-stage
gradient is sum_tau P(tau) sum_{t in stage} G_t grad log pi(y_t | y_<t), P and G detached, differentiated by
autograd.
"""

from __future__ import annotations

import torch

from .toy import DECISION, DTYPE, SAMPLING, check_logits, enumerate_toy, path_probs, token_logprobs

REWARDS = ("terminal", "k1")


def discounted_returns(rewards: torch.Tensor, mask: torch.Tensor, gamma: float,
                       stage: torch.Tensor | None = None) -> torch.Tensor:
    """G_t = sum_{t' >= t} gamma^(t' - t) r_t' along each row (pads carry no reward and are skipped: the rows are
    left-aligned, so a pad only ever follows the last token).  With ``stage`` (the stage code of each token) the
    discount counts stages instead of tokens: gamma^(stages between t and t'), one step wherever the stage code
    changes (Theorem 3.2's per-stage recursion)."""
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must lie in (0, 1], got {gamma}")
    out = torch.zeros_like(rewards)
    running = torch.zeros(rewards.shape[0], dtype=rewards.dtype)
    for t in range(rewards.shape[1] - 1, -1, -1):
        if stage is None or t == rewards.shape[1] - 1:
            step = gamma if stage is None else torch.ones(rewards.shape[0], dtype=rewards.dtype)
        else:
            step = torch.where(stage[:, t + 1] != stage[:, t], torch.tensor(gamma, dtype=rewards.dtype),
                               torch.tensor(1.0, dtype=rewards.dtype))
        running = torch.where(mask[:, t], rewards[:, t] + step * running, running)
        out[:, t] = running
    return out


def discounted_stage_gradients(T: int, L: int, z, gamma: float, reward: str = "terminal", z_ref=None,
                               rewards=(1.0, 0.0), discount: str = "token") -> torch.Tensor:
    """(sampling d/dtheta_s, decision d/dtheta_dC, decision d/dtheta_dW) of the discounted policy gradient, exact by
    enumeration and autograd; ``discount``: 'token' (gamma per token) or 'stage' (gamma per stage)."""
    if discount not in ("token", "stage"):
        raise ValueError(f"discount must be 'token' or 'stage', got {discount!r}")
    if reward not in REWARDS:
        raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
    batch = enumerate_toy(T, L, grouped=False)
    z = check_logits(z).clone().requires_grad_(True)
    logp = token_logprobs(batch, z)
    mask = batch.mask
    if reward == "terminal":
        last = mask.long().sum(-1) - 1
        r = torch.zeros(logp.shape, dtype=DTYPE)
        r[torch.arange(len(batch)), last] = batch.rewards(*rewards)
    else:
        if z_ref is None:
            raise ValueError("reward='k1' needs the reference logits z_ref")
        r = (logp - token_logprobs(batch, check_logits(z_ref))).detach() * mask
    G = discounted_returns(r, mask, gamma, batch.stage if discount == "stage" else None)
    P = path_probs(batch, z).detach()
    out = []
    for stage, idx in ((SAMPLING, 0), (DECISION, 1), (DECISION, 2)):
        obj = (P * (G * logp * (batch.stage == stage)).sum(-1)).sum()
        out.append(torch.autograd.grad(obj, z, retain_graph=True)[0][idx])
    return torch.stack(out)



def expected_first_return(T: int, L: int, z, gamma: float, reward: str = "k1", z_ref=None, rewards=(1.0, 0.0)) -> float:
    """E[G_1], the expected discounted return credited to the first token (for reward='k1' and T = 1: the
    discounted KL of one attempt, the paper's d^sample with discount), exact by enumeration."""
    batch = enumerate_toy(T, L, grouped=False)
    z = check_logits(z)
    logp = token_logprobs(batch, z)
    mask = batch.mask
    if reward == "terminal":
        r = torch.zeros(logp.shape, dtype=DTYPE)
        r[torch.arange(len(batch)), mask.long().sum(-1) - 1] = batch.rewards(*rewards)
    else:
        r = (logp - token_logprobs(batch, check_logits(z_ref))) * mask
    return float((path_probs(batch, z) * discounted_returns(r, mask, gamma)[:, 0]).sum())


__all__ = ["discounted_returns", "discounted_stage_gradients", "expected_first_return"]
