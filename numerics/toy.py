"""Torch twin of theory/toy.py: the same two-stage model by exact enumeration over token-level
trajectories (float64), and a sampler for Monte-Carlo checks.

A trajectory is stored as token rows with a stage mask (the same layout the objectives and the per-stage
probe use for real language models):

* ``stage``: 0 = pad, 1 = sampling token, 2 = decision token;
* ``tokens``: OK / BAD answer tokens, STOP / RESAMPLE decision tokens;
* ``after_correct``: for a decision token, whether the attempt it judges was correct.

Within an attempt the L tokens are i.i.d., so by default trajectories are enumerated up to the order of
the tokens: one canonical row (wrong tokens first) per count of wrong tokens, with ``log_mult`` =
log binomial(L, n).  That is exact for every quantity symmetric in the order (J, KL, per-stage scores,
every aggregation mode); it is NOT exact for returns-to-go (KL in the reward), whose value depends on where
in the attempt a token sits -- use ``grouped=False`` (every ordering, 2^L rows per attempt) there.
"""

from __future__ import annotations

import itertools
import math
import types
from dataclasses import dataclass, replace

import torch

from theory.validate import check_budget, check_finite_all, check_lengths

PAD, SAMPLING, DECISION = 0, 1, 2
OK, BAD, STOP, RESAMPLE = 1, 2, 3, 4
DTYPE = torch.float64


@dataclass
class ToyBatch:
    """Token-level trajectories of the toy model (enumerated with multiplicities, or sampled)."""

    tokens: torch.Tensor  # [B, n] long
    stage: torch.Tensor  # [B, n] long, PAD / SAMPLING / DECISION
    after_correct: torch.Tensor  # [B, n] bool, meaningful at decision tokens
    attempt: torch.Tensor  # [B, n] long, 1-based attempt a token belongs to (0 at pads)
    final_correct: torch.Tensor  # [B] bool
    log_mult: torch.Tensor  # [B] float64

    @property
    def mask(self) -> torch.Tensor:
        return self.stage != PAD

    def rewards(self, r_C: float = 1.0, r_W: float = 0.0) -> torch.Tensor:
        return torch.where(self.final_correct, torch.tensor(r_C, dtype=DTYPE), torch.tensor(r_W, dtype=DTYPE))

    def __len__(self) -> int:
        return self.tokens.shape[0]


def _rows_to_batch(rows: list[list[tuple[int, int, bool, int]]], finals: list[bool], log_mult: list[float]) -> ToyBatch:
    n = max(len(r) for r in rows)
    pad = (0, PAD, False, 0)
    rows = [r + [pad] * (n - len(r)) for r in rows]
    t = torch.tensor(rows, dtype=torch.long)  # [B, n, 4]
    return ToyBatch(t[..., 0], t[..., 1], t[..., 2].bool(), t[..., 3], torch.tensor(finals),
                    torch.tensor(log_mult, dtype=DTYPE))


def _attempt_contents(L: int, grouped: bool):
    """(token codes, log multiplicity) of every distinct attempt of L tokens."""
    if grouped:
        return [((BAD,) * n + (OK,) * (L - n), math.log(math.comb(L, n))) for n in range(L + 1)]
    return [(toks, 0.0) for toks in itertools.product((OK, BAD), repeat=L)]


def enumerate_toy(T: int, lengths=1, grouped: bool = True) -> ToyBatch:
    """All token-level trajectories of the budget-T model (grouped by the number of wrong tokens per
    attempt, or every ordering when ``grouped=False``).  Decisions: RESAMPLE after attempts 1..t-1, STOP
    after t < T, none after the capped T."""
    T = check_budget(T)
    lengths = check_lengths(lengths, T)
    rows, finals, log_mult = [], [], []
    for t in range(1, T + 1):
        for contents in itertools.product(*[_attempt_contents(lengths[k], grouped) for k in range(t)]):
            row, lm = [], 0.0
            for k, (toks, lmk) in enumerate(contents, 1):
                lm += lmk
                row += [(tok, SAMPLING, False, k) for tok in toks]
                correct = BAD not in toks
                if k < t:
                    row.append((RESAMPLE, DECISION, correct, k))
                elif t < T:
                    row.append((STOP, DECISION, correct, k))
            rows.append(row)
            finals.append(BAD not in contents[-1][0])
            log_mult.append(lm)
    return _rows_to_batch(rows, finals, log_mult)


