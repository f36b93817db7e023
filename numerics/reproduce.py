"""§4 at small scale: SFT vs RL on self-correcting multiplication, trained from scratch.

Pipeline (one seed, every phase on the same model family, a Llama-architecture decoder from ``transformers``):

1. **base**: next-token training on ``prompt answer`` (answers only, no decision tokens);
2. **sft**: from base, demonstrations ``prompt correct STOP`` (no reflection);
3. **sft-reflect**: from base, demonstrations of which ``reflect_frac`` are ``prompt wrong RESAMPLE correct STOP``,
   the wrong first attempts being the base model's own errors (synthetic one/two-digit edits when it makes none);
4. **rl**: from sft-reflect, GRPO with a verifiable reward (final attempt correct), group-normalised advantages,
   the token-level clipped surrogate of ``numerics.objectives`` plus a KL loss to the sft-reflect reference
   (``kl_type``: verl's ``low_var_kl`` (k3, clamped) as in the paper, ``kl`` (k1), ``mse`` (k2) or ``none``).

Measured for every model and digit count n (in- and out-of-distribution): accuracy, p_s (first attempt correct),
p_dC = P(STOP | attempt correct), p_dW = P(RESAMPLE | attempt wrong), the §4.2 prediction (finite budget T and
unlimited retries) vs the observed accuracy, bootstrap CIs over prompts; and the per-stage gradient attribution
(numerics.probe.attribute) during SFT-reflect and RL.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from . import multiply as M
from . import objectives as O
from .probe import LMBatch, attribute, eval_mode, token_logprobs


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    a: int  # digits of the first operand
    id_digits: tuple[int, ...]  # n for training and in-distribution evaluation
    ood_digits: tuple[int, ...]
    T: int = 3  # attempt budget
    hidden: int = 64
    layers: int = 2
    heads: int = 2
    base_steps: int = 200
    sft_steps: int = 100
    rl_steps: int = 20
    batch: int = 64
    lr: float = 1e-3
    rl_lr: float = 1e-4
    rl_prompts: int = 8  # prompts per RL step
    group: int = 8  # samples per prompt (G)
    attempt_format: str = "answer"  # numerics.multiply.ATTEMPT_FORMATS: answer digits only, or a chain of thought
    kl_type: str = "low_var_kl"
    kl_coef: float = 0.01
    reflect_frac: float = 0.5
    eval_prompts: int = 100  # per digit count
    bootstrap: int = 500
    attr_every: int = 10  # attribution probe every k optimiser steps (SFT-reflect and RL)
    seed: int = 0
    device: str = "cpu"
    matmul_precision: str = "highest"  # torch.set_float32_matmul_precision during the run ("high": TF32 on CUDA)


PRESETS = {
    "smoke": Preset("smoke", "CPU smoke test: 1 x {1,2}-digit (OOD 3), tiny model, a few steps; checks the pipeline "
                    "runs and its metrics are well-formed, not that RL wins", a=1, id_digits=(1, 2), ood_digits=(3,),
                    T=2, hidden=32, layers=2, heads=2, base_steps=60, sft_steps=30, rl_steps=6, batch=64,
                    rl_prompts=8, group=4, eval_prompts=48, bootstrap=200, attr_every=10),
    "cpu": Preset("cpu", "CPU preset (about 1.5 min a seed on 2 idle cores, so 8 seeds fit): 2 x {1,2,3}-digit "
                  "(OOD 4), budget T=3", a=2, id_digits=(1, 2, 3), ood_digits=(4,), T=3, hidden=96, layers=3,
                  heads=4, base_steps=900, sft_steps=150, rl_steps=100, batch=128, lr=2e-3, rl_lr=1e-4,
                  rl_prompts=16, group=8, eval_prompts=300, attr_every=20),
    "h100": Preset("h100", "GPU preset for one H100 (< 10 min): the paper's 3 x n-digit, n in 3..6 (OOD 7..9), "
                   "budget T=3", a=3, id_digits=(3, 4, 5, 6), ood_digits=(7, 8, 9), T=3, hidden=384, layers=6,
                   heads=6, base_steps=6000, sft_steps=1500, rl_steps=200, batch=256, lr=1e-3, rl_lr=2e-5,
                   rl_prompts=32, group=16, eval_prompts=500, attr_every=50, device="cuda", matmul_precision="high"),
}
PRESETS.update({f"{name}-cot": dataclasses.replace(
    p, name=f"{name}-cot", attempt_format="cot",
    description=p.description.split(":", 1)[0] + ", chain-of-thought attempts (partial products, carries, answer):"
    + p.description.split(":", 1)[1]) for name, p in list(PRESETS.items())})
KL_TYPES = {"low_var_kl": ("k3", 10.0), "kl": ("k1", None), "mse": ("k2", None), "none": (None, None)}


def build(preset: Preset, seed: int | None = None):
    """A fresh format-constrained Llama-architecture decoder for the task (random init)."""
    import transformers

    cfg = transformers.LlamaConfig(vocab_size=M.VOCAB, hidden_size=preset.hidden, num_hidden_layers=preset.layers,
                                   num_attention_heads=preset.heads, num_key_value_heads=preset.heads,
                                   intermediate_size=4 * preset.hidden, max_position_embeddings=256,
                                   bos_token_id=M.BOS, eos_token_id=M.STOP, pad_token_id=M.PAD)
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(preset.seed if seed is None else seed)
    model = transformers.LlamaForCausalLM(cfg).to(preset.device)
    return M.FormatConstrained(model, preset.attempt_format)


# ------------------------------------------------------------------------------------------- data
def _prompts(preset: Preset, n: int, count: int, rng):
    x, y = M.sample_operands(preset.a, n, count, rng)
    return [M.encode_prompt(int(i), int(j), preset.a, n) for i, j in zip(x, y)], [int(i * j) for i, j in zip(x, y)]


def decode_steps(preset: Preset, n: int) -> int:
    """Tokens generate() samples per episode of digit count n: T attempts and T - 1 decisions."""
    return preset.T * (M.attempt_len(preset.a, n, preset.attempt_format) + 1) - 1


@torch.no_grad()
def generate(model, prompts: list[list[int]], products: list[int], n: int, preset: Preset,
             generator: torch.Generator) -> M.Episodes:
    """Sample one episode per prompt from the (format-constrained) policy at temperature 1, decoding with a
    key/value cache; all prompts have the same digit count n, so they share one layout (no padding)."""
    L = M.attempt_len(preset.a, n, preset.attempt_format)
    ids = torch.tensor(prompts, dtype=torch.long, device=preset.device)
    B = ids.shape[0]
    was_training = model.training
    model.eval()
    cache = None
    for _ in range(decode_steps(preset, n)):
        logits, cache = model.next_logits(ids, cache)
        nxt = torch.multinomial(torch.softmax(logits.float(), -1), 1, generator=generator)
        ids = torch.cat([ids, nxt], 1)
    model.train(was_training)
    resp = ids[:, len(prompts[0]):].tolist()
    attempts, decisions = [], []
    for r in resp:
        atts, decs = [], []
        for k in range(preset.T):
            atts.append(r[k * (L + 1): k * (L + 1) + L])
            if k < preset.T - 1:
                decs.append(r[k * (L + 1) + L])
                if decs[-1] == M.STOP:
                    break
        attempts.append(atts)
        decisions.append(decs)
    ep = M.build_episodes(prompts, attempts, decisions, products, [n] * B)
    return _to(ep, preset.device)


def _to(ep: M.Episodes, device) -> M.Episodes:
    ep.input_ids, ep.attention_mask, ep.stage = (t.to(device) for t in (ep.input_ids, ep.attention_mask, ep.stage))
    return ep


def answers_batch(preset: Preset, rng, count: int) -> M.Episodes:
    """Base pretraining data: ``prompt attempt`` with the correct attempt in the preset's format (no decision
    token)."""
    prompts, prods, atts, ns = [], [], [], []
    for _ in range(count):
        n = int(rng.choice(preset.id_digits))
        (x,), (y,) = M.sample_operands(preset.a, n, 1, rng)
        prompts.append(M.encode_prompt(int(x), int(y), preset.a, n))
        prods.append(int(x * y))
        atts.append([M.encode_attempt(int(x), int(y), preset.a, n, preset.attempt_format)])
        ns.append(n)
    return _to(M.build_episodes(prompts, atts, [[] for _ in prompts], prods, ns), preset.device)


def demo_batch(preset: Preset, rng, count: int, reflect_frac: float, wrong_pool: dict | None) -> M.Episodes:
    """SFT demonstrations: ``prompt correct STOP``, or with probability ``reflect_frac``
    ``prompt wrong RESAMPLE correct STOP`` (wrong attempts from ``wrong_pool[n]``: the base model's own errors)."""
    prompts, prods, atts, decs, ns = [], [], [], [], []
    for _ in range(count):
        n = int(rng.choice(preset.id_digits))
        if rng.random() < reflect_frac:
            pool = (wrong_pool or {}).get(n) or []
            if pool:
                x, y, wrong = pool[int(rng.integers(len(pool)))]
            else:
                (x,), (y,) = M.sample_operands(preset.a, n, 1, rng)
                wrong = M.wrong_attempt(int(x), int(y), preset.a, n, rng, preset.attempt_format)
            v = int(x * y)
            atts.append([list(wrong), M.encode_attempt(int(x), int(y), preset.a, n, preset.attempt_format)])
            decs.append([M.RESAMPLE, M.STOP] if preset.T > 2 else [M.RESAMPLE])
        else:
            (x,), (y,) = M.sample_operands(preset.a, n, 1, rng)
            v = int(x * y)
            atts.append([M.encode_attempt(int(x), int(y), preset.a, n, preset.attempt_format)])
            decs.append([M.STOP])
        prompts.append(M.encode_prompt(int(x), int(y), preset.a, n))
        prods.append(v)
        ns.append(n)
    return _to(M.build_episodes(prompts, atts, decs, prods, ns), preset.device)


WRONG_POOL_PER_N = 256  # prompts per digit count whose wrong first attempts seed the reflection demos


def wrong_attempts(model, preset: Preset, rng, generator, per_n: int = WRONG_POOL_PER_N) -> dict[int, list]:
    """The base model's own wrong first attempts, per digit count: (x, y, the attempt's tokens)."""
    pool = {}
    for n in preset.id_digits:
        x, y = M.sample_operands(preset.a, n, per_n, rng)
        prompts = [M.encode_prompt(int(i), int(j), preset.a, n) for i, j in zip(x, y)]
        ep = generate(model, prompts, [int(i * j) for i, j in zip(x, y)], n, preset, generator)
        L, P = M.attempt_len(preset.a, n, preset.attempt_format), M.prompt_len(preset.a, n)
        firsts = ep.input_ids[:, P:P + L].tolist()
        pool[n] = [(int(i), int(j), f) for i, j, f, c in zip(x, y, firsts, ep.correct) if not c[0]]
    return pool


def lm_batch(ep: M.Episodes, **extra) -> LMBatch:
    return LMBatch(ep.input_ids, ep.attention_mask, ep.stage, **extra)


# ------------------------------------------------------------------------------------------- training
def _attr_record(model, batch: LMBatch, objective, phase: str, step: int) -> dict:
    with eval_mode(model):  # the probe evaluates without dropout; the training loop's mode is restored after
        r = attribute(model, batch, objective)
    return dict(phase=phase, step=step, objective=objective.name, sampling=r.norms["sampling"],
                decision=r.norms["decision"], ratio=r.ratio, cosine=r.cosine)


def train_supervised(model, preset: Preset, steps: int, make_batch, phase: str, attr_batch: LMBatch | None = None,
                     progress=None) -> tuple[list[float], list[dict]]:
    """Token-mean SFT (numerics.objectives.sft) on batches from ``make_batch()``; the attribution probe runs on
    ``attr_batch`` every ``attr_every`` steps."""
    obj = O.sft()
    opt = torch.optim.AdamW(model.parameters(), lr=preset.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + math.cos(math.pi * s / steps)))
    losses, attr = [], []
    model.train()
    for step in range(steps):
        if attr_batch is not None and step % preset.attr_every == 0:
            attr.append(_attr_record(model, attr_batch, obj, phase, step))
        ep = make_batch()
        b = lm_batch(ep)
        loss = obj(token_logprobs(model, b), b.token_batch())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if progress:
            progress(phase, loss.item())
    return losses, attr


