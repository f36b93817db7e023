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


# ------------------------------------------------------------------------------------ the rows as ledger figures
def growth(power, log_power, exponentially_small: bool = False) -> str:
    """'grows', 'constant' or 'vanishes': how C L^power (log L)^log_power behaves as L -> oo."""
    if exponentially_small:
        return "vanishes"
    key = (int(power), int(log_power))
    return "grows" if key > (0, 0) else "constant" if key == (0, 0) else "vanishes"


def leading_figures(row: Row, relative: bool = False) -> dict:
    """The leading order of a row's ratio (or, ``relative``, of its ratio over the surrogate's) as figures: L power,
    log L power, coefficient, growth ('grows' / 'constant' / 'vanishes')."""
    from .model import exact, sig

    if relative:
        power, log_power, coeff = row.relative_power, row.relative_log_power, row.relative_coeff
        small = row.asymptotics.exponentially_small
        pre = "relative "
    else:
        a = row.asymptotics
        power, log_power, coeff, small = a.power, a.log_power, (0.0 if a.exponentially_small else float(a.coeff)), \
            a.exponentially_small
        pre = ""
    return {f"{pre}L power": exact(0 if small else int(power)), f"{pre}log L power": exact(0 if small else int(log_power)),
            f"{pre}coefficient": sig(coeff, 4), f"{pre}growth": exact(growth(power, log_power, small))}


def exact_figures(row: Row, lengths=LENGTHS) -> dict:
    from .model import sig

    return {f"ratio at L={n:,}": sig(row.exact[n], 4) for n in lengths if n in row.exact}


#: per-token KL levels of the fixed-p_s-ref map: the reference's per-token accuracy q_ref = exp(-kappa), so the
#: per-token KL(q || q_ref) -> kappa as q -> 1; from the reference point's level (q_ref = sigmoid(0.5): kappa =
#: 0.474) down to the levels of KL-regularised training
KL_LEVELS = ("0.474", "0.1", "0.01", "0.001")
#: lengths at which the exact relative ratio is printed in that map
KL_LEVEL_LENGTHS = (100, 1000, 10_000)


@functools.lru_cache(maxsize=None)
def kl_level_rows(objective: str, T: int = 2) -> dict[str, dict]:
    """Under fixed-p_s-ref with q_ref = exp(-kappa) for each kappa of KL_LEVELS (the reference point's q_ref gives the
    first): the leading order of ``objective``'s ratio over the surrogate's (derived, symbolic in L), and the exact
    relative ratio at KL_LEVEL_LENGTHS and the per-token KL there."""
    from theory.toy import kl_bernoulli, q, q_ref

    base = asymptotics.setting(POLICY_LOGITS, REF_LOGITS, T)
    grads = objective_gradients(T, L)
    out = {}
    for level in KL_LEVELS:
        values = dict(base)
        if level != KL_LEVELS[0]:
            values[q_ref] = sp.exp(-sp.Rational(level))
        a = asymptotics.ratio_asymptotics(grads[objective], "fixed-p_s-ref", values)
        s = asymptotics.ratio_asymptotics(grads["surrogate"], "fixed-p_s-ref", values)
        ea = asymptotics.ratio_along(grads[objective], "fixed-p_s-ref", values)
        es = asymptotics.ratio_along(grads["surrogate"], "fixed-p_s-ref", values)
        P = values[asymptotics.P]
        kl = {n: float(kl_bernoulli(q, q_ref).subs({q: P ** sp.Rational(1, n), q_ref: values[q_ref]}).evalf(30))
              for n in KL_LEVEL_LENGTHS}
        out[level] = dict(power=int(a.power - s.power), log_power=int(a.log_power - s.log_power),
                          coeff=float(a.coeff / s.coeff), q_ref=float(values[q_ref]),
                          relative={n: ea(n) / es(n) for n in KL_LEVEL_LENGTHS}, kl=kl)
    return out


