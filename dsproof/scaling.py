"""How each objective's sampling:decision attribution ratio scales with the attempt length L, with the surrogate as
control: one table, derived by theory.asymptotics from the closed forms of theory.closed_form, read by the claims
thm-3.1-norms, thm-3.2, thm-3.2-practised, def-3.1 and appD-sft-dft.

Every figure is either an exact ratio (the closed form evaluated at 30 digits) or a derived leading order
C L^a (log L)^c; none is fitted.  "Relative" is the objective's ratio divided by the surrogate's in the same model,
scaled the same way, at the same L: the control Definition 3.1's "unbalanced" needs.
"""

from __future__ import annotations

import functools

import sympy as sp
from dataclasses import dataclass

from theory import asymptotics
from theory.closed_form import L, objective_gradients

#: the reference point: policy = reference + 0.3 on every logit (the ledger's KL setting since v1 of dsproof)
POLICY_LOGITS = (0.8, 0.5, 0.2)
REF_LOGITS = (0.5, 0.2, -0.1)
#: lengths printed: L = 1 (the paper's App. C model) and the regime of real LLM attempts (10^2 - 10^4 tokens)
LENGTHS = (1, 100, 1000, 10_000)


@dataclass(frozen=True)
class Row:
    objective: str
    scaling: str
    asymptotics: asymptotics.RatioAsymptotics
    exact: dict[int, float]  # L -> exact ratio
    relative_power: int
    relative_log_power: int
    relative_coeff: float  # leading coefficient of ratio / surrogate ratio

    def leading(self) -> str:
        a = self.asymptotics
        if a.exponentially_small:
            return "-> 0 exponentially"
        c = float(a.coeff)
        if a.power == 0 and a.log_power == 0:
            return f"-> {c:.4g}"
        return f"~ {c:.4g} " + _monomial(a.power, a.log_power)

    def relative(self) -> str:
        if self.relative_power == 0 and self.relative_log_power == 0:
            return f"-> {self.relative_coeff:.3g}"
        if (self.relative_power, self.relative_log_power) < (0, 0):
            return f"-> 0 (~ {self.relative_coeff:.3g} {_monomial(self.relative_power, self.relative_log_power)})"
        return f"~ {self.relative_coeff:.3g} {_monomial(self.relative_power, self.relative_log_power)}"

    def growth(self) -> str:
        """'bounded' or 'grows' (relative to the surrogate)."""
        return "grows" if (self.relative_power, self.relative_log_power) > (0, 0) else "bounded"

    def text(self, with_control: bool = True) -> str:
        vals = ", ".join(f"L={n:,}: {v:.4g}" for n, v in self.exact.items())
        out = f"{self.scaling}: {self.leading()} ({vals})"
        return out + (f"; / surrogate {self.relative()}" if with_control and self.objective != "surrogate" else "")


def _monomial(a, c) -> str:
    parts = ([("L" if a == 1 else f"L^{a}")] if a != 0 else []) + \
            ([("log L" if c == 1 else f"(log L)^{c}")] if c != 0 else [])
    return " ".join(parts) or "1"


@functools.lru_cache(maxsize=None)
def table(T: int = 2) -> dict[tuple[str, str], Row]:
    """(objective, scaling) -> Row, at the reference point with budget ``T``."""
    values = asymptotics.setting(POLICY_LOGITS, REF_LOGITS, T)
    grads = objective_gradients(T, L)
    out = {}
    for scaling in asymptotics.SCALINGS:
        sur = asymptotics.ratio_asymptotics(grads["surrogate"], scaling, values)
        for name, g in grads.items():
            a = sur if name == "surrogate" else asymptotics.ratio_asymptotics(g, scaling, values)
            exact = asymptotics.ratio_along(g, scaling, values)
            rel_c = 0.0 if a.exponentially_small else float(a.coeff / sur.coeff)
            out[(name, scaling)] = Row(name, scaling, a, {n: exact(n) for n in LENGTHS},
                                       int(a.power - sur.power), int(a.log_power - sur.log_power), rel_c)
    return out


def rows(objective: str, T: int = 2) -> list[Row]:
    return [r for (name, _), r in table(T).items() if name == objective]


#: the distribution of a fixed-logits limit: policy logits ~ U(-2, 2)^3, the reference a U(0.1, 1) logit below the
#: policy on each logit, budget T uniform in 2..16; the seed fixes the draws
LIMIT_DRAWS = 400
LIMIT_SEED = 20260401


def limit_draws(n: int = LIMIT_DRAWS, seed: int = LIMIT_SEED) -> list[tuple[tuple, tuple, int]]:
    """(policy logits, reference logits, T) drawn as LIMIT_DRAWS says."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        z = rng.uniform(-2, 2, size=3)
        out.append((tuple(float(x) for x in z), tuple(float(x) for x in z - rng.uniform(0.1, 1.0, size=3)),
                    int(rng.integers(2, 17))))
    return out


def fixed_logits_leading(objective: str, draws=None) -> tuple[int, int, list[float]]:
    """(power a, log power c, [coefficient C at each draw]) of ``objective``'s attribution ratio ~ C L^a (log L)^c
    under fixed logits.  The leading order is derived once, symbolic in T and every probability (so a and c hold at
    every point), then C is evaluated at each draw of :func:`limit_draws`."""
    from numerics.figure1 import sigmoid
    from theory.closed_form import T as T_SYMBOL
    from theory.toy import PROBS, REF_PROBS

    a = asymptotics.ratio_asymptotics(objective_gradients()[objective], "fixed-logits")
    if a.exponentially_small:
        return 0, 0, [0.0] * len(draws or limit_draws())
    coeff = sp.lambdify(PROBS + REF_PROBS + (T_SYMBOL,), a.coeff, "numpy")
    return int(a.power), int(a.log_power), [float(coeff(*sigmoid(z), *sigmoid(zr), T))
                                            for z, zr, T in (draws or limit_draws())]


def fixed_logits_limits(objective: str, draws=None) -> list[float]:
    """The L -> oo limit of ``objective``'s ratio under fixed logits at each draw; only a bounded ratio has one."""
    power, log_power, coeffs = fixed_logits_leading(objective, draws)
    if (power, log_power) != (0, 0):
        raise ValueError(f"{objective}: the fixed-logits ratio grows (~ C {_monomial(power, log_power)}); it has no "
                         "finite limit")
    return coeffs