def check_logits(z: torch.Tensor, name: str = "z") -> torch.Tensor:
    """Logits (z_s, z_dC, z_dW): a float tensor of shape [3] with finite entries."""
    if not isinstance(z, torch.Tensor):
        z = torch.tensor(check_finite_all(list(z), name), dtype=DTYPE)
    if z.shape != (3,):
        raise ValueError(f"{name} must have shape (3,) = (theta_s, theta_dC, theta_dW), got {tuple(z.shape)}")
    if not torch.isfinite(z).all():
        raise ValueError(f"{name} must be finite, got {z.tolist()}")
    return z


def token_logprobs(batch: ToyBatch, z: torch.Tensor) -> torch.Tensor:
    """log pi(y_t | y_<t) for every token (0 at pads), differentiable in the logits z."""
    z = check_logits(z)
    zs, zC, zW = z[0], z[1], z[2]
    ls = torch.nn.functional.logsigmoid
    tok, c = batch.tokens, batch.after_correct
    # decision logit: STOP|C has logit zC, RESAMPLE|W has logit zW
    stop_logit = torch.where(c, zC, -zW)
    out = torch.zeros(tok.shape, dtype=z.dtype)
    out = torch.where(tok == OK, ls(zs), out)
    out = torch.where(tok == BAD, ls(-zs), out)
    out = torch.where(tok == STOP, ls(stop_logit), out)
    out = torch.where(tok == RESAMPLE, ls(-stop_logit), out)
    return out


def stage_logprob(batch: ToyBatch, logp: torch.Tensor, stage: int) -> torch.Tensor:
    """Sum over the tokens of one stage: log prod_k pi_sample (stage=SAMPLING) or log prod_k pi_d."""
    return (logp * (batch.stage == stage)).sum(-1)


def path_probs(batch: ToyBatch, z: torch.Tensor) -> torch.Tensor:
    """Probability of each enumerated group (multiplicity x probability of its canonical row)."""
    return torch.exp(batch.log_mult + token_logprobs(batch, z).sum(-1))


def expected_reward(batch: ToyBatch, z: torch.Tensor, r_C: float = 1.0, r_W: float = 0.0) -> torch.Tensor:
    """J(z) = sum_tau P(tau) R(tau), differentiable (autograd gives the exact gradient)."""
    return (path_probs(batch, z) * batch.rewards(r_C, r_W)).sum()


def kl_sequence(batch: ToyBatch, z: torch.Tensor, z_ref: torch.Tensor) -> torch.Tensor:
    """KL(P_z || P_ref) = sum_tau P log(P/P_ref) = E[sum_t k1_t] (token-level, exact)."""
    lp, lr = token_logprobs(batch, z), token_logprobs(batch, z_ref)
    return (path_probs(batch, z) * (lp - lr).sum(-1)).sum()


def stage_gradients(batch: ToyBatch, z: torch.Tensor, weight: torch.Tensor, params: torch.Tensor | None = None):
    """Score-function gradient of E[weight(tau)] split by stage, computed exactly:

    g_stage = sum_tau sg(P(tau)) weight(tau) grad sum_{t in stage} log pi(y_t|y_<t).

    ``weight`` is per trajectory (the reward, an advantage, a return).  ``params``: the leaf the logits
    were computed from (default z itself).  Returns {"sampling": g_s, "decision": g_d}.
    """
    params = z if params is None else params
    logp = token_logprobs(batch, z)
    P = path_probs(batch, z).detach()
    out = {}
    for name, st in (("sampling", SAMPLING), ("decision", DECISION)):
        obj = (P * weight * stage_logprob(batch, logp, st)).sum()
        out[name] = torch.autograd.grad(obj, params, retain_graph=True)[0]
    return out


