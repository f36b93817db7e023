"""Every hypothesis strategy of the test suite, in one place.  Draws are labelled at the call sites
(``data.draw(strategy, label=...)``).  Logits are bounded so that probabilities stay inside (0.02, 0.98):
away from the saturated ends where float64 round-off, not the derivation, would decide a comparison."""

from __future__ import annotations

from hypothesis import strategies as st

LOGIT = st.floats(min_value=-4.0, max_value=4.0, allow_nan=False, allow_infinity=False)
REWARD = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False, allow_infinity=False)
BUDGET = st.integers(min_value=1, max_value=4)
LENGTH = st.integers(min_value=1, max_value=3)


def logits3():
    """(theta_s, theta_dC, theta_dW)."""
    return st.tuples(LOGIT, LOGIT, LOGIT)


@st.composite
def budget_and_lengths(draw, max_T: int = 4, max_L: int = 3, min_T: int = 1):
    """A budget T and per-attempt lengths (L_1..L_T)."""
    T = draw(st.integers(min_T, max_T))
    lengths = tuple(draw(st.lists(st.integers(1, max_L), min_size=T, max_size=T)))
    return T, lengths


def rewards():
    """(r_C, r_W) with r_C != r_W (a constant reward has a zero gradient: an uninformative check)."""
    return st.tuples(REWARD, REWARD).filter(lambda r: abs(r[0] - r[1]) > 0.1)


def probabilities():
    return st.floats(min_value=0.02, max_value=0.98)


LOSS_AGG_MODES = ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm", "token-sum")


@st.composite
def clip_safe_log_ratios(draw, shape, eps=(0.2, 0.28), margin=1e-3):
    """Per-token log(pi/pi_old) whose ratio stays at least ``margin`` away from the clip kinks 1-eps_low,
    1+eps_high (where the symbolic derivative and autograd's subgradient legitimately differ)."""
    import math

    n = 1
    for d in shape:
        n *= d
    lo, hi = math.log(1 - eps[0]), math.log(1 + eps[1])
    vals = draw(st.lists(st.floats(-0.5, 0.5).filter(lambda x: abs(x - lo) > margin and abs(x - hi) > margin),
                         min_size=n, max_size=n), label="log ratios")
    return vals


@st.composite
def stage_rows(draw, B_max=4, n_max=8):
    """A stage mask [B, n] with at least one response token per row (0 prompt, 1 sampling, 2 decision)."""
    B = draw(st.integers(1, B_max), label="B")
    n = draw(st.integers(1, n_max), label="n")
    rows = []
    for _ in range(B):
        row = draw(st.lists(st.sampled_from([0, 1, 1, 2]), min_size=n, max_size=n), label="stage row")
        if all(s == 0 for s in row):
            row[-1] = 1
        rows.append(row)
    return rows


@st.composite
def multiplication_episode(draw):
    """(a, n, x, y, attempts as integers, decisions, T) for one self-correction episode of the §4 task: T attempts
    at most, each followed by RESAMPLE except the last, which is followed by STOP unless the budget ended it."""
    a = draw(st.integers(1, 3), label="a")
    n = draw(st.integers(1, 4), label="n")
    x = draw(st.integers(10 ** (a - 1) if a > 1 else 0, 10 ** a - 1), label="x")
    y = draw(st.integers(10 ** (n - 1) if n > 1 else 0, 10 ** n - 1), label="y")
    T = draw(st.integers(1, 4), label="T")
    k = draw(st.integers(1, T), label="attempts taken")
    atts = draw(st.lists(st.integers(0, 10 ** (a + n) - 1), min_size=k, max_size=k), label="attempt values")
    capped = k == T and draw(st.booleans(), label="budget ended it")
    decisions = ["RESAMPLE"] * (k - 1) + ([] if capped else ["STOP"])
    return a, n, x, y, atts, decisions, T


LOGPROB = st.floats(min_value=-6.0, max_value=-0.01, allow_nan=False, allow_infinity=False)


@st.composite
def logp_and_ref_rows(draw, max_len: int = 6):
    """(logp, ref_logp): one row each of per-token log-probs of the policy and of the reference, same length."""
    n = draw(st.integers(1, max_len))
    return [draw(st.lists(LOGPROB, min_size=n, max_size=n))], [draw(st.lists(LOGPROB, min_size=n, max_size=n))]


@st.composite
def long_episodes(draw, max_T: int = 32, max_L: int = 1024):
    """(T, L) for the closed-form checks: budgets up to 32 attempts, attempts up to 1024 tokens (real attempt lengths)."""
    T = draw(st.integers(1, max_T), label="T")
    L = draw(st.integers(1, max_L), label="L")
    return T, L