def grpo_advantages(rewards: torch.Tensor, group: int, eps: float = 1e-6) -> torch.Tensor:
    """(R - mean_group) / (std_group + eps), groups of ``group`` consecutive samples (GRPO, verl's default)."""
    r = rewards.view(-1, group)
    return ((r - r.mean(-1, keepdim=True)) / (r.std(-1, keepdim=True) + eps)).flatten()


def rl_objectives(preset: Preset):
    est, clamp = KL_TYPES[preset.kl_type]
    pg = O.surrogate(loss_agg_mode="token-mean", clip=(0.2, 0.28), dual_clip=3.0)
    return pg, (O.kl(est, "loss", loss_agg_mode="token-mean", clamp=clamp) if est else None)


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
        prompts, prods = _prompts(preset, n, preset.rl_prompts, rng)
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
            attr.append(_attr_record(model, b, pg, "rl", step))
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


# ------------------------------------------------------------------------------------------- evaluation
STAT_COLUMNS = ("first correct", "final correct", "decisions after correct", "STOP after correct",
                "decisions after wrong", "RESAMPLE after wrong", "later attempts", "later attempts correct",
                "fresh first attempts correct", "fresh first attempts")
METRIC_KEYS = ("accuracy", "p_s", "p_dC", "p_dW", "p_retry", "pass_at_T", "predicted_T", "predicted_inf",
               "predicted_T_retry")


