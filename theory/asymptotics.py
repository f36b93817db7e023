"""How a stage-attribution ratio behaves as the attempt length L grows: derived, not fitted.

A ratio |g_sampling| / ||g_decision|| of the closed-form model (:mod:`theory.closed_form`) depends on L through
the first-attempt accuracy p_s = q^L and through the explicit L of the chain rule.  How it scales depends on how
the model is scaled with L, which the paper leaves open.  There are three ways, all equal at L = 1:

* ``fixed-logits``: every logit is held, so q, q_ref are constants and p_s = q^L -> 0 exponentially.  Per-token
  KL terms are constant: the paper's "comparable per-token KL delta", at the price of a model that fails ever
  longer attempts;
* ``fixed-p_s``: the first-attempt accuracy P = p_s is held (q = P^(1/L) -> 1) and the reference sits a fixed
  logit displacement Delta below the policy on the sampling token; per-token KL then shrinks like 1/L;
* ``fixed-p_s-ref``: P is held and the reference per-token accuracy q_ref is held, so the per-token KL tends to
  -log q_ref > 0 (comparable per-token KL, with a model that keeps solving the task).

Leading orders are derived two ways, both exact:

* fixed logits: P = q^L = e^(-L log(1/q)) is smaller than any power of L.  Each gradient component is expanded
  in powers of P; the lowest order present dominates, and its coefficient is a polynomial in L, whose leading
  monomial is read off.  (Terms of higher order in P are exponentially smaller.)
* fixed p_s: with P constant, substitute L = 1/epsilon, q = P^epsilon, and take sympy's ``as_leading_term`` in
  epsilon (powers of epsilon times powers of log epsilon).

A ratio's leading order is C L^a (log L)^c with C in closed form (symbolic in T, the decision probabilities and
the scaling's constants), or 'exponentially small' when the sampling component sits at a higher order of P.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .closed_form import L, T
from .toy import p_dC, p_dC_ref, p_dW, p_dW_ref, q, q_ref, sigmoid
from .validate import check_budget, check_finite_all

#: first-attempt accuracy held fixed, the reference logit displacement, the reference per-token accuracy
P = sp.Symbol("P", positive=True)
Delta = sp.Symbol("Delta", positive=True)
eps = sp.Symbol("epsilon", positive=True)  # 1/L


@dataclass(frozen=True)
class Scaling:
    name: str
    description: str
    regime: str  # "exponential" (p_s = q^L -> 0) or "algebraic" (p_s held)

    def substitute(self, expr):
        """``expr`` (in q, q_ref, L and the decision probabilities) along this scaling path.  Exponential: q^L is
        renamed P (to be expanded in); algebraic: q^L = P, q = P^(1/L), and q_ref as the scaling says."""
        expr = sp.sympify(expr).subs(q ** L, P)
        if self.regime == "exponential":
            return expr
        if self.name == "fixed-p_s":
            # reference logit = policy logit - Delta: the two token log-ratios in closed form (exact), then q_ref
            shift = sp.log(1 - q + q * sp.exp(-Delta))
            expr = expr.xreplace({sp.log(q / q_ref): Delta + shift, sp.log((1 - q) / (1 - q_ref)): shift})
            expr = expr.subs(q_ref, q * sp.exp(-Delta) / (1 - q + q * sp.exp(-Delta)))
        return expr.subs({q: P ** (1 / L)})


SCALINGS = {s.name: s for s in (
    Scaling("fixed-logits", "logits held fixed: p_s = q^L falls with L; per-token KL constant", "exponential"),
    Scaling("fixed-p_s", "p_s held fixed (q = p_s^(1/L)), reference a fixed logit displacement Delta below the "
            "policy: per-token KL ~ 1/L", "algebraic"),
    Scaling("fixed-p_s-ref", "p_s held fixed (q = p_s^(1/L)), reference per-token accuracy q_ref held: per-token "
            "KL -> -log q_ref (comparable per-token KL)", "algebraic"),
)}


@dataclass(frozen=True)
class Leading:
    """A component's (or a ratio's) leading behaviour: ``coeff * L**power * log(L)**log_power``, or
    ``coeff * P**p_order * ...`` in the exponential regime (P = p_s, exponentially small)."""

    coeff: sp.Expr
    power: sp.Expr
    log_power: int = 0
    p_order: int = 0

    def expr(self):
        return self.coeff * L ** self.power * sp.log(L) ** self.log_power

    def key(self):
        """Larger key = dominant: lower order in P first, then larger power of L, then of log L."""
        return (-self.p_order, self.power, self.log_power)


def _dominant(terms) -> tuple:
    """Among monomials coeff * x**a * log(x)**c (as (a, c, coeff)), the dominant one as x -> 0+ for x = eps, with
    the coefficients of equal (a, c) added: smallest a, then largest c."""
    best = min((a, -c) for a, c, _ in terms)
    coeff = sp.Add(*[k for a, c, k in terms if (a, -c) == best])
    return best[0], -best[1], coeff


def _monomials(expr, x):
    """expr (a sum of coeff * x**a * log(x)**c) as a list of (a, c, coeff)."""
    out = []
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, rest = term.as_independent(x, as_Add=False)
        a, c = sp.Integer(0), 0
        for base, e in rest.as_powers_dict().items():
            if base == 1:
                continue
            if base == x:
                a += e
            elif base == sp.log(x) and e.is_Integer:
                c += int(e)
            else:
                raise ValueError(f"not of the form coeff x^a log(x)^c: {term}")
        out.append((a, c, coeff))
    return out


def _leading_exponential(g) -> Leading | None:
    # Taylor coefficients in P by differentiating first (b^T stays one power, never expanded into T terms)
    for k in range(6):
        ck = sp.expand(sp.diff(g, P, k).subs(P, 0) / sp.factorial(k))
        if ck != 0:
            poly = sp.Poly(ck, L)
            return Leading(sp.factor(poly.LC()), sp.Integer(poly.degree()), 0, k)
    return None


def _split_eps_logs(expr):
    """log(eps * c) -> log(eps) + log(c), only for the logs that contain eps (others keep their branch)."""
    return expr.replace(lambda e: isinstance(e, sp.log) and e.has(eps),
                        lambda e: sp.expand_log(e, force=True))


def _leading_algebraic(g) -> Leading | None:
    lt = _split_eps_logs(_split_eps_logs(sp.sympify(g).subs(L, 1 / eps)).as_leading_term(eps))
    a, c, coeff = _dominant(_monomials(lt, eps))
    # eps^a (log eps)^c = L^(-a) (-log L)^c
    return Leading(coeff * (-1) ** c, -a, c, 0)


def _freeze_constant_powers(expr):
    """Replace every power whose exponent involves the budget T and whose base does not involve L (in the
    algebraic regime b = P (1 - p_dC) + (1 - P) p_dW is such a base) by a placeholder symbol: a constant in L that
    the series expansion need not look into.  Returns (expr, back-substitution)."""
    powers = sorted({e for e in expr.atoms(sp.Pow) if e.exp.free_symbols - {L, eps} and not e.base.has(L, eps, q)},
                    key=sp.default_sort_key)
    frozen = {pw: sp.Dummy(f"c{i}") for i, pw in enumerate(powers)}
    return expr.xreplace(frozen), {v: k for k, v in frozen.items()}


def leading(g, scaling: Scaling, values: dict | None = None) -> Leading | None:
    """Leading behaviour of one gradient component along ``scaling`` (None if it is identically 0), symbolic in
    every parameter, or at the point ``values`` (see :func:`setting`) when given."""
    if g == 0:
        return None
    g = scaling.substitute(g)
    if scaling.regime == "exponential":  # derived symbolically (fast), then evaluated at the point
        out = _leading_exponential(g)
        return out if not values else Leading(out.coeff.subs(values), out.power, out.log_power, out.p_order)
    g, back = _freeze_constant_powers(g)
    out = _leading_algebraic(g)  # derived symbolically, then evaluated at the point
    coeff = out.coeff.xreplace(back)
    return Leading(coeff.subs(values) if values else coeff, out.power, out.log_power, out.p_order)


@dataclass(frozen=True)
class RatioAsymptotics:
    """Leading order of |g_s| / ||(g_dC, g_dW)|| as L -> infinity along a scaling."""

    scaling: str
    components: tuple  # Leading (or None) of g_s, g_dC, g_dW
    coeff: sp.Expr  # C in C L^a (log L)^c
    power: sp.Expr
    log_power: int
    exponentially_small: bool = False

    def form(self) -> str:
        if self.exponentially_small:
            return "exponentially small (the sampling component is higher order in p_s = q^L)"
        if self.power == 0 and self.log_power == 0:
            return "a constant"
        parts = ([f"L^{self.power}" if self.power != 1 else "L"] if self.power != 0 else []) + \
                ([f"(log L)^{self.log_power}" if self.log_power != 1 else "log L"] if self.log_power else [])
        return "~ C " + " ".join(parts)

    def expr(self):
        return 0 if self.exponentially_small else self.coeff * L ** self.power * sp.log(L) ** self.log_power


def ratio_asymptotics(g, scaling: Scaling | str, values: dict | None = None) -> RatioAsymptotics:
    """Leading order of the attribution ratio of the 3-vector ``g`` (d/dtheta_s, d/dtheta_dC, d/dtheta_dW), symbolic
    or at the point ``values``."""
    scaling = SCALINGS[scaling] if isinstance(scaling, str) else scaling
    comps = tuple(leading(x, scaling, values) for x in g)
    s, dec = comps[0], [c for c in comps[1:] if c is not None]
    if s is None or not dec:
        raise ValueError(f"ratio undefined along {scaling.name}: a stage's gradient is identically 0")
    top = max(c.key() for c in dec)
    d_coeff = sp.sqrt(sp.Add(*[c.coeff ** 2 for c in dec if c.key() == top]))
    if s.p_order > -top[0]:
        return RatioAsymptotics(scaling.name, comps, sp.Integer(0), sp.Integer(0), 0, True)
    if s.p_order < -top[0]:
        raise ValueError("the decision gradient is exponentially small against the sampling gradient")
    return RatioAsymptotics(scaling.name, comps, sp.Abs(s.coeff) / d_coeff, s.power - top[1],
                            s.log_power - top[2])


def setting(logits, ref_logits, T_value: int = 2) -> dict:
    """Symbol values of a point of the model: policy logits (theta_s, theta_dC, theta_dW), reference logits, the
    budget; the scalings' constants follow from the L = 1 point (P = q, Delta = theta_s - theta_s_ref, q_ref)."""
    z, zr = check_finite_all(logits, "logits"), check_finite_all(ref_logits, "ref_logits")
    if len(z) != 3 or len(zr) != 3:
        raise ValueError("logits and ref_logits are (theta_s, theta_dC, theta_dW)")
    if not z[0] > zr[0]:
        raise ValueError("the fixed-p_s scaling needs the policy's sampling logit above the reference's "
                         f"(Delta = theta_s - theta_s_ref > 0), got {z[0]} <= {zr[0]}")
    exact = [sigmoid(sp.nsimplify(x)) for x in z + zr]  # exact values: the series must see exact constants
    return {q: exact[0], p_dC: exact[1], p_dW: exact[2], q_ref: exact[3], p_dC_ref: exact[4], p_dW_ref: exact[5],
            P: exact[0],
            Delta: sp.nsimplify(z[0] - zr[0]), T: check_budget(T_value)}


def ratio_along(g, scaling: Scaling | str, values: dict):
    """The exact attribution ratio of ``g`` along ``scaling`` at the point ``values``, as a function of L
    evaluated with mpmath (30 digits: q^L does not underflow at L = 10^4)."""
    import mpmath

    scaling = SCALINGS[scaling] if isinstance(scaling, str) else scaling
    comps = [scaling.substitute(x) for x in g]
    if scaling.regime == "exponential":
        comps = [c.subs(P, q ** L) for c in comps]
    fn = sp.lambdify(L, [c.subs(values) for c in comps], "mpmath")

    def R(length) -> float:
        with mpmath.workdps(30):
            s, c, w = fn(mpmath.mpf(float(length)))
            return float(abs(s) / mpmath.sqrt(c ** 2 + w ** 2))

    return R
