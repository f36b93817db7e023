"""Argument checks shared by theory/ and numerics/: clear errors naming the argument, never a silent NaN."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Sequence


def check_budget(T, name: str = "T") -> int:
    """A budget of attempts must be an integer >= 1."""
    if isinstance(T, bool) or not isinstance(T, Integral):
        raise TypeError(f"{name} must be an int >= 1 (number of attempts), got {T!r}")
    if T < 1:
        raise ValueError(f"{name} must be >= 1 (number of attempts), got {T}")
    return int(T)


def check_lengths(lengths, T: int, name: str = "lengths") -> tuple[int, ...]:
    """Attempt lengths: one positive int (used for every attempt) or a sequence of T positive ints."""
    if isinstance(lengths, Integral) and not isinstance(lengths, bool):
        lengths = (int(lengths),) * T
    try:
        lengths = tuple(lengths)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of {T} ints, got {lengths!r}") from None
    if len(lengths) != T:
        raise ValueError(f"{name} must have one entry per attempt (T={T}), got {len(lengths)}")
    for k, L in enumerate(lengths, 1):
        if isinstance(L, bool) or not isinstance(L, Integral):
            raise TypeError(f"{name}[{k}] must be an int, got {L!r}")
        if L < 1:
            raise ValueError(f"{name}[{k}] must be >= 1 token (attempt length), got {L}")
    return tuple(int(L) for L in lengths)


def check_finite(value, name: str) -> float:
    """A finite real number (logits, rewards)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_probability(p, name: str, open_interval: bool = False) -> float:
    """A probability in [0, 1] (or (0, 1) when ``open_interval``)."""
    p = check_finite(p, name)
    if open_interval and not 0.0 < p < 1.0:
        raise ValueError(f"{name} must be a probability in (0, 1), got {p}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    return p


def check_finite_all(values: Sequence, name: str) -> list[float]:
    return [check_finite(v, f"{name}[{i}]") for i, v in enumerate(values)]
