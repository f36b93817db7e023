"""A researcher's own rollouts: read a JSONL file, tokenize with the checkpoint's tokenizer, find the decision
spans, and probe the per-stage gradients in micro-batches.

    rollouts = read_rollouts("rollouts.jsonl")                       # one trajectory per line
    encoded, skipped = encode_all(tokenizer, rollouts, Segmenter(), max_len)
    result = probe_rollouts(model, encoded, objective, micro_batch=8)   # an Attribution over the whole file

File format, one JSON object per line: ``prompt`` (str), ``response`` (str, non-empty), and ``reward`` or
``advantage`` (number); optional ``group`` (the GRPO group id: rewards become advantages
(r - mean_group) / (std_group + 1e-6)), ``old_logp`` and ``ref_logp`` (one log-prob per response token, as the
checkpoint's tokenizer splits the response).  Without ``group`` a ``reward`` is used as the advantage as is.
Without ``old_logp`` the probed model's own log-probs are used (on-policy).

Segmentation (the paper found its decisions by lexical markers inside one generation, e.g. "I'll go back and
check", "Let me recompute", "I made a mistake"): the character spans of the markers (case-insensitive), of
user regular expressions, or of explicit tags (``<stop>``, ``<resample>``) in the response are the decision
spans; a response token is a decision token when its character range (the tokenizer's offset mapping) overlaps a
decision span; every other response token is sampling; the prompt (with the chat template, if the tokenizer has
one) is stage 0.  A rollout without a decision span, or without a sampling token, is reported and skipped.

Micro-batching: the objectives aggregate per-sequence sums over one normaliser for the whole batch (token-mean:
the number of response tokens; seq-mean modes: the number of sequences; token-sum: none).  A micro-batch k's loss
L_k carries its own normaliser U_k, so the whole file's loss is sum_k (U_k / U) L_k, and its stage gradients are
sum_k (U_k / U) g_k: exact, with memory bounded by one micro-batch (its activations and its two stage
gradients) plus two parameter-sized accumulators (float32 for a bf16/fp16 model).  Under
torch.distributed each rank takes the rollouts i with i % world == rank; U is summed over ranks and the weighted
stage gradients are summed across ranks (the same as averaging per-rank means weighted by their share).
"""

from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist

from .objectives import DECISION, PROMPT, SAMPLING, Objective
from .probe import Attribution, LMBatch, _reductions, attribute, eval_mode, token_logprobs

#: the paper's lexical markers of a decision inside one generation, and close variants
DEFAULT_MARKERS = ("I'll go back and check", "I will go back and check", "Let me recompute", "Let me re-check",
                   "Let me check again", "Let me double-check", "I made a mistake", "Wait, that's wrong",
                   "Let me try again", "Let me reconsider")
#: explicit tags accepted by --tags (the §4 task's STOP / RESAMPLE decisions written as tags)
DEFAULT_TAGS = ("<stop>", "<resample>", "STOP", "RESAMPLE")


class RolloutError(ValueError):
    """A bad rollout file: the message names the file, the line number and the field."""


@dataclass
class Rollout:
    line: int
    prompt: str
    response: str
    advantage: float
    group: object = None
    old_logp: list[float] | None = None
    ref_logp: list[float] | None = None


def _number(obj: dict, key: str, where: str) -> float:
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise RolloutError(f"{where}: field {key!r} must be a finite number, got {v!r}")
    return float(v)