def episode_stats(ep: M.Episodes) -> np.ndarray:
    """Per episode, the counts of STAT_COLUMNS (the two 'fresh' columns 0: :func:`evaluate` fills them)."""
    rows = []
    for corr, decs in zip(ep.correct, ep.decisions):
        dC = [d for c, d in zip(corr, decs) if c]
        dW = [d for c, d in zip(corr, decs) if not c]
        rows.append([corr[0], corr[-1], len(dC), sum(d == M.STOP for d in dC), len(dW),
                     sum(d == M.RESAMPLE for d in dW), len(corr) - 1, sum(corr[1:]), 0, 0])
    return np.array(rows, dtype=np.float64).reshape(-1, len(STAT_COLUMNS))


def retry_accuracy(ps, pr):
    """The retries' accuracy the retry-accuracy formula is evaluated at: p_retry, or p_s where no retry was made
    (p_retry undefined; it then carries no weight).  Scalars or arrays."""
    return np.where(np.isnan(pr), ps, pr)


def _metrics(stats: np.ndarray, T: int) -> np.ndarray:
    """METRIC_KEYS for stats [..., N, 10] -> [..., 8] (vectorised over bootstrap replicates).

    accuracy = final attempt correct; p_s = first attempt correct; p_dC = P(STOP | attempt correct) and
    p_dW = P(RESAMPLE | attempt wrong), pooled over the decisions taken; p_retry = accuracy of attempts after the
    first (the §4.2 model assumes it equals p_s); pass_at_T = fraction of prompts with at least one correct answer
    among T fresh, independent first attempts: the accuracy perfect decisions would reach if every retry were a
    fresh first attempt (the headroom decisions have, pass_at_T - p_s); predicted_T / predicted_inf = theory/'s
    finite-budget and unlimited-retry formulas at (p_s, p_dC, p_dW); predicted_T_retry = the finite-budget
    formula with the retries' own accuracy (theory.calibration.predicted_accuracy_retry at p_retry, taken as p_s
    where no retry was made: then it carries no weight).  Undefined ratios are nan."""
    from theory.calibration import predicted_accuracy_numeric

    s = stats.sum(-2)
    N = stats.shape[-2]
    fT, finf = predicted_accuracy_numeric(T), predicted_accuracy_numeric(None)
    fR = predicted_accuracy_numeric(T, retry=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        acc, ps = s[..., 1] / N, s[..., 0] / N
        pdC, pdW, pr = s[..., 3] / s[..., 2], s[..., 5] / s[..., 4], s[..., 7] / s[..., 6]
        fresh = stats[..., 9] > 0
        pass_T = ((stats[..., 8] > 0) & fresh).sum(-1) / fresh.sum(-1)
        ones = np.ones_like(ps)
        return np.stack([acc, ps, pdC, pdW, pr, pass_T, fT(ps, pdC, pdW) * ones, finf(ps, pdC, pdW) * ones,
                         fR(ps, retry_accuracy(ps, pr), pdC, pdW) * ones], -1)


def metrics(stats: np.ndarray, T: int) -> dict[str, float]:
    return {k: float(v) for k, v in zip(METRIC_KEYS, _metrics(stats, T))}


def _percentiles(vals: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():  # a metric with no defined value in any replicate stays nan
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(vals, [50 * (1 - level), 50 * (1 + level)], axis=0)


def bootstrap_ci(stats: np.ndarray, T: int, reps: int, seed: int, level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap over prompts (episodes resampled with replacement)."""
    idx = np.random.default_rng(seed).integers(0, len(stats), size=(reps, len(stats)))
    lo, hi = _percentiles(_metrics(stats[idx], T), level)
    return {k: (float(a), float(b)) for k, a, b in zip(METRIC_KEYS, lo, hi)}


def diff_level(preset: Preset, alpha: float = 0.05) -> float:
    """Confidence level of the SFT-reflect -> RL paired differences: Bonferroni over the in-distribution digit
    counts (a gain is called significant when its interval at this level excludes 0)."""
    return 1 - alpha / len(preset.id_digits)


def paired_difference(stats_a: np.ndarray, stats_b: np.ndarray, T: int, reps: int, seed: int,
                      level: float = 0.95) -> dict[str, tuple[float, float, float]]:
    """b - a for every metric, with a paired percentile bootstrap: both models were evaluated on the same prompts,
    so the same resampled prompt indices are used for both.  Returns key -> (estimate, lo, hi)."""
    if stats_a.shape != stats_b.shape:
        raise ValueError(f"paired stats must have the same shape, got {stats_a.shape} and {stats_b.shape}")
    idx = np.random.default_rng(seed).integers(0, len(stats_a), size=(reps, len(stats_a)))
    est = _metrics(stats_b, T) - _metrics(stats_a, T)
    lo, hi = _percentiles(_metrics(stats_b[idx], T) - _metrics(stats_a[idx], T), level)
    return {k: (float(e), float(a), float(b)) for k, e, a, b in zip(METRIC_KEYS, est, lo, hi)}


def evaluate(model, preset: Preset, seed: int) -> dict[int, dict]:
    """Per digit count: metrics with bootstrap CIs and the raw per-episode stats (same prompts for every model)."""
    out = {}
    g = torch.Generator(device=preset.device).manual_seed(seed)
    for n in preset.id_digits + preset.ood_digits:
        rng = np.random.default_rng(seed + 1000 * n)
        prompts, prods = _prompts(preset, n, preset.eval_prompts, rng)
        st = episode_stats(generate(model, prompts, prods, n, preset, g))
        fresh = generate(model, [p for p in prompts for _ in range(preset.T)],
                         [v for v in prods for _ in range(preset.T)], n, preset, g)
        st[:, 8] = np.array([c[0] for c in fresh.correct], dtype=np.float64).reshape(-1, preset.T).sum(1)
        st[:, 9] = preset.T
        out[n] = dict(metrics=metrics(st, preset.T), ci=bootstrap_ci(st, preset.T, preset.bootstrap, seed + n),
                      stats=st)
    return out


PLAYERS = ("p_s", "p_dC", "p_dW")  # the §4.2 model
RETRY_PLAYERS = ("p_s", "p_retry", "p_dC", "p_dW")  # the same with the retries' own accuracy
SAMPLING_PLAYERS = ("p_s", "p_retry")


def gain_decomposition(sft: dict, rl: dict, T: int, players: tuple[str, ...] = PLAYERS) -> dict[str, float]:
    """Shapley split of the predicted accuracy change SFT -> RL over the model's probabilities: each one's
    marginal change averaged over the orders of switching them from ``sft`` to ``rl`` values.  ``PLAYERS``: the
    §4.2 finite-budget formula at (p_s, p_dC, p_dW); ``RETRY_PLAYERS``: predicted_accuracy_retry at (p_s,
    p_retry, p_dC, p_dW), p_retry taken as p_s where it is undefined (no retry made).  Returns total, one entry
    per probability, sampling (p_s + p_retry) and decision (p_dC + p_dW); they add up."""
    import itertools

    from theory.calibration import predicted_accuracy_numeric

    if tuple(players) not in (PLAYERS, RETRY_PLAYERS):
        raise ValueError(f"players must be {PLAYERS} or {RETRY_PLAYERS}, got {players}")
    f = predicted_accuracy_numeric(T, retry="p_retry" in players)

    def prob(m: dict, k: str) -> float:
        return float(retry_accuracy(m["p_s"], m["p_retry"])) if k == "p_retry" else m[k]

    value = lambda switched: float(f(*[prob(rl if k in switched else sft, k) for k in players]))  # noqa: E731
    share = dict.fromkeys(players, 0.0)
    orders = list(itertools.permutations(players))
    for order in orders:
        done: set = set()
        for k in order:
            before = value(done)
            done = done | {k}
            share[k] += (value(done) - before) / len(orders)
    return dict(total=value(set(players)) - value(set()), **share,
                sampling=sum(share[k] for k in players if k in SAMPLING_PLAYERS),
                decision=share["p_dC"] + share["p_dW"])


# ------------------------------------------------------------------------------------------- the run
@dataclass
class RunResult:
    preset: dict
    models: dict = field(default_factory=dict)  # model -> n -> {metrics, ci}
    gains: dict = field(default_factory=dict)  # n -> decomposition (sft-reflect -> rl), §4.2 model
    gains_retry: dict = field(default_factory=dict)  # n -> the same with the retries' own accuracy
    diffs: dict = field(default_factory=dict)  # n -> metric -> (rl - sft-reflect, lo, hi), paired bootstrap
    attribution: list = field(default_factory=list)
    rl_log: list = field(default_factory=list)
    losses: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def run(preset: Preset, progress=None) -> tuple[RunResult, dict]:
    """Train base -> sft / sft-reflect -> rl and evaluate all four.  Returns the results and the models
    (dsproof.reproduction saves them)."""
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(preset.matmul_precision)
    try:
        return _run(preset, progress)
    finally:
        torch.set_float32_matmul_precision(before)


def _run(preset: Preset, progress) -> tuple[RunResult, dict]:
    import copy

    torch.manual_seed(preset.seed)
    rng = np.random.default_rng(preset.seed)
    gen = torch.Generator(device=preset.device).manual_seed(preset.seed)
    res = RunResult(preset=asdict(preset))
    t0 = time.perf_counter()

    base = build(preset)
    res.losses["base"], _ = train_supervised(base, preset, preset.base_steps,
                                             lambda: answers_batch(preset, rng, preset.batch), "base",
                                             progress=progress)
    res.seconds["base"] = time.perf_counter() - t0
    pool = wrong_attempts(base, preset, rng, gen)
    attr_batch = lm_batch(demo_batch(preset, np.random.default_rng(preset.seed + 7), 32, 1.0, pool))

    t = time.perf_counter()
    sft = copy.deepcopy(base)
    res.losses["sft"], _ = train_supervised(sft, preset, preset.sft_steps,
                                            lambda: demo_batch(preset, rng, preset.batch, 0.0, pool), "sft",
                                            progress=progress)
    reflect = copy.deepcopy(base)
    res.losses["sft-reflect"], a_sft = train_supervised(
        reflect, preset, preset.sft_steps, lambda: demo_batch(preset, rng, preset.batch, preset.reflect_frac, pool),
        "sft-reflect", attr_batch=attr_batch, progress=progress)
    res.seconds["sft"] = time.perf_counter() - t

    t = time.perf_counter()
    rl = copy.deepcopy(reflect)
    ref = copy.deepcopy(reflect).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    res.rl_log, a_rl = train_rl(rl, ref, preset, rng, gen, progress=progress)
    res.attribution = a_sft + a_rl
    res.seconds["rl"] = time.perf_counter() - t

    t = time.perf_counter()
    models = {"base": base, "sft": sft, "sft-reflect": reflect, "rl": rl}
    raw = {}
    for name, m in models.items():
        raw[name] = evaluate(m, preset, seed=preset.seed + 100)
        res.models[name] = {n: dict(metrics=v["metrics"], ci=v["ci"]) for n, v in raw[name].items()}
        if progress:
            progress("eval", None)
    for n in preset.id_digits + preset.ood_digits:
        res.diffs[n] = paired_difference(raw["sft-reflect"][n]["stats"], raw["rl"][n]["stats"], preset.T,
                                         preset.bootstrap, preset.seed + 200 + n, level=diff_level(preset))
        a, b = res.models["sft-reflect"][n]["metrics"], res.models["rl"][n]["metrics"]
        if not any(math.isnan(a[k]) or math.isnan(b[k]) for k in ("p_dC", "p_dW")):
            res.gains[n] = gain_decomposition(a, b, preset.T)
            res.gains_retry[n] = gain_decomposition(a, b, preset.T, RETRY_PLAYERS)
    res.seconds["eval"] = time.perf_counter() - t
    res.seconds["total"] = time.perf_counter() - t0
    return res, models


def results_table(res: RunResult) -> list[dict]:
    """Table-1-like rows: model, n, split, accuracy [CI], p_s, p_dC, p_dW, predicted (T), predicted (oo)."""
    rows = []
    ood = set(res.preset["ood_digits"])
    for name, per_n in res.models.items():
        for n, v in per_n.items():
            m, ci = v["metrics"], v["ci"]
            fmt = lambda k: f"{m[k]:.3f} [{ci[k][0]:.3f}, {ci[k][1]:.3f}]"  # noqa: E731
            rows.append({"model": name, "n": n, "split": "OOD" if n in ood else "ID", "accuracy": fmt("accuracy"),
                         "p_s": fmt("p_s"), "p_dC": fmt("p_dC"), "p_dW": fmt("p_dW"), "p_retry": fmt("p_retry"),
                         "pass@T": fmt("pass_at_T"), "predicted (T)": fmt("predicted_T"),
                         "predicted (T->oo)": fmt("predicted_inf"), "predicted (T, p_retry)": fmt("predicted_T_retry")})
    return rows
