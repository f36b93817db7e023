"""The §4 task: a-digit x n-digit multiplication with self-correction trajectories.

Token format (one sequence per episode)::

    BOS  a_1..a_a  x  b_1..b_n  =  | attempt_1 | d_1 | attempt_2 | d_2 | ... | attempt_k |  (d_k = STOP, or the budget)

* operands most-significant digit first, as written;
* an attempt has one of two formats (``attempt_format``), each of a fixed length per digit count, so every episode
  of a prompt has the same layout:

  - ``"answer"``: the product written **least-significant digit first**, zero-padded to a + n digits;
  - ``"cot"`` (a chain of thought): the work, then the answer, every field least-significant digit first and
    zero-padded: the a partial products x_i * y (x_i the i-th digit of x from the right; n + 1 digits each), the
    carries of adding them shifted (a + n digits: carry k is the carry out of column k), then the answer digits
    (a + n digits, as in ``"answer"``).  Each field can be checked against the others (:func:`check_attempt`),
    so a wrong attempt shows its error in its own tokens;
* an attempt is correct when its answer digits (the last a + n tokens) spell the product;
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


ATTEMPT_FORMATS = ("answer", "cot")


def _check_format(attempt_format: str) -> None:
    if attempt_format not in ATTEMPT_FORMATS:
        raise ValueError(f"attempt_format must be one of {ATTEMPT_FORMATS}, got {attempt_format!r}")


def attempt_len(a: int, n: int, attempt_format: str = "answer") -> int:
    """Tokens of one attempt: a + n answer digits, preceded in the chain of thought by a partial products of
    n + 1 digits and a + n carries."""
    _check_format(attempt_format)
    return a + n if attempt_format == "answer" else a * (n + 1) + 2 * (a + n)


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


def _value(digits_lsb_first: list[int]) -> int:
    return int("".join(map(str, reversed(digits_lsb_first)))) if digits_lsb_first else 0


def _lsb_digits(v: int, width: int) -> list[int]:
    return [int(c) for c in str(int(v)).zfill(width)[::-1]]


def partial_products(x: int, y: int, a: int) -> list[int]:
    """x_i * y for the digits x_i of x, least significant first (a of them, x zero-padded to a digits)."""
    return [d * int(y) for d in _lsb_digits(x, a)]


def column_addition(partials: list[int], a: int, n: int) -> tuple[list[int], list[int]]:
    """Add the partial products shifted (partial i by i places) column by column, as written by hand: the carry out
    of every column and the digit written in it, each least-significant column first (a + n columns).  Raises
    ValueError when the sum does not fit in a + n digits."""
    L = a + n
    cols = [0] * L
    for i, pp in enumerate(partials):
        for k, d in enumerate(_lsb_digits(pp, n + 1)):
            if i + k < L:
                cols[i + k] += d
            elif d:
                raise ValueError(f"partial product {pp} shifted by {i} does not fit in {L} digits")
    carries, digits, carry = [], [], 0
    for c in cols:
        carry, digit = divmod(c + carry, 10)
        carries.append(carry)
        digits.append(digit)
    if carry:
        raise ValueError(f"the partial products {partials} add up to more than {L} digits")
    return carries, digits


def encode_work(partials: list[int], a: int, n: int) -> list[int]:
    """A chain-of-thought attempt from its partial products (right or wrong): the partial products, then the carries
    and answer digits of adding them, so the attempt is consistent with the partial products it writes."""
    carries, digits = column_addition(partials, a, n)
    return [DIGIT0 + d for pp in partials for d in _lsb_digits(pp, n + 1)] + [DIGIT0 + c for c in carries] + \
        [DIGIT0 + d for d in digits]


def encode_attempt(x: int, y: int, a: int, n: int, attempt_format: str = "answer") -> list[int]:
    """The correct attempt for x * y in the given format."""
    _check_format(attempt_format)
    if attempt_format == "answer":
        return encode_answer(int(x) * int(y), a, n)
    return encode_work(partial_products(x, y, a), a, n)


@dataclass(frozen=True)
class AttemptCheck:
    """What the tokens of one attempt say, field by field: ``fields`` maps each field's name to whether it is right
    (``partial product i``: equals x_i * y; ``carry k`` and ``answer digit k``: follow from column k of the written
    partial products and the written carry into it; ``product``: the answer digits spell x * y).  ``answer`` is the
    value the answer digits spell (None when a token is not a digit)."""

    answer: int | None
    fields: dict[str, bool]

    @property
    def correct(self) -> bool:
        return bool(self.fields.get("product"))

    @property
    def consistent(self) -> bool:
        """Every field of the work is right: no error is visible in the attempt."""
        return all(self.fields.values())

    @property
    def errors(self) -> list[str]:
        return [k for k, ok in self.fields.items() if not ok]


def check_attempt(tokens, x: int, y: int, a: int, n: int, attempt_format: str = "answer") -> AttemptCheck:
    """Decode one attempt and check every field of it (see :class:`AttemptCheck`).  ValueError when the tokens do not
    have the format's length; a non-digit token makes every field it touches wrong."""
    L = a + n
    tokens = [int(t) for t in tokens]
    if len(tokens) != attempt_len(a, n, attempt_format):
        raise ValueError(f"a {attempt_format!r} attempt for a={a}, n={n} has {attempt_len(a, n, attempt_format)} "
                         f"tokens, got {len(tokens)}")
    answer = decode_answer(tokens[-L:])
    fields: dict[str, bool] = {}
    if attempt_format == "cot":
        digs = [t - DIGIT0 if 0 <= t - DIGIT0 <= 9 else None for t in tokens]
        w = n + 1
        pps = [digs[i * w:(i + 1) * w] for i in range(a)]
        carries, ans = digs[a * w:a * w + L], digs[a * w + L:]
        for i, (pp, want) in enumerate(zip(pps, partial_products(x, y, a))):
            fields[f"partial product {i}"] = None not in pp and _value(pp) == want
        carry_in = 0
        for k in range(L):
            col = [pp[k - i] for i, pp in enumerate(pps) if 0 <= k - i < w]
            ok = None not in col and carry_in is not None
            s = sum(col) + carry_in if ok else None
            fields[f"carry {k}"] = ok and carries[k] == s // 10
            fields[f"answer digit {k}"] = ok and ans[k] == s % 10
            carry_in = carries[k]
    fields["product"] = answer == int(x) * int(y)
    return AttemptCheck(answer, fields)


