"""The per-stage gradient attribution probe for causal language models.

    result = attribute(model, batch, objective)

``model(input_ids=..., attention_mask=...)`` must return an object with ``.logits`` [B, n, V] (any Hugging Face
causal LM).  ``batch`` is an :class:`LMBatch`: token ids, attention mask and a per-token stage mask
(0 prompt/pad, 1 sampling, 2 decision), plus whatever the objective needs (old/ref log-probs, advantages) aligned
with the tokens.  Cost: one forward pass, one backward through the loss alone (to d loss / d logp), and one
backward through the model per stage (two): no per-token loops.  The stage gradients sum to the full gradient.

Under torch.distributed (DDP or plain data parallel), each rank computes on its shard and the stage gradients
are averaged across ranks -- the same reduction DDP applies to .grad, so with equal shards and a per-sequence
aggregation the result equals the single-process one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from .attribution import stage_split
from .objectives import DECISION, SAMPLING, Objective, TokenBatch

GROUPS = ("embeddings", "attention", "mlp", "head", "other")


@dataclass
class LMBatch:
    input_ids: torch.Tensor  # [B, n]
    attention_mask: torch.Tensor  # [B, n]
    stage: torch.Tensor  # [B, n]: 0 prompt/pad, 1 sampling, 2 decision (the stage of the token at position t)
    advantages: torch.Tensor | None = None
    old_logp: torch.Tensor | None = None
    ref_logp: torch.Tensor | None = None

    def validate(self) -> None:
        if self.input_ids.shape != self.stage.shape or self.attention_mask.shape != self.stage.shape:
            raise ValueError(f"input_ids {tuple(self.input_ids.shape)}, attention_mask "
                             f"{tuple(self.attention_mask.shape)} and stage {tuple(self.stage.shape)} must match")
        if (self.stage[:, 0] != 0).any():
            raise ValueError("position 0 has no prediction: its stage must be 0 (prompt)")
        if ((self.stage > 0) & (self.attention_mask == 0)).any():
            raise ValueError("padding inconsistent with the attention mask: some response tokens (stage > 0) have "
                             "attention_mask = 0")
        if not (self.stage == DECISION).any():
            raise ValueError("the stage mask marks no decision tokens (stage == 2): nothing to attribute to pi_d")
        if not (self.stage == SAMPLING).any():
            raise ValueError("the stage mask marks no sampling tokens (stage == 1): nothing to attribute to pi_sample")

    def token_batch(self) -> TokenBatch:
        return TokenBatch(stage=self.stage, advantages=self.advantages, old_logp=self.old_logp,
                          ref_logp=self.ref_logp)


@dataclass
class Attribution:
    norms: dict[str, float]  # sampling, decision, total
    ratio: float  # ||g_sampling|| / ||g_decision||
    inner: float  # <g_sampling, g_decision>: the shared-parameter cross-term
    cosine: float
    groups: dict[str, dict[str, float]]  # group -> {sampling, decision} norms
    grads: dict[str, list[torch.Tensor]] = field(repr=False, default_factory=dict)

    def table(self) -> str:
        lines = [f"{'group':12s} {'|g_sampling|':>14s} {'|g_decision|':>14s} {'ratio':>9s}"]
        for g, v in self.groups.items():
            r = v["sampling"] / v["decision"] if v["decision"] > 0 else float("inf")
            lines.append(f"{g:12s} {v['sampling']:14.4e} {v['decision']:14.4e} {r:9.2f}")
        lines.append(f"{'all':12s} {self.norms['sampling']:14.4e} {self.norms['decision']:14.4e} {self.ratio:9.2f}")
        lines.append(f"cross-term <g_s, g_d> = {self.inner:.4e}, cosine = {self.cosine:.4f}")
        return "\n".join(lines)


def param_group(name: str) -> str:
    """Coarse parameter groups of GPT-2 / Llama / Qwen2 style names."""
    n = name.lower()
    if "lm_head" in n:
        return "head"
    if any(k in n for k in ("wte", "wpe", "embed_tokens", "embeddings")):
        return "embeddings"
    if any(k in n for k in ("attn", "attention", "q_proj", "k_proj", "v_proj", "o_proj")):
        return "attention"
    if "mlp" in n or "feed_forward" in n:
        return "mlp"
    return "other"


def token_logprobs(model, batch: LMBatch) -> torch.Tensor:
    """logp[:, t] = log pi(input_ids[:, t] | input_ids[:, <t]) for t >= 1, 0 at t = 0 (one forward pass)."""
    out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
    logits = getattr(out, "logits", None)
    if logits is None:
        raise TypeError(f"the model's output {type(out).__name__} has no .logits: attribute() needs a causal LM "
                        "returning logits [B, n, V]")
    lp = torch.log_softmax(logits[:, :-1].float() if logits.dtype == torch.bfloat16 else logits[:, :-1], dim=-1)
    tok = lp.gather(-1, batch.input_ids[:, 1:, None]).squeeze(-1)
    return torch.nn.functional.pad(tok, (1, 0))


def _flat_dot(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return float(sum((x.double() * y.double()).sum() for x, y in zip(a, b)))


def attribute(model, batch: LMBatch, objective: Objective, keep_grads: bool = False) -> Attribution:
    """Per-stage gradient attribution of ``objective`` on ``model`` and ``batch`` (see the module doc)."""
    batch.validate()
    module = model.module if hasattr(model, "module") else model
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    logp = token_logprobs(model, batch)
    split = stage_split(logp, objective, batch.token_batch(), params)
    gs, gd = split["sampling"], split["decision"]
    if dist.is_available() and dist.is_initialized():
        world = dist.get_world_size()
        for g in gs + gd:
            dist.all_reduce(g)
            g /= world
    ns, nd = _flat_dot(gs, gs) ** 0.5, _flat_dot(gd, gd) ** 0.5
    inner = _flat_dot(gs, gd)
    groups: dict[str, dict[str, float]] = {k: {"sampling": 0.0, "decision": 0.0} for k in GROUPS}
    for (name, _), a, b in zip(named, gs, gd):
        grp = groups[param_group(name)]
        grp["sampling"] += float(a.double().pow(2).sum())
        grp["decision"] += float(b.double().pow(2).sum())
    groups = {k: {s: v ** 0.5 for s, v in d.items()} for k, d in groups.items() if d["sampling"] + d["decision"] > 0}
    total = (ns ** 2 + nd ** 2 + 2 * inner) ** 0.5
    return Attribution({"sampling": ns, "decision": nd, "total": total}, ns / nd if nd > 0 else float("inf"), inner,
                       inner / (ns * nd) if ns * nd > 0 else 0.0, groups,
                       {"sampling": gs, "decision": gd} if keep_grads else {})