def read_rollouts(path) -> list[Rollout]:
    """Parse the JSONL file (see the module doc); GRPO-normalise rewards within each ``group``."""
    path = Path(path)
    rows: list[Rollout] = []
    rewards: dict[int, float] = {}
    for n, text in enumerate(path.read_text().splitlines(), start=1):
        if not text.strip():
            continue
        where = f"{path}: line {n}"
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RolloutError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise RolloutError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        for key in ("prompt", "response"):
            if key not in obj:
                raise RolloutError(f"{where}: missing field {key!r}")
            if not isinstance(obj[key], str):
                raise RolloutError(f"{where}: field {key!r} must be a string")
        if not obj["response"].strip():
            raise RolloutError(f"{where}: field 'response' is empty")
        if "advantage" in obj:
            adv = _number(obj, "advantage", where)
        elif "reward" in obj:
            adv = rewards[len(rows)] = _number(obj, "reward", where)
        else:
            raise RolloutError(f"{where}: missing field 'reward' or 'advantage'")
        logps = {}
        for key in ("old_logp", "ref_logp"):
            v = obj.get(key)
            if v is not None and (not isinstance(v, list) or not all(isinstance(x, (int, float)) and
                                                                     math.isfinite(x) for x in v)):
                raise RolloutError(f"{where}: field {key!r} must be a list of finite numbers (one per response "
                                   "token)")
            logps[key] = v
        rows.append(Rollout(n, obj["prompt"], obj["response"], adv, obj.get("group"), **logps))
    if not rows:
        raise RolloutError(f"{path}: no rollouts (the file is empty)")
    groups: dict = {}
    for i, r in enumerate(rows):
        if i in rewards and r.group is not None:
            groups.setdefault(json.dumps(r.group), []).append(i)
    for members in groups.values():
        vals = torch.tensor([rewards[i] for i in members], dtype=torch.float64)
        std = float(vals.std()) if len(members) > 1 else 0.0
        for i in members:
            rows[i].advantage = (rewards[i] - float(vals.mean())) / (std + 1e-6)
    return rows


def merge_spans(spans) -> list[tuple[int, int]]:
    """Character spans [start, end) sorted, with overlapping or touching ones merged into one."""
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


@dataclass
class Segmenter:
    """Finds decision spans (character ranges) in a response: literal markers (case-insensitive), regular
    expressions, explicit tags."""

    markers: tuple[str, ...] = DEFAULT_MARKERS
    regexes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    _patterns: list = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pats = [re.compile(re.escape(m), re.IGNORECASE) for m in self.markers if m]
        pats += [re.compile(re.escape(t)) for t in self.tags if t]
        for rx in self.regexes:
            try:
                pats.append(re.compile(rx))
            except re.error as exc:
                raise ValueError(f"bad regular expression {rx!r}: {exc}") from None
        if not pats:
            raise ValueError("no markers, regular expressions or tags: nothing can mark a decision")
        self._patterns = pats

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Sorted, merged, non-empty character spans [start, end) of every match."""
        return merge_spans((m.start(), m.end()) for p in self._patterns for m in p.finditer(text)
                           if m.end() > m.start())


@dataclass
class Encoded:
    """One tokenized rollout: ids and stage per position, the response tokens' character offsets."""

    line: int
    ids: list[int]
    stage: list[int]  # 0 prompt, 1 sampling, 2 decision
    offsets: list[tuple[int, int]]  # per response token, into the response text
    response: str
    advantage: float
    old_logp: list[float] | None = None
    ref_logp: list[float] | None = None
    group: object = None  # the GRPO group id, if the line had one

    @property
    def n_prompt(self) -> int:
        return len(self.ids) - len(self.offsets)


def prompt_text(tokenizer, prompt: str) -> tuple[str, bool]:
    """The prompt as the model sees it: through the chat template when the tokenizer has one (then the template
    carries the special tokens, so none are added again)."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True), False
    return prompt, True


def encode(tokenizer, rollout: Rollout, segmenter: Segmenter, max_len: int | None) -> Encoded:
    """Tokenize prompt and response separately (so no token straddles them) and label each response token by
    whether its character range overlaps a decision span."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{type(tokenizer).__name__} is not a fast tokenizer: the offset mapping that locates the "
                         "decision spans needs one (tokenizer.json)")
    where = f"line {rollout.line}"
    text, special = prompt_text(tokenizer, rollout.prompt)
    p_ids = tokenizer(text, add_special_tokens=special)["input_ids"]
    if not p_ids:
        raise RolloutError(f"{where}: field 'prompt' encodes to no token (position 0 has no prediction: a "
                           "response needs a prompt token before it)")
    enc = tokenizer(rollout.response, add_special_tokens=False, return_offsets_mapping=True)
    r_ids, offsets = enc["input_ids"], [tuple(o) for o in enc["offset_mapping"]]
    ids = list(p_ids) + list(r_ids)
    if max_len is not None and len(ids) > max_len:
        raise RolloutError(f"{where}: prompt + response is {len(ids)} tokens, longer than the model's context "
                           f"({max_len})")
    spans = segmenter.spans(rollout.response)
    stage = [PROMPT] * len(p_ids) + [DECISION if any(a < e and s < b for s, e in spans) else SAMPLING
                                     for a, b in offsets]
    for key in ("old_logp", "ref_logp"):
        v = getattr(rollout, key)
        if v is not None and len(v) != len(r_ids):
            raise RolloutError(f"{where}: field {key!r} has {len(v)} entries, the response has {len(r_ids)} tokens")
    return Encoded(rollout.line, ids, stage, offsets, rollout.response, rollout.advantage, rollout.old_logp,
                   rollout.ref_logp, rollout.group)


