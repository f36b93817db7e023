"""The two-stage toy model in closed form, for a symbolic budget T and a symbolic attempt length L.

:mod:`theory.toy` expands the model attempt by attempt (a Python loop over k, or enumeration of paths), so a
derivation there holds for the instances it was run on.  Here every quantity comes from ONE recursion over the
attempts left in the budget, solved once for all T and L:

    X(1) = x_1,   X(n + 1) = u + b X(n),    b = P(RESAMPLE after an attempt) = p_s (1 - p_dC) + (1 - p_s) p_dW,

whose solution (sympy ``rsolve``; checked by induction: base case and step, both symbolic in n) is the geometric
form  X(n) = u (1 - b^(n-1)) / (1 - b) + b^(n-1) x_1.  With p_s = q^L (an attempt of L i.i.d. tokens, each right
with probability q) the model's quantities are instances of it:

============================  =========================================  ==========================
quantity (n attempts left)    u (value of one more attempt's step)       x_1 (the last attempt)
============================  =========================================  ==========================
J = E[R]  (V of §3, Lemma 3.2)  p_s p_dC r_C + (1 - p_s)(1 - p_dW) r_W    p_s r_C + (1 - p_s) r_W
E[number of attempts]         1                                          1
E[number of decisions]        1                                          0
KL(P_theta || P_ref)          L kl_tok + p_s kl_dC + (1 - p_s) kl_dW     L kl_tok
============================  =========================================  ==========================

The KL row is the chain rule of KL over the token steps (an attempt contributes L kl_tok, a decision the KL of the
binary choice it makes); its gradient is the expected gradient of k1 in the reward (Theorem 3.2's placement).
b < 1 whenever p_dC > 0 or p_dW < 1, so the geometric form never divides by zero for probabilities in (0, 1).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from .kl import per_token_estimator_gradient
from .terms import Term
from .toy import LOGITS, STAGE_OF, ToyModel, kl_bernoulli, p_dC, p_dC_ref, p_dW, p_dW_ref, q, q_ref
from .validate import check_budget

#: budget and attempt length as symbols (positive integers)
T, L = sp.symbols("T L", integer=True, positive=True)
#: attempts left in the budget (the recursion's index)
n = sp.Symbol("n", integer=True, positive=True)
#: the recursion's generic coefficients
u, beta, x_1 = sp.symbols("u beta x_1")
_X = sp.Function("X")


@dataclass(frozen=True)
class RecursionProof:
    """The solved recursion X(n+1) = u + beta X(n), X(1) = x_1 and the evidence that it is solved.

    ``rsolve``: what sympy's rsolve returns; ``closed_form``: the geometric form used everywhere;
    ``rsolve_residual``: rsolve - closed_form; ``base_residual``: closed_form(1) - x_1; ``step_residual``:
    closed_form(n+1) - u - beta closed_form(n).  All three residuals are 0 (symbolic in n, u, beta, x_1)."""

    rsolve: sp.Expr
    closed_form: sp.Expr
    rsolve_residual: sp.Expr
    base_residual: sp.Expr
    step_residual: sp.Expr

    @property
    def proved(self) -> bool:
        return self.rsolve_residual == 0 and self.base_residual == 0 and self.step_residual == 0


def geometric(u_, beta_, x1_, n_):
    """X(n) = u (1 - beta^(n-1)) / (1 - beta) + beta^(n-1) x_1: the solution of the attempt recursion."""
    return u_ * (1 - beta_ ** (n_ - 1)) / (1 - beta_) + beta_ ** (n_ - 1) * x1_


def _zero(expr) -> sp.Expr:
    return sp.simplify(sp.expand(sp.together(expr), power_exp=True))


@functools.lru_cache(maxsize=None)
def attempt_recursion() -> RecursionProof:
    """Solve X(n+1) = u + beta X(n), X(1) = x_1 with rsolve, and prove the geometric form by induction."""
    solved = sp.rsolve(_X(n + 1) - u - beta * _X(n), _X(n), {_X(1): x_1})
    closed = geometric(u, beta, x_1, n)
    return RecursionProof(solved, closed, _zero(solved - closed), _zero(closed.subs(n, 1) - x_1),
                          _zero(closed.subs(n, n + 1) - u - beta * closed))


def _check_length(L_):
    if isinstance(L_, sp.Symbol):
        if not (L_.is_integer and L_.is_positive):
            raise ValueError(f"L must be a positive-integer symbol or an int >= 1, got symbol {L_!r} without "
                             "integer=True, positive=True")
        return L_
    return check_budget(L_, "L")  # same rule as a budget: an int >= 1 (attempt length in tokens)


class ClosedForm:
    """The App. C model generalised (budget ``T``, attempts of ``L`` tokens, rewards r_C, r_W) in closed form.

    ``T`` and ``L`` are the module's symbols by default; ints instantiate them.  Expressions are in the
    probabilities (q, p_dC, p_dW) and the reference probabilities; gradients with respect to the logits use the
    chain rule dp/dtheta = p (1 - p) (:meth:`theory.toy.ToyModel.d_logit`)."""

    def __init__(self, T_=T, L_=L, rewards=(1, 0)):
        self.T = T_ if isinstance(T_, sp.Symbol) else check_budget(T_)
        self.L = _check_length(L_)
        self.r_C, self.r_W = (sp.sympify(r) for r in rewards)
        self.p_s = q ** self.L
        self.b = self.p_s * (1 - p_dC) + (1 - self.p_s) * p_dW

    # ------------------------------------------------------------------ the recursions (u, x_1) of each quantity
    def recursions(self) -> dict[str, tuple[sp.Expr, sp.Expr]]:
        ps = self.p_s
        kl_dec = ps * kl_bernoulli(p_dC, p_dC_ref) + (1 - ps) * kl_bernoulli(p_dW, p_dW_ref)
        kl_att = self.L * kl_bernoulli(q, q_ref)
        return {
            "J": (ps * p_dC * self.r_C + (1 - ps) * (1 - p_dW) * self.r_W, ps * self.r_C + (1 - ps) * self.r_W),
            "expected_attempts": (sp.Integer(1), sp.Integer(1)),
            "expected_decisions": (sp.Integer(1), sp.Integer(0)),
            "kl_sequence": (kl_att + kl_dec, kl_att),
        }

    def solve(self, name: str) -> sp.Expr:
        """The quantity ``name`` for a budget of T attempts: the attempt recursion's solution at n = T."""
        u_, x1_ = self.recursions()[name]
        return geometric(u_, self.b, x1_, self.T)

    def induction(self, name: str) -> tuple[sp.Expr, sp.Expr]:
        """(base residual, step residual) of the quantity ``name`` for a symbolic budget: X(1) - x_1 and
        X(T + 1) - u - b X(T), with b kept as an opaque symbol (the identity holds for every b)."""
        u_, x1_ = self.recursions()[name]
        X = geometric(u_, beta, x1_, n)
        return _zero(X.subs(n, 1) - x1_), _zero(X.subs(n, n + 1) - u_ - beta * X)

    @functools.cached_property
    def J(self):
        """J_T = E[R]."""
        return self.solve("J")

    @functools.cached_property
    def expected_attempts(self):
        """E[N] = (1 - b^T) / (1 - b)."""
        return self.solve("expected_attempts")

    @functools.cached_property
    def expected_decisions(self):
        """E[number of decision tokens] = (1 - b^(T-1)) / (1 - b)."""
        return self.solve("expected_decisions")

    @functools.cached_property
    def kl_sequence(self):
        """KL(P_theta || P_ref) = L kl_tok E[N] + (p_s kl_dC + (1 - p_s) kl_dW) E[decisions]."""
        return self.solve("kl_sequence")

    # ------------------------------------------------------------------ gradients, by stage
    @staticmethod
    def d_logit(expr, logit):
        return ToyModel.d_logit(expr, logit)

    def gradient(self, expr) -> sp.Matrix:
        """(d/dtheta_s, d/dtheta_dC, d/dtheta_dW) of ``expr``."""
        return sp.Matrix([self.d_logit(expr, th) for th in LOGITS])

    def gradient_terms(self, expr, source: str, name: str) -> list[Term]:
        return [Term(f"d{name}/d{th}", g, STAGE_OF[th], source) for th, g in zip(LOGITS, self.gradient(expr))]

    def future_kl(self) -> sp.Matrix:
        """The future-KL cross-term: L kl_tok dE[N]/dtheta, the part of dKL/dtheta that comes from the attempts a
        decision buys (zero in the sampling row only through E[N]'s dependence on p_s; the decision rows are the
        cross-term of reviewer 5)."""
        return sp.Matrix([self.L * kl_bernoulli(q, q_ref) * self.d_logit(self.expected_attempts, th) for th in LOGITS])

    def token_loss_gradient(self, estimator: str) -> sp.Matrix:
        """Expected gradient of a per-token KL estimator used as a loss (token-sum aggregation, on-policy): every
        token's gradient sees only its own estimator, so each stage gets (expected number of its tokens) x (the
        per-token expected gradient); the trajectory distribution is not differentiated.  E[decisions after a
        correct attempt] = p_s E[decisions] (correctness is independent of reaching the attempt)."""
        D = self.expected_decisions
        return sp.Matrix([
            self.L * self.expected_attempts * per_token_estimator_gradient(estimator, q, q_ref),
            self.p_s * D * per_token_estimator_gradient(estimator, p_dC, p_dC_ref),
            (1 - self.p_s) * D * per_token_estimator_gradient(estimator, p_dW, p_dW_ref),
        ])


