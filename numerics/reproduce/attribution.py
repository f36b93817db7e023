"""The per-stage gradient attribution recorded during training (numerics.probe.attribute: the sampling and
decision stages' gradient norms, their ratio and cosine)."""

from __future__ import annotations

from ..probe import LMBatch, attribute, eval_mode


def attribution_record(model, batch: LMBatch, objective, phase: str, step: int) -> dict:
    """One probe of ``objective`` on ``batch`` at optimiser step ``step`` of ``phase``."""
    with eval_mode(model):  # the probe evaluates without dropout; the training loop's mode is restored after
        r = attribute(model, batch, objective)
    return dict(phase=phase, step=step, objective=objective.name, sampling=r.norms["sampling"],
                decision=r.norms["decision"], ratio=r.ratio, cosine=r.cosine)
