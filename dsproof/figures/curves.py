"""The closed forms the figures draw, evaluated once (cached, read-only): the ledger's reference point, the exact
ratio of an objective along a scaling, theory.values' expected first-stage Q's and their quotients, and the grid of
lengths L they are evaluated on."""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from theory import asymptotics
from theory.closed_form import L as L_SYMBOL
from theory.closed_form import objective_gradients

from .. import scaling


def grid(decades: int = 5, per_decade: int = 6, extra=()) -> np.ndarray:
    """Integer lengths 1..10^decades, log-spaced, with scaling.LENGTHS (where the ledger prints) and ``extra``."""
    Ls = np.round(np.logspace(0, decades, decades * per_decade + 1)).astype(int)
    keep = [n for n in scaling.LENGTHS + tuple(extra) if n <= 10 ** decades]
    return np.unique(np.concatenate([Ls, np.asarray(keep, dtype=int)]))


@functools.lru_cache(maxsize=None)
def point(T: int = 2) -> dict:
    """The ledger's reference point (dsproof.scaling: policy logits and reference) with budget T."""
    return asymptotics.setting(scaling.POLICY_LOGITS, scaling.REF_LOGITS, T)


@functools.lru_cache(maxsize=None)
def _exact(objective: str, scaling_name: str):
    """L -> the exact ratio of ``objective`` along a scaling at the reference point (T = 2): the function the scaling
    table's exact figures come from (theory.asymptotics.ratio_along, 30 digits)."""
    return asymptotics.ratio_along(objective_gradients(2)[objective], scaling_name, point())


@functools.lru_cache(maxsize=None)
def curve(objective: str, scaling_name: str, lengths: tuple) -> np.ndarray:
    """The exact ratio of ``objective`` along a scaling at each of ``lengths`` (read-only, cached)."""
    f = _exact(objective, scaling_name)
    return frozen([f(n) for n in lengths])


def frozen(a) -> np.ndarray:
    """A cached curve, read-only (a caller cannot change what the next figure draws)."""
    a = np.asarray(a, dtype=float)
    a.flags.writeable = False
    return a


@functools.lru_cache(maxsize=None)
def first_stage(reward: str):
    """theory.values' expected first-stage Q's and immediate rewards (T = 2) in closed_form's L."""
    from theory import values

    return tuple(sp.sympify(e).subs(values.L, L_SYMBOL) for e in values.first_stage_expected_q(2, values.L, reward))


@functools.lru_cache(maxsize=None)
def quotient(reward: str, num: int, den: int, scaling_name: str, lengths: tuple) -> np.ndarray:
    """first_stage_expected_q's entry ``num`` over entry ``den`` along a scaling (T = 2, the reference point), exact
    (theory.asymptotics.ratio_along of the pair (num, den, 0): |num| / |den|)."""
    e = first_stage(reward)
    f = asymptotics.ratio_along((e[num], e[den], sp.Integer(0)), scaling_name, point())
    return frozen([f(n) for n in lengths])


def immediate(scaling_name: str, lengths: tuple) -> np.ndarray:
    """Theorem 3.2's immediate penalties d^sample / d^decision = L kl_tok / E[kl_dec] (k1, first attempt and the
    decision after it)."""
    return quotient("k1", 2, 3, scaling_name, lengths)
