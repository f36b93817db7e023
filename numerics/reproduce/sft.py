"""Supervised training (§4's base pretraining and SFT): token-mean next-token loss on generated batches."""

from __future__ import annotations

import math

import torch

from .. import objectives
from ..probe import LMBatch, token_logprobs
from .attribution import attribution_record
from .demonstrations import lm_batch
from .presets import Preset


def train_supervised(model, preset: Preset, steps: int, make_batch, phase: str, attr_batch: LMBatch | None = None,
                     progress=None, on_step=None, stop_after: int | None = None) -> tuple[list[float], list[dict]]:
    """Token-mean SFT (numerics.objectives.sft) on batches from ``make_batch()``; the attribution probe runs on
    ``attr_batch`` every ``attr_every`` steps.  ``on_step(step, model)`` is called after each optimiser step;
    ``stop_after`` ends training after that many of the ``steps`` steps (the learning-rate schedule is still the one
    of ``steps``: the first ``stop_after`` steps are those of the full phase)."""
    obj = objectives.sft()
    opt = torch.optim.AdamW(model.parameters(), lr=preset.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + math.cos(math.pi * s / steps)))
    losses, attr = [], []
    model.train()
    for step in range(steps if stop_after is None else min(steps, stop_after)):
        if attr_batch is not None and step % preset.attr_every == 0:
            attr.append(attribution_record(model, attr_batch, obj, phase, step))
        ep = make_batch()
        b = lm_batch(ep)
        loss = obj(token_logprobs(model, b), b.token_batch())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if on_step:
            on_step(step, model)
        if progress:
            progress(phase, loss.item())
    return losses, attr
