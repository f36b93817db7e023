"""What the claim modules share: the ledger's random seed, the float64 tolerance, and the shapes of the rows that
recur (agreement with autograd, a symbolic residual)."""

from __future__ import annotations

import numpy as np
import torch

from numerics.tolerances import TOLERANCES

from ..model import Evidence, Figure, bound, check, exact

RNG_SEED = 20260104  # the paper's v1 date; every random draw in the ledger comes from this seed
TOL64 = "rtol=%g, atol=%g (float64)" % TOLERANCES[torch.float64]
#: error/tolerance below this is round-off: printed as the bound (its digits change from machine to machine; float64
#: round-off puts error/tolerance near 1e-6, a wrong derivation far above 1)
AGREEMENT_BOUND = 0.1


def random_points(n: int, scale: float = 2.0, seed: int = RNG_SEED) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-scale, scale, size=(n, 3))


def agrees(id: str, what: str, error_ratio: float, kind: str = "autograd", scope: str = "instances") -> Evidence:
    """A check that a computation agrees with an independent one within the float64 tolerance table:
    max |a - e| / (atol + rtol |e|) <= 1."""
    return check(id, kind, f"{what} [tolerance {TOL64}]", {"error/tolerance": bound(error_ratio, AGREEMENT_BOUND)},
                 ("error/tolerance", "<=", 1), scope=scope)


def residual(expr) -> Figure:
    """A symbolic residual: the integer 0 when it is 0, else its expression as text (a check on it then fails)."""
    import sympy as sp

    if isinstance(expr, (list, tuple)):
        nonzero = [e for e in expr if not _is_zero(e)]
        return exact(0) if not nonzero else exact("; ".join(map(str, nonzero)))
    if isinstance(expr, sp.MatrixBase):
        return residual(list(expr))
    return exact(0) if _is_zero(expr) else exact(str(expr))


def _is_zero(e) -> bool:
    import sympy as sp

    if isinstance(e, sp.MatrixBase):
        return all(_is_zero(x) for x in e)
    return e == 0


def residual_check(id: str, what: str, residuals: dict, scope: str = "instances", kind: str = "symbolic") -> Evidence:
    """A check that every named symbolic residual is exactly 0."""
    values = {k: residual(v) for k, v in residuals.items()}
    return check(id, kind, what, values, *((k, "==", 0) for k in values), scope=scope)
