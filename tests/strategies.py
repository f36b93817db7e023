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
def budget_and_lengths(draw, max_T: int = 4, max_L: int = 3):
    """A budget T and per-attempt lengths (L_1..L_T)."""
    T = draw(st.integers(1, max_T))
    lengths = tuple(draw(st.lists(st.integers(1, max_L), min_size=T, max_size=T)))
    return T, lengths


def rewards():
    """(r_C, r_W) with r_C != r_W (a constant reward has a zero gradient: an uninformative check)."""
    return st.tuples(REWARD, REWARD).filter(lambda r: abs(r[0] - r[1]) > 0.1)


def probabilities():
    return st.floats(min_value=0.02, max_value=0.98)