#: the objectives whose attribution is compared, as (name, what it is)
OBJECTIVES = {
    "surrogate": "RL surrogate, on-policy (Theorem 3.1): grad J",
    "kl-k1-reward": "k1 in the reward, full returns (Theorem 3.2's placement): grad KL(P || P_ref)",
    "kl-k2-loss": "k2 as a per-token loss (verl 'mse'; = k1+ / k3+ gradients): the partial gradient",
    "kl-k3-loss": "k3 as a per-token loss (verl low_var_kl, the experiments' choice; clamp inactive here)",
    "sft": "SFT on one reflection demonstration (App. D.2)",
    "dft": "DFT on one reflection demonstration (App. D.4)",
}


def objective_gradients(T_=T, L_=L) -> dict[str, sp.Matrix]:
    """Expected gradient (d/dtheta_s, d/dtheta_dC, d/dtheta_dW) of each objective in OBJECTIVES, in closed form.
    KL objectives are the penalty's gradient (their ascent direction is its negative: the ratio is the same)."""
    from .sft import reflection_demonstration_gradients

    cf = ClosedForm(T_, L_)
    demo = reflection_demonstration_gradients(cf.L)
    return {"surrogate": cf.gradient(cf.J), "kl-k1-reward": cf.gradient(cf.kl_sequence),
            "kl-k2-loss": cf.token_loss_gradient("k2"), "kl-k3-loss": cf.token_loss_gradient("k3"),
            "sft": demo["sft"], "dft": demo["dft"]}


def at_probabilities(expr, **probabilities):
    """``expr`` at named probabilities (q, p_dC, p_dW, q_ref, p_dC_ref, p_dW_ref), each checked to lie in (0, 1)."""
    from .toy import PROBS, REF_PROBS
    from .validate import check_probability

    symbols = {s.name: s for s in PROBS + REF_PROBS}
    unknown = sorted(set(probabilities) - set(symbols))
    if unknown:
        raise ValueError(f"unknown probabilities {unknown}; expected some of {sorted(symbols)}")
    return expr.subs({symbols[k]: check_probability(v, k, open_interval=True) for k, v in probabilities.items()})


__all__ = ["T", "L", "n", "ClosedForm", "OBJECTIVES", "objective_gradients", "attempt_recursion", "geometric", "at_probabilities"]