def sample_toy(T: int, lengths, z: torch.Tensor, n: int, generator: torch.Generator) -> ToyBatch:
    """Draw n episodes from the model (log_mult = 0).  Tokens of an attempt are i.i.d. Bernoulli(q)."""
    T = check_budget(T)
    lengths = check_lengths(lengths, T)
    z = check_logits(z).detach()
    if n < 1:
        raise ValueError(f"n must be >= 1 episodes, got {n}")
    q, pC, pW = torch.sigmoid(z).tolist()
    rows = [[] for _ in range(n)]
    finals = [False] * n
    alive = list(range(n))
    for k in range(1, T + 1):
        L = lengths[k - 1]
        toks = torch.rand(len(alive), L, generator=generator, dtype=DTYPE) < q
        u = torch.rand(len(alive), generator=generator, dtype=DTYPE)
        still = []
        for j, i in enumerate(alive):
            ok = toks[j]
            n_bad = int((~ok).sum())
            rows[i] += [(BAD, SAMPLING, False, k)] * n_bad + [(OK, SAMPLING, False, k)] * (L - n_bad)
            correct = n_bad == 0
            finals[i] = correct
            if k == T:
                continue
            stop = bool(u[j] < (pC if correct else 1 - pW))
            rows[i].append((STOP if stop else RESAMPLE, DECISION, correct, k))
            if not stop:
                still.append(i)
        alive = still
        if not alive:
            break
    return _rows_to_batch(rows, finals, [0.0] * n)


def with_multiplicity_dropped(batch: ToyBatch) -> ToyBatch:
    """The same rows with log_mult = 0 (for tests that break the enumeration on purpose)."""
    return replace(batch, log_mult=torch.zeros_like(batch.log_mult))


BOS = 5  # the start token ToyLM sequences begin with (stage 0: position 0 has no prediction)
VOCAB = 6  # PAD, OK, BAD, STOP, RESAMPLE, BOS


class ToyLM(torch.nn.Module):
    """The toy model as a causal language model over token ids, for numerics.probe.attribute.

    Three parameters z = (theta_s, theta_dC, theta_dW); ``forward(input_ids)`` returns ``.logits`` [B, n, VOCAB]
    computed from the prefix alone: at an attempt position logit(OK) = theta_s vs BAD; at a decision position the
    attempt just written is read back from ``input_ids`` and logit(STOP) = theta_dC if it was all OK, -theta_dW
    otherwise, vs RESAMPLE.  The layout (BOS, attempt 1, decision, attempt 2, ...) follows ``lengths``.  Its
    log-probabilities equal :func:`token_logprobs` of the same trajectory.
    """

    def __init__(self, T: int, lengths, z):
        super().__init__()
        self.T = check_budget(T)
        self.lengths = check_lengths(lengths, self.T)
        self.z = torch.nn.Parameter(check_logits(torch.as_tensor(z, dtype=DTYPE)).clone())
        self.kinds = []  # the kind of token position 1, 2, ...: ("S", k) or ("D", start of attempt k)
        pos = 1
        for k, L in enumerate(self.lengths):
            self.kinds += [("S", pos)] * L
            pos += L
            if k < self.T - 1:
                self.kinds.append(("D", (pos - L, pos)))
                pos += 1

    def forward(self, input_ids: torch.Tensor, attention_mask=None):
        B, n = input_ids.shape
        zs, zC, zW = self.z
        off = torch.full((B,), -1e4, dtype=DTYPE)
        zero = torch.zeros(B, dtype=DTYPE)
        rows = []
        for t in range(n):  # logits at t predict the token at t + 1
            kind = self.kinds[t] if t < len(self.kinds) else ("pad", None)
            cols = [off] * VOCAB
            if kind[0] == "S":
                cols[OK], cols[BAD] = zs.expand(B), zero
            elif kind[0] == "D":
                a, b = kind[1]
                correct = (input_ids[:, a:b] == OK).all(-1)
                cols[STOP], cols[RESAMPLE] = torch.where(correct, zC, -zW), zero
            else:
                cols = [zero] * VOCAB
            rows.append(torch.stack(cols, -1))
        return types.SimpleNamespace(logits=torch.stack(rows, 1))