@functools.lru_cache(maxsize=None)
def demonstration_rows(T: int = 2) -> dict[tuple[str, str], dict]:
    """(wrong attempt, scaling) -> the leading order of SFT's ratio on a reflection demonstration over the surrogate's
    (derived, symbolic in L) and the exact relative ratio at LENGTHS, for each composition of the demonstration's
    wrong attempt (theory.sft.WRONG_ATTEMPTS: a choice the paper leaves open)."""
    from theory.sft import WRONG_ATTEMPTS, reflection_demonstration_gradients

    values = asymptotics.setting(POLICY_LOGITS, REF_LOGITS, T)
    sur_g = objective_gradients(T, L)["surrogate"]
    out = {}
    for wrong in WRONG_ATTEMPTS:
        g = reflection_demonstration_gradients(L, wrong)["sft"]
        for s in asymptotics.SCALINGS:
            a, sur = asymptotics.ratio_asymptotics(g, s, values), asymptotics.ratio_asymptotics(sur_g, s, values)
            ea, es = asymptotics.ratio_along(g, s, values), asymptotics.ratio_along(sur_g, s, values)
            power, log_power = int(a.power - sur.power), int(a.log_power - sur.log_power)
            out[(wrong, s)] = dict(power=power, log_power=log_power, coeff=float(a.coeff / sur.coeff),
                                   growth=growth(power, log_power),
                                   relative={n: ea(n) / es(n) for n in LENGTHS if n > 1})
    return out


# --------------------------------------------------------------------------------- the discounted (gamma < 1) model
DISCOUNT_GAMMAS = ("0.99", "0.999")


def _discounted_gradient(reward: str, discount: str, drop_gamma_L: bool, gamma_value=None):
    """theory.values' per-stage gradient (T = 2) in closed_form's L, gamma symbolic (or at ``gamma_value``);
    ``drop_gamma_L``: gamma^L set to 0 (exponentially small against every power of L: for the leading order only)."""
    from theory import values as V

    out = []
    for x in V.stage_gradients(2, V.L, V.gamma, reward, discount=discount):
        e = sp.expand(sp.powsimp(sp.expand(x, power_exp=True)), power_exp=True)
        if drop_gamma_L:
            e = e.subs(V.gamma ** V.L, 0)
        if gamma_value is not None:
            e = e.subs(V.gamma, gamma_value)
        out.append(e.subs(V.L, L))
    return out


@functools.lru_cache(maxsize=None)
def discounted_leading(reward: str, scaling_name: str, discount: str = "token") -> asymptotics.RatioAsymptotics:
    """The leading order in L of the discounted toy model's sampling:decision ratio (T = 2, reference point), with
    gamma symbolic: the power of L holds for every gamma in (0, 1) where the coefficient is nonzero."""
    values = asymptotics.setting(POLICY_LOGITS, REF_LOGITS, 2)
    return asymptotics.ratio_asymptotics(_discounted_gradient(reward, discount, True), scaling_name, values)


@functools.lru_cache(maxsize=None)
def discounted_row(reward: str, gamma: str, scaling_name: str, discount: str = "token") -> dict:
    """The sampling:decision ratio of the discounted toy model (T = 2, reference point) with per-token ('token') or
    per-stage ('stage') discount ``gamma`` < 1, along a scaling: its leading order in L (:func:`discounted_leading`,
    evaluated at ``gamma``) and the exact ratio (30 digits, gamma^L kept) at LENGTHS and 10^6."""
    from theory import values as V

    values = asymptotics.setting(POLICY_LOGITS, REF_LOGITS, 2)
    g = sp.Rational(gamma)
    a = discounted_leading(reward, scaling_name, discount)
    exact = asymptotics.ratio_along(_discounted_gradient(reward, discount, False, g), scaling_name, values)
    return dict(power=int(a.power), log_power=int(a.log_power), coeff=float(a.coeff.subs(V.gamma, g)),
                exact={n: exact(n) for n in LENGTHS + (10**6,)})