# ------------------------------------------------------------------------------ dsproof decompose: generations
RATE = st.floats(min_value=0.05, max_value=0.95, allow_nan=False, allow_infinity=False)
#: decision texts the default segmentation finds (numerics.rollouts.DEFAULT_MARKERS), as a model might write them
MARKER_TEXTS = ("Let me recompute.", "I made a mistake. Let me recompute.",
                "Wait, that's wrong. I'll go back and check.", "Hmm, let me double-check:", "I MADE A MISTAKE!",
                "Let me try again.")
#: reasoning written before an attempt's answer (numbers, but no marker; the answer is the attempt's last number)
FILLERS = ("", "We have 12 x 34: 12 x 30 = 360 and 12 x 4 = 48, so ", "Step 1: carry the 1. Step 2: add. ",
           "Hmm. ", "Computing 7 * 8 = 56 first;\n")


@st.composite
def two_stage_rates(draw, buckets: int = 2):
    """Per bucket (p_s, p_dC, p_dW) of §4's two-stage process, each rate in [0.05, 0.95]."""
    return {b: (draw(RATE, label=f"p_s {b}"), draw(RATE, label=f"p_dC {b}"), draw(RATE, label=f"p_dW {b}"))
            for b in range(1, buckets + 1)}


def _written(v: int, style: str) -> str:
    return {"plain": str(v), "thousands": f"{v:,}", "zero-padded": str(v).zfill(9), "decimal": f"{v}.0"}[style]


@st.composite
def written_episode(draw, T: int):
    """One response written as a model might write it, with what it should read as: (line without prompt_id and
    bucket, correct per attempt, decisions as 'STOP' / 'RESAMPLE'), read with budget T.  Attempts: reasoning, then
    the answer in one of several notations (the last number); decisions: the paper's markers in various wordings;
    the end: the response ends (a STOP), an explicit <stop> tag, truncation (finish_reason 'length': no decision), or
    the budget (T attempts: no decision, a <stop> there is ignored)."""
    k = draw(st.integers(1, T), label="attempts")
    correct = draw(st.lists(st.booleans(), min_size=k, max_size=k), label="attempt correct")
    truth = draw(st.integers(0, 10 ** 7), label="ground truth")
    parts = []
    for i, ok in enumerate(correct):
        value = truth if ok else truth + draw(st.integers(1, 999), label="error")
        style = draw(st.sampled_from(("plain", "thousands", "zero-padded", "decimal")), label="notation")
        parts.append(draw(st.sampled_from(FILLERS), label="reasoning") + f"the answer is {_written(value, style)}.")
        if i < k - 1:
            parts.append(draw(st.sampled_from(MARKER_TEXTS), label="marker"))
    end = draw(st.sampled_from(("end", "stop tag", "truncated")), label="how it ends")
    if end == "stop tag":
        parts.append("<stop>")
    line = {"response": " ".join(parts), "answer": str(truth)}
    if end == "truncated":
        line["finish_reason"] = "length"
    capped = k == T or end == "truncated"
    decisions = ["RESAMPLE"] * (k - 1) + ([] if capped else ["STOP"])
    return line, correct, decisions


@st.composite
def marked_text(draw):
    """A response-like text: pieces of the paper's markers in random case (some cut short, some run together), tags,
    numbers, punctuation, and sometimes non-ASCII characters whose case folding is special (the Kelvin sign, a
    dotted capital I, a long s)."""
    from numerics.rollouts import DEFAULT_MARKERS

    pieces = []
    for _ in range(draw(st.integers(0, 12), label="pieces")):
        kind = draw(st.sampled_from(("marker", "cut marker", "tag", "number", "text", "unicode")), label="piece")
        if kind in ("marker", "cut marker"):
            m = draw(st.sampled_from(DEFAULT_MARKERS), label="marker")
            if kind == "cut marker":
                m = m[:draw(st.integers(1, len(m)), label="cut")]
            flips = draw(st.lists(st.booleans(), min_size=len(m), max_size=len(m)), label="case flips")
            pieces.append("".join(c.swapcase() if f else c for c, f in zip(m, flips)))
        elif kind == "tag":
            pieces.append(draw(st.sampled_from(("<stop>", "[STOP]", "<resample>", "STOP")), label="tag"))
        elif kind == "number":
            pieces.append(str(draw(st.integers(-10 ** 6, 10 ** 6), label="number")))
        elif kind == "text":
            pieces.append(draw(st.sampled_from((" ", ". ", ", ", "\n", "so ", "me", "check", "again ")), label="text"))
        else:
            pieces.append(draw(st.sampled_from(("\u212a", "\u0130", "\u017f", "é", "→")), label="unicode"))
    return "".join(pieces)
