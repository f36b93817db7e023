"""Theorem 3.2 (KL penalty) on the two-stage toy model, in every placement.

Exact: the k1 penalty in the reward with full returns has expected gradient grad KL(P_theta || P_ref), the
sequence-level reverse KL.  Its decision part contains the *future-KL cross-term*: RESAMPLE buys the next
attempt's L_{k+1} tokens of KL, so d KL / d theta_d = sum_k L_k kl_tok d P(reach k)/d theta_d + ... = O(L delta).

As practised (k1/k2/k3 as a per-token loss): each token's gradient sees only its own estimator, i.e. the
reach probabilities are held fixed ("partial gradient", Tang & Munos arXiv:2506.09477).  With k2 the
expected partial gradient is that of KL with P(reach k) and the p_s,k weights of the decision terms frozen;
the future-KL cross-term is dropped, and only then does the decision part stay O(delta).
"""

from __future__ import annotations

import sympy as sp

from .terms import Term
from .toy import LOGITS, PROBS, STAGE_OF, ToyModel, kl_bernoulli, p_dC, p_dC_ref, p_dW, p_dW_ref, q, q_ref

#: per-token KL sizes (delta in the paper)
kl_tok, kl_C, kl_W = sp.symbols("kl_tok kl_dC kl_dW", nonnegative=True)


def kl_exact_terms(model: ToyModel) -> list[Term]:
    """d KL(P||P_ref) / d theta per logit: the expected gradient of k1 in the reward (the paper's setting)."""
    return model.gradient_terms(model.kl_sequence, "Theorem 3.2 (k1 in reward)", "KL")


def kl_partial(model: ToyModel):
    """KL with its trajectory-distribution weights frozen: every P(reach k) and p_s,k multiplying a per-step
    KL is replaced by a constant copy (suffix _sg).  Its gradient is the expected gradient of a per-token
    k2 loss (token-sum aggregation) -- the practised 'partial' gradient."""
    frozen = {s: sp.Symbol(f"{s.name}_sg", positive=True) for s in PROBS}
    tok, dC, dW = kl_bernoulli(q, q_ref), kl_bernoulli(p_dC, p_dC_ref), kl_bernoulli(p_dW, p_dW_ref)
    out = 0
    for k in range(1, model.T + 1):
        reach = model.reach_prob(k).subs(frozen)
        out += reach * model.lengths[k - 1] * tok
        if k < model.T:
            ps = model.p_s(k).subs(frozen)
            out += reach * (ps * dC + (1 - ps) * dW)
    return out, frozen


def kl_partial_terms(model: ToyModel) -> list[Term]:
    expr, frozen = kl_partial(model)
    unfreeze = {v: k for k, v in frozen.items()}
    return [Term(t.name, sp.factor(t.expr.subs(unfreeze)), t.stage, "practice: k2 as a loss (token-sum)")
            for t in model.gradient_terms(expr, "", "KL_partial")]


def future_kl_cross_term(model: ToyModel) -> list[Term]:
    """The part of d KL/d theta_d that comes from the KL of attempts the decision buys:
    kl_tok * sum_k L_k d P(reach k)/d theta_d (cross: a decision gradient driven by sampling-token KL)."""
    expr = sp.Add(*[model.reach_prob(k) * model.lengths[k - 1] for k in range(1, model.T + 1)]) * kl_tok
    return [Term(f"dKL_future/d{th}", sp.factor(model.d_logit(expr, th)), "cross", "Theorem 3.2 (reviewer 5)")
            for th in LOGITS if STAGE_OF[th] == "decision"]


#: the per-token KL estimators of practice, as functions of the sampled token's log-ratio l = log(pi / pi_ref)
ESTIMATORS = {
    "k1": lambda l: l,
    "k2": lambda l: l ** 2 / 2,
    "k3": lambda l: sp.exp(-l) - 1 + l,
}
#: verl's straight-through modes: the value of the first estimator, the gradient of the second
GRADIENT_OF = {"k1": "k1", "k2": "k2", "k3": "k3", "k3+": "k2", "k1+": "k2"}


def per_token_estimator_gradient(estimator: str, p, p_ref):
    """E_{x ~ Bern(p)}[d k(x) / d theta] for one binary token with p = sigmoid(theta): the expected gradient of a
    per-token KL estimator used as a loss (the sampled token is not differentiated), derived from the estimator's
    definition by summing over the two outcomes.  Known results it reproduces: k1 -> 0, k2 -> d KL(pi||ref)/d theta
    = p (1 - p) log(p (1 - p_ref) / (p_ref (1 - p))), k3 -> d KL(ref||pi)/d theta = p - p_ref."""
    if estimator not in GRADIENT_OF:
        raise ValueError(f"estimator must be one of {sorted(GRADIENT_OF)}, got {estimator!r}")
    k = ESTIMATORS[GRADIENT_OF[estimator]]
    theta = sp.Symbol("theta_token", real=True)
    sig = 1 / (1 + sp.exp(-theta))
    total = 0
    for prob, prob_ref in ((sig, p_ref), (1 - sig, 1 - p_ref)):
        grad = sp.diff(k(sp.log(prob / prob_ref)), theta)
        total += prob.subs(theta, sp.log(p / (1 - p))) * grad.subs(theta, sp.log(p / (1 - p)))
    return sp.simplify(total)
