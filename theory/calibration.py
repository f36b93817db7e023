"""§4.2 calibration formula and its finite-budget version."""

from __future__ import annotations

import functools

import sympy as sp

from .toy import p_dC, p_dW, q

#: first-attempt accuracy as a free symbol
p_s = sp.Symbol("p_s", positive=True)
#: number of allowed attempts
T_sym = sp.Symbol("T", integer=True, positive=True)


def continue_probability(ps=p_s):
    """b = P(RESAMPLE) = p_s (1 - p_dC) + (1 - p_s) p_dW."""
    return ps * (1 - p_dC) + (1 - ps) * p_dW


def predicted_accuracy(ps=p_s):
    """§4.2: accuracy with unlimited retries, independent attempts of constant accuracy p_s:

    p_s p_dC / (1 - (p_s (1 - p_dC) + (1 - p_s) p_dW)).
    """
    return ps * p_dC / (1 - (ps * (1 - p_dC) + (1 - ps) * p_dW))


def predicted_accuracy_budget(T=T_sym, ps=p_s):
    """Finite budget of T attempts (the last one is kept whatever it is):

    a (1 - b^(T-1)) / (1 - b) + b^(T-1) p_s, with a = p_s p_dC and b = continue_probability.
    Solves V_T = p_s, V_{k} = a + b V_{k+1} (the toy model's backward recursion with r_C=1, r_W=0).
    """
    a, b = ps * p_dC, continue_probability(ps)
    return a * (1 - b ** (T - 1)) / (1 - b) + b ** (T - 1) * ps


def budget_gap(T=T_sym, ps=p_s):
    """f_T - f_oo, the finite-budget accuracy minus the §4.2 unlimited-retry prediction, in closed form:

    -p_s (1 - p_s) (p_dC + p_dW - 1) b^(T-1) / (1 - b),   b = continue_probability.

    For 0 < p_s < 1 and 0 < b < 1 its sign is that of 1 - p_dC - p_dW (see :func:`prediction_bias`)."""
    b = continue_probability(ps)
    return -ps * (1 - ps) * (p_dC + p_dW - 1) * b ** (T - 1) / (1 - b)


def prediction_bias() -> dict[str, sp.Expr]:
    """When the unlimited-retry formula over- or under-predicts a finite budget (any T >= 1, p_s in (0, 1)):
    over-predicts iff p_dC + p_dW > 1 (the decision is informative: it stops more often after a correct answer
    than after a wrong one), under-predicts iff p_dC + p_dW < 1, exact iff p_dC + p_dW = 1 (then f = p_s)."""
    return {"over-predicts": sp.Gt(p_dC + p_dW, 1), "under-predicts": sp.Lt(p_dC + p_dW, 1),
            "exact": sp.Eq(p_dC + p_dW, 1)}


#: accuracy of the attempts after the first (the §4.2 model sets it equal to p_s)
p_r = sp.Symbol("p_r", positive=True)


def predicted_accuracy_retry(T=T_sym, ps=p_s, pr=p_r):
    """Finite budget T when the first attempt has accuracy p_s and every later attempt accuracy p_r (the §4.2
    model with its one accuracy split in two; p_r = p_s gives predicted_accuracy_budget back):

    p_s (p_dC + (1 - p_dC) F) + (1 - p_s) p_dW F,  F = predicted_accuracy_budget(T - 1, p_r),

    since after a RESAMPLE the remaining T - 1 attempts are the §4.2 process with accuracy p_r.  T = 1: p_s."""
    if T == 1:
        return ps
    F = predicted_accuracy_budget(T - 1, pr)
    return ps * (p_dC + (1 - p_dC) * F) + (1 - ps) * p_dW * F


def budget_limit():
    """lim_{T->oo} of the finite-budget formula (for 0 < b < 1) as sympy computes it."""
    b = sp.Symbol("b", positive=True)
    a = sp.Symbol("a", positive=True)
    expr = a * (1 - b ** (T_sym - 1)) / (1 - b) + b ** (T_sym - 1) * p_s
    lim = sp.limit(expr.subs(b, 1 / (1 + sp.Symbol("c", positive=True))), T_sym, sp.oo)
    c = sp.Symbol("c", positive=True)
    return sp.simplify(lim.subs(c, 1 / b - 1).subs({a: p_s * p_dC, b: continue_probability()}))


@functools.lru_cache(maxsize=None)
def predicted_accuracy_numeric(T: int | None = None, retry: bool = False):
    """numpy function f(p_s, p_dC, p_dW) of the finite-budget formula with budget ``T``, or of the §4.2
    unlimited-retry formula when ``T`` is None; with ``retry``, f(p_s, p_r, p_dC, p_dW) of
    predicted_accuracy_retry(T).  Lambdified once per (T, retry): the reproduction evaluates it per bootstrap
    replicate."""
    if retry:
        if T is None:
            raise ValueError("the retry-accuracy formula needs a finite budget T")
        return sp.lambdify((p_s, p_r, p_dC, p_dW), predicted_accuracy_retry(T), "numpy")
    expr = predicted_accuracy() if T is None else predicted_accuracy_budget(T)
    return sp.lambdify((p_s, p_dC, p_dW), expr, "numpy")


__all__ = ["p_s", "p_r", "q", "predicted_accuracy", "predicted_accuracy_budget", "predicted_accuracy_retry",
           "budget_gap", "prediction_bias",
           "budget_limit", "continue_probability", "predicted_accuracy_numeric"]
