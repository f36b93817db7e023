"""The per-stage gradient attribution probe for causal language models.

    result = attribute(model, batch, objective)

``model(input_ids=..., attention_mask=...)`` must return an object with ``.logits`` [B, n, V] (any Hugging Face
causal LM).  ``batch`` is an :class:`LMBatch`: token ids, attention mask and a per-token stage mask
(0 prompt/pad, 1 sampling, 2 decision), plus whatever the objective needs (old/ref log-probs, advantages) aligned
with the tokens.  Cost: one forward pass, one backward through the loss alone (to d loss / d logp), and one
backward through the model per stage (two): no per-token loops.  The stage gradients sum to the full gradient.
For GPT-2 / Llama / Qwen2 / Qwen3 / Mistral (``HEAD_SPLIT_TYPES``) the LM head is applied per stage: the trunk
runs once, and each stage's backward goes through the full-vocabulary head only at that stage's positions (the
decision backward skips the head product at every sampling token).  Other models use their ``.logits``.

Training mode: dropout would make every call's ratio differ, so the probe always runs the model in eval mode.  A
model passed in training mode is switched to eval() for the call, with a ``warnings.warn`` saying so, and every
module's mode is restored afterwards; wrap the call in :func:`eval_mode` to do the same without the warning.

Errors: ValueError for a batch whose advantages / old_logp / ref_logp / seq_weights, or whose logits, are not
finite (the message names the tensor), and for a model with no trainable parameter.  A gradient that is exactly
zero at both stages (e.g. every advantage 0) is not an error: ``attribute`` warns (RuntimeWarning) and returns
ratio and cosine nan.

Under torch.distributed (DDP or plain data parallel), each rank computes on its shard and the stage gradients
are averaged across ranks -- the same reduction DDP applies to .grad, so with equal shards and a per-sequence
aggregation the result equals the single-process one.
"""

from __future__ import annotations

import contextlib
import math
import warnings
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
    seq_weights: torch.Tensor | None = None  # [B]; e.g. P(tau) for exact expectations over an enumerated batch

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
        for name in ("advantages", "old_logp", "ref_logp", "seq_weights"):
            t = getattr(self, name)
            if t is not None and not bool(torch.isfinite(t).all()):
                raise ValueError(f"batch.{name} is not finite: {_count_nonfinite(t)}")

    def token_counts(self) -> dict[str, int]:
        """Tokens per stage: {"sampling": ..., "decision": ...}."""
        return {"sampling": int((self.stage == SAMPLING).sum()), "decision": int((self.stage == DECISION).sum())}

    def token_batch(self) -> TokenBatch:
        return TokenBatch(stage=self.stage, advantages=self.advantages, old_logp=self.old_logp,
                          ref_logp=self.ref_logp, seq_weights=self.seq_weights)


