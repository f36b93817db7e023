"""The §4 task: a-digit x n-digit multiplication with self-correction trajectories.

Token format (one sequence per episode)::

    BOS  a_1..a_a  x  b_1..b_n  =  | attempt_1 | d_1 | attempt_2 | d_2 | ... | attempt_k |  (d_k = STOP, or the budget)

* operands most-significant digit first, as written;
* an attempt is the product written **least-significant digit first**, zero-padded to L = a + n digits (a fixed
  length per digit count, so every episode of a prompt has the same layout);
* after attempt k < T comes one decision token, STOP or RESAMPLE; after STOP the episode ends; after attempt T
  (the budget) it ends without a decision (the convention of theory/toy.py);
* stages: prompt tokens 0, attempt digits 1 (pi_sample), decision tokens 2 (pi_d): the stage mask of
  numerics.probe.LMBatch.

The model is format-constrained (:class:`FormatConstrained`): at an attempt position only digits can be sampled,
at a decision position only STOP / RESAMPLE.  The same masking is used for sampling and for every log-probability,
so pi is one well-defined policy and pi_d is the two-way softmax over {STOP, RESAMPLE}.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

import numpy as np
import torch

PAD, BOS, STOP, RESAMPLE, TIMES, EQ = 0, 1, 2, 3, 4, 5
DIGIT0 = 6  # digits 0..9 are tokens 6..15
VOCAB = 16
NAMES = {PAD: "_", BOS: "^", STOP: "[STOP]", RESAMPLE: "[RESAMPLE]", TIMES: "x", EQ: "="}
MASK_VALUE = -1e4  # finite (no 0 * inf in masked aggregates), exp(-1e4) = 0 in fp32/bf16


def prompt_len(a: int, n: int) -> int:
    return a + n + 3  # BOS, a digits, x, n digits, =


def attempt_len(a: int, n: int) -> int:
    return a + n


def sample_operands(a: int, n: int, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` pairs (x, y), x with exactly a digits, y with exactly n digits."""
    if a < 1 or n < 1 or count < 1:
        raise ValueError(f"need a >= 1, n >= 1 and count >= 1, got a={a}, n={n}, count={count}")
    x = rng.integers(10 ** (a - 1) if a > 1 else 0, 10 ** a, size=count)
    y = rng.integers(10 ** (n - 1) if n > 1 else 0, 10 ** n, size=count)
    return x.astype(np.int64), y.astype(np.int64)


def _digits(v: int, width: int, reverse: bool) -> list[int]:
    s = str(int(v)).zfill(width)
    if len(s) > width:
        raise ValueError(f"{v} has more than {width} digits")
    return [DIGIT0 + int(c) for c in (s[::-1] if reverse else s)]


def encode_prompt(x: int, y: int, a: int, n: int) -> list[int]:
    return [BOS, *_digits(x, a, False), TIMES, *_digits(y, n, False), EQ]


def encode_answer(v: int, a: int, n: int) -> list[int]:
    """An attempt: v least-significant digit first, zero-padded to a + n digits."""
    return _digits(v, a + n, True)


def decode_answer(tokens) -> int | None:
    """The integer an attempt's tokens spell (None if a token is not a digit)."""
    v = 0
    for t in reversed(tokens):  # most significant digit first
        d = int(t) - DIGIT0
        if not 0 <= d <= 9:
            return None
        v = 10 * v + d
    return v


def wrong_answer(v: int, a: int, n: int, rng: np.random.Generator) -> int:
    """A synthetic wrong attempt: one or two digits of v changed (fallback when the base model makes no error)."""
    L = a + n
    ds = [int(c) for c in str(v).zfill(L)]
    for pos in rng.choice(L, size=int(rng.integers(1, 3)), replace=False):
        ds[pos] = (ds[pos] + int(rng.integers(1, 10))) % 10
    return int("".join(map(str, ds)))


