"""§4's RL phase: GRPO with a verifiable reward (the final attempt is the product), group-normalised advantages,
the token-level clipped surrogate of numerics.objectives and a KL loss to the frozen SFT-reflect reference."""

from __future__ import annotations

import torch

from .. import objectives
from ..probe import token_logprobs
from .attribution import attribution_record
from .demonstrations import lm_batch
from .generation import generate, sample_prompts
from .presets import Preset

#: kl_type -> (k-estimator of numerics.objectives.kl, clamp): verl's ``low_var_kl`` (k3, clamped) as in the
#: paper, ``kl`` (k1), ``mse`` (k2) or ``none``
KL_TYPES = {"low_var_kl": ("k3", 10.0), "kl": ("k1", None), "mse": ("k2", None), "none": (None, None)}


def grpo_advantages(rewards: torch.Tensor, group: int, eps: float = 1e-6) -> torch.Tensor:
    """(R - mean_group) / (std_group + eps), groups of ``group`` consecutive samples (GRPO, verl's default)."""
    r = rewards.view(-1, group)
    return ((r - r.mean(-1, keepdim=True)) / (r.std(-1, keepdim=True) + eps)).flatten()


def rl_objectives(preset: Preset):
    """The policy-gradient surrogate and the KL loss (None for kl_type 'none') of the preset."""
    est, clamp = KL_TYPES[preset.kl_type]
    pg = objectives.surrogate(loss_agg_mode="token-mean", clip=(0.2, 0.28), dual_clip=3.0)
    return pg, (objectives.kl(est, "loss", loss_agg_mode="token-mean", clamp=clamp) if est else None)


def train_rl(model, ref, preset: Preset, rng, generator, progress=None) -> tuple[list[dict], list[dict]]:
    """GRPO: per step, ``rl_prompts`` prompts x ``group`` samples, reward = final attempt correct, one on-policy
    update of surrogate + kl_coef * KL(k-estimator, loss placement) to the frozen reference."""
    if preset.kl_type not in KL_TYPES:
        raise ValueError(f"kl_type must be one of {tuple(KL_TYPES)}, got {preset.kl_type!r}")
    pg, klo = rl_objectives(preset)
    opt = torch.optim.AdamW(model.parameters(), lr=preset.rl_lr, weight_decay=0.0)
    log, attr = [], []
    for step in range(preset.rl_steps):
        n = int(preset.id_digits[step % len(preset.id_digits)])
        prompts, prods = sample_prompts(preset, n, preset.rl_prompts, rng)
        prompts = [p for p in prompts for _ in range(preset.group)]
        prods = [v for v in prods for _ in range(preset.group)]
        ep = generate(model, prompts, prods, n, preset, generator)
        R = ep.final_correct.to(preset.device)
        A = grpo_advantages(R, preset.group)
        with torch.no_grad():
            old = token_logprobs(model, lm_batch(ep))
            ref_lp = token_logprobs(ref, lm_batch(ep)) if klo else None
        b = lm_batch(ep, advantages=A, old_logp=old, ref_logp=ref_lp)
        if step % preset.attr_every == 0 and (ep.stage == 2).any() and A.abs().sum() > 0:
            attr.append(attribution_record(model, b, pg, "rl", step))
        model.train()
        logp = token_logprobs(model, b)
        tb = b.token_batch()
        loss_pg = pg(logp, tb)
        loss_kl = klo(logp, tb) if klo else torch.zeros((), device=logp.device)
        loss = loss_pg + preset.kl_coef * loss_kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        log.append(dict(step=step, n=n, reward=R.mean().item(), pg=loss_pg.item(), kl=loss_kl.item()))
        if progress:
            progress("rl", R.mean().item())
    return log, attr