@dataclass
class Attribution:
    norms: dict[str, float]  # sampling, decision, total
    ratio: float  # ||g_sampling|| / ||g_decision||
    inner: float  # <g_sampling, g_decision>: the shared-parameter cross-term
    cosine: float
    groups: dict[str, dict[str, float]]  # group -> {sampling, decision} norms
    tokens: dict[str, int] = field(default_factory=dict)  # tokens per stage: {sampling, decision}
    grads: dict[str, list[torch.Tensor]] = field(repr=False, default_factory=dict)

    def table(self) -> str:
        lines = [f"{'group':12s} {'|g_sampling|':>14s} {'|g_decision|':>14s} {'ratio':>9s}"]
        for g, v in self.groups.items():
            r = v["sampling"] / v["decision"] if v["decision"] > 0 else float("inf")
            lines.append(f"{g:12s} {v['sampling']:14.4e} {v['decision']:14.4e} {r:9.2f}")
        lines.append(f"{'all':12s} {self.norms['sampling']:14.4e} {self.norms['decision']:14.4e} {self.ratio:9.2f}")
        if self.tokens:
            s, d = self.tokens["sampling"], self.tokens["decision"]
            lines.append(f"{'tokens':12s} {s:14d} {d:14d} {s / d if d else float('inf'):9.2f}")
        lines.append(f"cross-term <g_s, g_d> = {self.inner:.4e}, cosine = {self.cosine:.4f}, "
                     f"||g|| = {self.norms['total']:.4e}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Everything but the gradients, JSON-ready: non-finite numbers (an undefined ratio) become None."""
        fin = lambda x: x if math.isfinite(x) else None  # noqa: E731
        return {"norms": {k: fin(v) for k, v in self.norms.items()}, "ratio": fin(self.ratio),
                "inner": fin(self.inner), "cosine": fin(self.cosine),
                "groups": {g: {k: fin(v) for k, v in d.items()} for g, d in self.groups.items()},
                "tokens": dict(self.tokens)}


def _count_nonfinite(t: torch.Tensor) -> str:
    return (f"{int(torch.isnan(t).sum())} nan and {int(torch.isinf(t).sum())} inf of {t.numel()} entries "
            f"(shape {tuple(t.shape)})")


def _check_logits(logits: torch.Tensor, where: str) -> None:
    if not bool(torch.isfinite(logits).all()):
        raise ValueError(f"the model's logits are not finite{where}: {_count_nonfinite(logits)}")


@contextlib.contextmanager
def eval_mode(model):
    """Run the block with every module of ``model`` in eval mode (no dropout), restoring each module's own
    training flag afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


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
    _check_logits(logits, "")
    return torch.nn.functional.pad(_gather_logprob(logits[:, :-1], batch.input_ids[:, 1:]), (1, 0))


#: HF model types whose logits are exactly lm_head(base_model(...).last_hidden_state) (no soft-capping, no scale)
HEAD_SPLIT_TYPES = ("gpt2", "llama", "qwen2", "qwen3", "mistral")


def _body_and_head(module):
    """(trunk, head) when the LM head can be applied per stage (see stage_logprobs), else None."""
    cfg = getattr(module, "config", None)
    if getattr(cfg, "model_type", None) not in HEAD_SPLIT_TYPES:
        return None
    body, head = getattr(module, "base_model", None), module.get_output_embeddings()
    if body is None or body is module or head is None:
        return None
    return body, head


def _gather_logprob(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    lp = torch.log_softmax(logits.float() if logits.dtype == torch.bfloat16 else logits, dim=-1)
    return lp.gather(-1, targets[..., None]).squeeze(-1)


def stage_logprobs(module, batch: LMBatch) -> dict[str, torch.Tensor] | None:
    """Per-stage log-probs, {"sampling": [B, n], "decision": [B, n]}, zero off their stage: one trunk forward, the
    LM head applied to each stage's positions only.  The decision backward then skips the head's full-vocabulary
    product at the (many) sampling positions.  None for architectures outside HEAD_SPLIT_TYPES (then the full
    logits path, token_logprobs, is used)."""
    bh = _body_and_head(module)
    if bh is None:
        return None
    body, head = bh
    h = body(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state[:, :-1]
    targets = batch.input_ids[:, 1:]
    out = {}
    for name, code in (("sampling", SAMPLING), ("decision", DECISION)):
        m = batch.stage[:, 1:] == code
        logits = head(h[m])
        _check_logits(logits, f" at the {name} positions")
        lp = _gather_logprob(logits, targets[m])
        full = torch.zeros(batch.input_ids.shape, dtype=lp.dtype, device=lp.device)
        full[:, 1:] = full[:, 1:].masked_scatter(m, lp)
        out[name] = full
    return out


def _reductions(named, gs, gd) -> tuple[float, float, float, dict[str, dict[str, float]]]:
    """||g_s||, ||g_d||, <g_s, g_d> and per-group norms, with one device synchronisation (bf16 gradients are
    reduced in float32, others in their own dtype)."""
    up = lambda x: x.float() if x.dtype == torch.bfloat16 else x  # noqa: E731
    rows = torch.stack([torch.stack([up(a).pow(2).sum(), up(b).pow(2).sum(), (up(a) * up(b)).sum()]).double()
                        for a, b in zip(gs, gd)]).cpu()
    ss, sd, sx = (float(v) for v in rows.sum(0))
    groups: dict[str, dict[str, float]] = {k: {"sampling": 0.0, "decision": 0.0} for k in GROUPS}
    for (name, _), (a2, b2, _) in zip(named, rows.tolist()):
        grp = groups[param_group(name)]
        grp["sampling"] += a2
        grp["decision"] += b2
    groups = {k: {s: v ** 0.5 for s, v in d.items()} for k, d in groups.items() if d["sampling"] + d["decision"] > 0}
    return ss ** 0.5, sd ** 0.5, sx, groups


def attribute(model, batch: LMBatch, objective: Objective, keep_grads: bool = False, reduce: bool = True
              ) -> Attribution:
    """Per-stage gradient attribution of ``objective`` on ``model`` and ``batch`` (see the module doc).

    The model runs in eval mode (no dropout: the result is a function of the weights and the batch).  Given a
    model in training mode, it warns, evaluates in eval mode and restores every module's mode before returning;
    call it inside :func:`eval_mode` to skip the warning.

    Raises ValueError when the batch's advantages / old_logp / ref_logp / seq_weights or the model's logits hold
    nan or inf (naming which), and when the model has no trainable parameter.  When the gradient is exactly zero
    at both stages it warns (RuntimeWarning) and the ratio and cosine are nan.  ``reduce=False`` skips the
    average across torch.distributed ranks (for a caller that accumulates micro-batches and reduces once).
    """
    batch.validate()
    module = model.module if hasattr(model, "module") else model
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError(f"{type(module).__name__} has no trainable parameter (requires_grad is False everywhere): "
                         "there is no gradient to attribute")
    params = [p for _, p in named]
    if any(m.training for m in model.modules()):
        warnings.warn(f"attribute(): {type(module).__name__} was in training mode; the probe switched it to eval() "
                      "(dropout off, so the ratio does not change from call to call) and restored its mode "
                      "afterwards", UserWarning, stacklevel=2)
    with eval_mode(model):
        logp = stage_logprobs(module, batch)
        if logp is None:
            logp = token_logprobs(model, batch)
        split = stage_split(logp, objective, batch.token_batch(), params)
    gs, gd = split["sampling"], split["decision"]
    if reduce and dist.is_available() and dist.is_initialized():
        world = dist.get_world_size()
        for g in gs + gd:
            dist.all_reduce(g)
            g /= world
    ns, nd, inner, groups = _reductions(named, gs, gd)
    total = max(ns ** 2 + nd ** 2 + 2 * inner, 0.0) ** 0.5
    if ns == 0 and nd == 0:
        warnings.warn(f"attribute(): the gradient of {objective.name} {objective.options} is exactly zero at both "
                      "stages (e.g. every advantage is 0, or k1 as a loss): the ratio and cosine are undefined (nan)",
                      RuntimeWarning, stacklevel=2)
        ratio = cosine = math.nan
    else:
        ratio = ns / nd if nd > 0 else math.inf
        cosine = inner / (ns * nd) if ns * nd > 0 else 0.0
    return Attribution({"sampling": ns, "decision": nd, "total": total}, ratio, inner, cosine, groups,
                       batch.token_counts(), {"sampling": gs, "decision": gd} if keep_grads else {})