def attempt_loop(T: int, L: int, z, z_ref=(0.0, 0.0, 0.0), rewards=(1.0, 0.0), estimator: str = "k2") -> dict:
    """The model's expectations by a forward loop over attempts (float64, differentiable in ``z``), for any
    budget and attempt length: the independent numeric twin of theory.closed_form (which sums the recursion in
    closed form).  Walks the attempts with the probability of reaching each one and adds what it contributes:

    * ``J``: a decision to STOP after attempt k < T ends with reward r_C (if correct) or r_W; the last attempt
      ends the episode whatever it is;
    * ``expected_attempts``, ``expected_decisions``;
    * ``kl_sequence``: KL(P_z || P_ref), L per-token Bernoulli KLs per attempt plus the decision's KL;
    * ``token_loss``: E[sum_t k(x_t)] of a per-token KL estimator (numerics.objectives.kl_estimate) with the
      sampling distribution detached (reach probabilities, p_s weights and each token's sampling probability):
      its gradient is the on-policy expected gradient of that estimator used as a token-sum loss.
    """
    from .objectives import kl_estimate

    T, L = check_budget(T), check_budget(L, "L")
    z, z_ref = check_logits(z), check_logits(torch.as_tensor(z_ref, dtype=DTYPE), "z_ref")
    r_C, r_W = check_finite_all(rewards, "rewards")
    ls = torch.nn.functional.logsigmoid
    p = torch.sigmoid(z)
    p_s = torch.exp(L * ls(z[0]))  # q^L

    def bern_kl(i):
        return p[i] * (ls(z[i]) - ls(z_ref[i])) + (1 - p[i]) * (ls(-z[i]) - ls(-z_ref[i]))

    def token_estimate(i):  # E_{x ~ Bern(p_i), detached}[k(x)]
        pd = p[i].detach()
        one = kl_estimate(ls(z[i]), ls(z_ref[i]), estimator)
        zero = kl_estimate(ls(-z[i]), ls(-z_ref[i]), estimator)
        return pd * one + (1 - pd) * zero

    out = dict.fromkeys(("J", "expected_attempts", "expected_decisions", "kl_sequence", "token_loss"), 0.0)
    reach = torch.ones((), dtype=DTYPE)
    for k in range(1, T + 1):
        out["expected_attempts"] = out["expected_attempts"] + reach
        out["kl_sequence"] = out["kl_sequence"] + reach * L * bern_kl(0)
        out["token_loss"] = out["token_loss"] + reach.detach() * L * token_estimate(0)
        if k == T:
            out["J"] = out["J"] + reach * (p_s * r_C + (1 - p_s) * r_W)
            break
        out["expected_decisions"] = out["expected_decisions"] + reach
        out["kl_sequence"] = out["kl_sequence"] + reach * (p_s * bern_kl(1) + (1 - p_s) * bern_kl(2))
        ps_sg = p_s.detach()
        out["token_loss"] = out["token_loss"] + reach.detach() * (ps_sg * token_estimate(1)
                                                                  + (1 - ps_sg) * token_estimate(2))
        out["J"] = out["J"] + reach * (p_s * p[1] * r_C + (1 - p_s) * (1 - p[2]) * r_W)
        reach = reach * (p_s * (1 - p[1]) + (1 - p_s) * p[2])
    return out