def encode_all(tokenizer, rollouts: list[Rollout], segmenter: Segmenter, max_len: int | None
               ) -> tuple[list[Encoded], dict[int, str]]:
    """Encode every rollout; those without a decision token or without a sampling token are left out and
    returned as {line: reason}."""
    kept, skipped = [], {}
    for r in rollouts:
        e = encode(tokenizer, r, segmenter, max_len)
        if DECISION not in e.stage:
            skipped[r.line] = "no decision span"
        elif SAMPLING not in e.stage:
            skipped[r.line] = "no sampling token (the whole response is decision)"
        else:
            kept.append(e)
    return kept, skipped


def highlight(e: Encoded, open_: str = "[[", close: str = "]]") -> str:
    """The response with its decision tokens' character ranges wrapped in open_ ... close."""
    out, pos, inside = [], 0, False
    for (a, b), s in zip(e.offsets, e.stage[e.n_prompt:]):
        if (s == DECISION) != inside:
            out.append(e.response[pos:a] + (open_ if not inside else close))
            pos, inside = a, not inside
        out.append(e.response[pos:b])
        pos = b
    out.append((close if inside else "") + e.response[pos:])
    return "".join(out)


def collate(items: list[Encoded], pad_id: int = 0, device="cpu", dtype=torch.float64) -> LMBatch:
    """Right-padded LMBatch of the rollouts; old_logp / ref_logp where every rollout has them, else None."""
    n = max(len(e.ids) for e in items)
    pad = lambda xs, v: xs + [v] * (n - len(xs))  # noqa: E731
    ids = torch.tensor([pad(e.ids, pad_id) for e in items], device=device)
    stage = torch.tensor([pad(e.stage, PROMPT) for e in items], device=device)
    mask = torch.tensor([pad([1] * len(e.ids), 0) for e in items], device=device)
    adv = torch.tensor([e.advantage for e in items], device=device, dtype=dtype)
    logps = {}
    for key in ("old_logp", "ref_logp"):
        if all(getattr(e, key) is not None for e in items):
            logps[key] = torch.tensor([pad([0.0] * e.n_prompt + getattr(e, key), 0.0) for e in items],
                                      device=device, dtype=dtype)
    return LMBatch(ids, mask, stage, advantages=adv, **logps)


def normaliser_weights(objective: Objective, stage: torch.Tensor) -> torch.Tensor | None:
    """u_i with the objective's normaliser U = sum_i u_i (token-mean: response tokens n_i; the seq-mean modes: 1;
    token-sum: None, no normaliser).  A batch's loss is sum_i (u_i / U) L_i with L_i the one-sequence loss."""
    mode = objective.options.get("loss_agg_mode", objective.options.get("norm"))
    if mode == "token-mean":
        return (stage > 0).sum(-1).double()
    if mode in ("seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm"):
        return torch.ones(stage.shape[0], dtype=torch.float64, device=stage.device)
    if mode == "token-sum":
        return None
    raise ValueError(f"{objective.name} {objective.options}: unknown aggregation {mode!r}, cannot micro-batch it")


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard(items: list, rank: int, world: int) -> list:
    """This rank's rollouts: every world-th one from rank."""
    return items[rank::world]


def _on_policy(model, batch: LMBatch) -> LMBatch:
    """Fill a missing old_logp with the model's own log-probs (no gradient)."""
    if batch.old_logp is None:
        with torch.no_grad(), eval_mode(model):
            batch.old_logp = token_logprobs(model, batch).detach().to(batch.advantages)
    return batch


def micro_batches(model, items: list[Encoded], micro_batch: int, pad_id: int = 0):
    """Yield LMBatches of up to micro_batch rollouts on the model's device, old_logp filled on-policy."""
    p = next(model.parameters())
    for k in range(0, len(items), micro_batch):
        yield _on_policy(model, collate(items[k:k + micro_batch], pad_id, p.device, torch.float64
                                        if p.dtype == torch.float64 else torch.float32))