def wrong_attempt(x: int, y: int, a: int, n: int, rng: np.random.Generator, attempt_format: str = "answer") -> list[int]:
    """A synthetic wrong attempt for x * y: in ``"answer"``, one or two digits of the product changed
    (:func:`wrong_answer`); in ``"cot"``, an error in the work: one digit of one partial product changed, and the
    carries and answer computed from the wrong partial product, so the attempt is wrong where its work is."""
    _check_format(attempt_format)
    if attempt_format == "answer":
        return wrong_answer_attempt(x, y, a, n, rng, attempt_format)
    while True:
        pps = partial_products(x, y, a)
        i, k = int(rng.integers(a)), int(rng.integers(n + 1))
        ds = _lsb_digits(pps[i], n + 1)
        ds[k] = (ds[k] + int(rng.integers(1, 10))) % 10
        pps[i] = _value(ds)
        try:
            return encode_work(pps, a, n)
        except ValueError:  # the wrong partial products overflow a + n digits: draw another error
            continue


def wrong_answer_attempt(x: int, y: int, a: int, n: int, rng: np.random.Generator,
                         attempt_format: str = "answer") -> list[int]:
    """A synthetic wrong attempt whose error is in the answer digits only: the correct attempt with one or two
    answer digits changed (:func:`wrong_answer`).  In ``"cot"`` the work (partial products, carries) stays correct,
    so the attempt's answer contradicts its own work; in ``"answer"`` it is the answer-only synthetic error."""
    _check_format(attempt_format)
    tokens = encode_attempt(x, y, a, n, attempt_format)
    tokens[-(a + n):] = encode_answer(wrong_answer(int(x) * int(y), a, n, rng), a, n)
    return tokens


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
        correct.append([decode_answer(att[-(len(p) - 3):]) == v for att in atts])  # the answer: last a + n tokens
    n = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), n), PAD, dtype=torch.long)
    stage = torch.zeros((len(seqs), n), dtype=torch.long)
    att = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, (s, st) in enumerate(zip(seqs, stages)):
        ids[i, :len(s)] = torch.tensor(s)
        stage[i, :len(s)] = torch.tensor(st)
        att[i, :len(s)] = 1
    return Episodes(ids, att, stage, correct, [list(d) for d in decisions], list(digits))


def allowed_tokens(input_ids: torch.Tensor, attempt_format: str = "answer") -> torch.Tensor:
    """[B, n, V] bool: the tokens the format allows as the *next* token after position t (row-wise layout read off
    the prompt: a = position of 'x' minus 1, n = position of '=' minus position of 'x' minus 1, and the attempt
    length L = attempt_len(a, n, attempt_format))."""
    _check_format(attempt_format)
    B, n = input_ids.shape
    eq = (input_ids == EQ).int().argmax(-1)  # [B]
    times = (input_ids == TIMES).int().argmax(-1)
    a_, n_ = times - 1, eq - times - 1
    L = (a_ + n_ if attempt_format == "answer" else a_ * (n_ + 1) + 2 * (a_ + n_))[:, None]
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

    def __init__(self, model, attempt_format: str = "answer"):
        super().__init__()
        _check_format(attempt_format)
        self.model = model
        self.attempt_format = attempt_format

    def forward(self, input_ids, attention_mask=None):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        logits = out.logits.masked_fill(~allowed_tokens(input_ids, self.attempt_format), MASK_VALUE)
        return types.SimpleNamespace(logits=logits)

    @torch.no_grad()
    def next_logits(self, input_ids: torch.Tensor, cache=None):
        """Masked logits of the next token after ``input_ids`` [B, n] (unpadded), and the updated key/value cache:
        pass the cache back with the sequence one token longer, and only the new token runs through the model.
        Equal (to rounding) to ``forward(input_ids).logits[:, -1]``."""
        new = input_ids if cache is None else input_ids[:, cache.get_seq_length():]
        out = self.model(input_ids=new, past_key_values=cache, use_cache=True)
        logits = out.logits[:, -1].masked_fill(~allowed_tokens(input_ids, self.attempt_format)[:, -1], MASK_VALUE)
        return logits, out.past_key_values