@dataclass
class Episodes:
    """A padded batch of episodes: the torch inputs of the probe and the objectives, plus what each attempt was."""

    input_ids: torch.Tensor  # [B, n]
    attention_mask: torch.Tensor  # [B, n]
    stage: torch.Tensor  # [B, n]
    correct: list[list[bool]]  # per episode, per attempt taken: was it the product?
    decisions: list[list[int]]  # per episode, the decision tokens taken (len = attempts - 1 if capped)
    digits: list[int]  # per episode, n

    @property
    def final_correct(self) -> torch.Tensor:
        return torch.tensor([c[-1] for c in self.correct], dtype=torch.float32)


def build_episodes(prompts: list[list[int]], attempts: list[list[list[int]]], decisions: list[list[int]],
                   products: list[int], digits: list[int]) -> Episodes:
    """Assemble token sequences ``prompt + attempt_1 + d_1 + ...`` (right-padded) with their stage masks."""
    seqs, stages, correct = [], [], []
    for p, atts, decs, v in zip(prompts, attempts, decisions, products):
        if not len(decs) in (len(atts) - 1, len(atts)):
            raise ValueError(f"{len(atts)} attempts need {len(atts) - 1} or {len(atts)} decisions, got {len(decs)}")
        s, st = list(p), [0] * len(p)
        for k, att in enumerate(atts):
            s += att
            st += [1] * len(att)
            if k < len(decs):
                s.append(decs[k])
                st.append(2)
        seqs.append(s)
        stages.append(st)
        correct.append([decode_answer(att) == v for att in atts])
    n = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), n), PAD, dtype=torch.long)
    stage = torch.zeros((len(seqs), n), dtype=torch.long)
    att = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, (s, st) in enumerate(zip(seqs, stages)):
        ids[i, :len(s)] = torch.tensor(s)
        stage[i, :len(s)] = torch.tensor(st)
        att[i, :len(s)] = 1
    return Episodes(ids, att, stage, correct, [list(d) for d in decisions], list(digits))


def allowed_tokens(input_ids: torch.Tensor) -> torch.Tensor:
    """[B, n, V] bool: the tokens the format allows as the *next* token after position t (row-wise layout read off
    the prompt: L = a + n = position of '=' minus 2)."""
    B, n = input_ids.shape
    eq = (input_ids == EQ).int().argmax(-1)  # [B]
    L = (eq - 2)[:, None]
    j = torch.arange(n, device=input_ids.device)[None, :] + 1 - (eq[:, None] + 1)  # response index of token t+1
    r = torch.remainder(j, L + 1)
    is_digit = (j >= 0) & (r < L)
    is_dec = (j >= 0) & (r == L)
    v = torch.arange(VOCAB, device=input_ids.device)
    digit_ok = (v >= DIGIT0) & (v < DIGIT0 + 10)
    dec_ok = (v == STOP) | (v == RESAMPLE)
    allowed = torch.ones(B, n, VOCAB, dtype=torch.bool, device=input_ids.device)
    allowed = torch.where(is_digit[..., None], digit_ok, allowed)
    return torch.where(is_dec[..., None], dec_ok, allowed)


class FormatConstrained(torch.nn.Module):
    """Wraps a causal LM so that its logits respect the trajectory format (see the module doc).  Returns an
    object with ``.logits``, so numerics.probe.attribute and numerics.objectives apply unchanged."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask=None):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        logits = out.logits.masked_fill(~allowed_tokens(input_ids), MASK_VALUE)
        return types.SimpleNamespace(logits=logits)

    @torch.no_grad()
    def next_logits(self, input_ids: torch.Tensor, cache=None):
        """Masked logits of the next token after ``input_ids`` [B, n] (unpadded), and the updated key/value cache:
        pass the cache back with the sequence one token longer, and only the new token runs through the model.
        Equal (to rounding) to ``forward(input_ids).logits[:, -1]``."""
        new = input_ids if cache is None else input_ids[:, cache.get_seq_length():]
        out = self.model(input_ids=new, past_key_values=cache, use_cache=True)
        logits = out.logits[:, -1].masked_fill(~allowed_tokens(input_ids)[:, -1], MASK_VALUE)
        return logits, out.past_key_values