def _quiet_attribute(model, batch: LMBatch, objective: Objective) -> Attribution:
    """attribute() with its gradients, no cross-rank average, and no warning for a micro-batch whose gradient is
    zero (e.g. a GRPO group with equal rewards: its advantages are 0)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*exactly zero at both stages", category=RuntimeWarning)
        return attribute(model, batch, objective, keep_grads=True, reduce=False)


def probe_rollouts(model, items: list[Encoded], objective: Objective, micro_batch: int = 8, pad_id: int = 0,
                   progress=None, keep_grads: bool = False) -> Attribution:
    """Per-stage attribution of ``objective`` over all of ``items`` (this rank's shard under torch.distributed),
    accumulated over micro-batches (see the module doc); ``progress(n)`` is called after each micro-batch."""
    if not items:
        raise ValueError("no rollouts to probe (every one was skipped, or the file is empty)")
    rank, world = _world()
    mine = shard(items, rank, world)
    module = model.module if hasattr(model, "module") else model
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    u = [normaliser_weights(objective, torch.tensor([e.stage])) for e in mine]
    total = torch.tensor(0.0 if u[0] is None else float(sum(float(x) for x in u)), dtype=torch.float64)
    if world > 1:
        dist.all_reduce(total)
    up = torch.float32 if next(module.parameters()).dtype in (torch.bfloat16, torch.float16) else None
    acc = {s: [torch.zeros_like(p, dtype=up) for _, p in named] for s in ("sampling", "decision")}
    tokens = {"sampling": 0, "decision": 0}
    for k, batch in zip(range(0, len(mine), micro_batch), micro_batches(model, mine, micro_batch, pad_id)):
        share = 1.0 if u[0] is None else float(sum(float(x) for x in u[k:k + micro_batch])) / float(total)
        r = _quiet_attribute(model, batch, objective)
        for s in acc:
            for a, g in zip(acc[s], r.grads[s]):
                a.add_(g, alpha=share)
        for s in tokens:
            tokens[s] += r.tokens[s]
        del r  # this micro-batch's stage gradients go before the next one's are formed
        if progress is not None:
            progress(len(batch.input_ids))
    if world > 1:
        for g in acc["sampling"] + acc["decision"]:
            dist.all_reduce(g)
        t = torch.tensor([tokens["sampling"], tokens["decision"]])
        dist.all_reduce(t)
        tokens = {"sampling": int(t[0]), "decision": int(t[1])}
    gs, gd = acc["sampling"], acc["decision"]
    ns, nd, inner, groups = _reductions(named, gs, gd)
    ratio = ns / nd if nd > 0 else (math.nan if ns == 0 else math.inf)
    cosine = inner / (ns * nd) if ns * nd > 0 else math.nan
    total_norm = max(ns ** 2 + nd ** 2 + 2 * inner, 0.0) ** 0.5
    return Attribution({"sampling": ns, "decision": nd, "total": total_norm}, ratio, inner, cosine, groups, tokens,
                       {"sampling": gs, "decision": gd} if keep_grads else {})


def load_checkpoint(folder, dtype=torch.float64, device="cpu"):
    """(model in eval mode, tokenizer) from a local checkpoint folder, no network.  In float64 the RMSNorms are
    kept in float64 (see numerics.models.keep_rmsnorm_dtype)."""
    import transformers

    from .models import keep_rmsnorm_dtype

    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, local_files_only=True).to(device)
    if dtype == torch.float64:
        keep_rmsnorm_dtype(model)
    return model.eval(), tokenizer


def context_length(model) -> int | None:
    return getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)


@dataclass
class RolloutGrams:
    """Per-rollout stage gradients reduced to their Gram matrices: G[stage][i, j] = <g_i, g_j> for the
    one-rollout losses L_i, and u_i their normaliser weights (see :func:`normaliser_weights`).  Any reweighting
    a of the rollouts (a_i = n_i u_i / sum_j n_j u_j for a bootstrap resample with counts n) has stage norms
    sqrt(a^T G a): the ratio of every resample without another backward."""

    ss: torch.Tensor
    dd: torch.Tensor
    sd: torch.Tensor
    u: torch.Tensor | None  # None: token-sum, no normaliser

    def weights(self, counts: torch.Tensor) -> torch.Tensor:
        if self.u is None:
            return counts
        return counts * self.u / (counts * self.u).sum()

    def ratio(self, counts: torch.Tensor) -> torch.Tensor:
        """||g_s|| / ||g_d|| of the resample(s) with these counts ([N] or [R, N])."""
        a = self.weights(counts.double())
        quad = lambda G: torch.einsum("...i,ij,...j->...", a, G, a).clamp_min(0)  # noqa: E731
        return (quad(self.ss) / quad(self.dd)).sqrt()


def rollout_grams(model, items: list[Encoded], objective: Objective, pad_id: int = 0, progress=None) -> RolloutGrams:
    """One attribution per rollout (a micro-batch of one), flattened on the CPU in float64, reduced to Gram
    matrices.  Memory: N x (number of parameters) per stage while they are formed -- meant for the bootstrap CI
    of ``dsproof probe --compare`` on small models or a subsample of rollouts."""
    flat = {"sampling": [], "decision": []}
    for e in items:
        batch = next(micro_batches(model, [e], 1, pad_id))
        r = _quiet_attribute(model, batch, objective)
        for s in flat:
            flat[s].append(torch.cat([g.reshape(-1).double().cpu() for g in r.grads[s]]))
        if progress is not None:
            progress(1)
    S, D = torch.stack(flat["sampling"]), torch.stack(flat["decision"])
    u = [normaliser_weights(objective, torch.tensor([e.stage])) for e in items]
    return RolloutGrams(S @ S.T, D @ D.T, S @ D.T, None if u[0] is None else torch.cat(u))


def clusters(items: list[Encoded]) -> list[int]:
    """The bootstrap's resampling unit of each rollout, numbered from 0 in order of appearance: its GRPO group
    (rollouts of one group share a prompt and, through the group baseline, their advantages: they are not
    independent draws), or the rollout itself where it has no group."""
    ids: dict = {}
    return [ids.setdefault(("group", json.dumps(e.group)) if e.group is not None else ("line", e.line), len(ids))
            for e in items]


def bootstrap_subsample(items: list[Encoded], limit: int, seed: int = 0) -> list[Encoded]:
    """At most ``limit`` rollouts for the bootstrap CI, made of whole clusters (:func:`clusters`) drawn at random
    (seeded), in file order: a file sorted by prompt or by reward is not cut to its head.  At least one cluster."""
    unit = clusters(items)
    order = torch.randperm(max(unit) + 1, generator=torch.Generator().manual_seed(seed)).tolist()
    size = torch.bincount(torch.tensor(unit)).tolist()
    chosen, total = set(), 0
    for c in order:
        if chosen and total + size[c] > limit:
            continue
        chosen.add(c)
        total += size[c]
    return [e for e, c in zip(items, unit) if c in chosen]


def bootstrap_difference(a: RolloutGrams, b: RolloutGrams, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                         unit: list[int] | None = None) -> dict:
    """Paired bootstrap of ratio_b - ratio_a (the same resample for both checkpoints) over clusters of rollouts
    (``unit``: each rollout's cluster, :func:`clusters`; None: every rollout its own): the point difference, the
    percentile interval at ``level`` over the defined replicates, the number of undefined ones (a resample whose
    gradient is zero at a stage, e.g. every advantage 0), the number of clusters, and the replicates with their
    per-rollout counts (a drawn cluster counts once for each of its rollouts)."""
    n = a.ss.shape[0]
    unit = torch.arange(n) if unit is None else torch.as_tensor(unit)
    if unit.shape != (n,):
        raise ValueError(f"unit has {unit.numel()} entries for {n} rollouts")
    k = int(unit.max()) + 1
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, k, (n_boot, k), generator=g)
    drawn = torch.zeros(n_boot, k, dtype=torch.float64).scatter_add_(1, idx, torch.ones(n_boot, k, dtype=torch.float64))
    counts = drawn[:, unit]
    ones = torch.ones(n, dtype=torch.float64)
    reps = b.ratio(counts) - a.ratio(counts)
    q = torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64)
    lo, hi = torch.nanquantile(reps, q).tolist()  # nan replicates: resamples whose decision gradient is zero
    return {"difference": float(b.ratio(ones) - a.ratio(ones)), "ci": (lo, hi), "level": level,
            "undefined": int(torch.isnan(reps).sum()), "clusters": k, "replicates": reps, "counts": counts}
