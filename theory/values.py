"""Per-stage value functions of the toy model (Lemma 3.2) and their discounted (gamma < 1) versions.

The toy model of :mod:`theory.toy` (budget T, attempts of L i.i.d. tokens, one-token decisions) seen as the
two-stage MDP of §3: the state before attempt k is s_{k-1} (attempt index k), the state after it is s_k =
(k, correctness c of attempt k).  With a per-token discount gamma a token's return is
sum_{t' >= t} gamma^(t' - t) r_t', so with a terminal reward R token t is credited gamma^(tokens after t) R
(Theorem 3.1's coefficient), and with k1 in the reward it is credited its own k1 plus the discounted k1 of every
later token (Theorem 3.2's placement).

One backward induction over the attempts gives, for each k:

* ``Q_d(c, d)``: the return credited to decision token d after an attempt of correctness c (Lemma 3.2's
  Q_d(s_k, a));  ``V_d(c)`` = E_d Q_d(c, d) (Lemma 3.2's V(s_k));
* ``F(c)``: the return credited to the attempt's LAST token given c; token j of L gets gamma^(L - j) F(c)
  (terminal reward) -- Lemma 3.2's Q_sample(s_{k-1}, A_k) is the first token's, gamma^(L-1) F(c);
* ``W``: E over the attempt of the first token's return (V(s_{k-1})),

and the expected per-stage policy gradients E[sum_t (d log pi_t) G_t], per logit (theta_s, theta_dC, theta_dW),
from the score identities of one Bernoulli choice (E[score] = 0, E[score 1{x}] = p (1 - p)) and of an attempt
(E[(x_j - q) h(c)] = p_s (1 - q) (h(C) - h(W)) for every token j).  With gamma = 1 they are dJ/dtheta and
dKL/dtheta (tested against theory.closed_form); for gamma < 1 they are the discounted policy gradient (tested
against autograd through an independent token-level forward, numerics.discounted).

``p_dW`` may be a sequence (one probability of RESAMPLE-after-wrong per attempt): the §4.2 point that the decision
may depend on the history, here on the attempt index k (the state then carries k, which it does).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .toy import ToyModel, kl_bernoulli, p_dC, p_dC_ref, p_dW, p_dW_ref, q, q_ref, theta_s
from .validate import check_budget

#: per-token discount factor
gamma = sp.Symbol("gamma", positive=True)
#: the attempt length, symbolic (positive integer)
L = sp.Symbol("L", integer=True, positive=True)
REWARDS = ("terminal", "k1")


def discounted_length(L_, gamma_=gamma):
    """S_L = sum_{j=0}^{L-1} gamma^j = (1 - gamma^L) / (1 - gamma) (= L at gamma = 1): the discounted weight of an
    attempt's L tokens, seen from its first (k1) or from the token after it (terminal reward)."""
    if sp.sympify(gamma_).is_number and sp.sympify(gamma_).equals(1):
        return L_
    return (1 - gamma_ ** L_) / (1 - gamma_)


@dataclass
class Stage:
    """One attempt's values (index k, 1-based).  ``Q_d`` maps (c, d) -> return credited to decision d after an
    attempt of correctness c ('C'/'W', 'STOP'/'RESAMPLE'); empty for the last attempt (no decision)."""

    k: int
    reach: sp.Expr
    F: dict
    Q_d: dict
    V_d: dict
    W: sp.Expr
    Q_sample_first: dict  # c -> return credited to the attempt's first token given c


def _p_dW_seq(T: int, p_dW_):
    if isinstance(p_dW_, (list, tuple)):
        if len(p_dW_) != T:
            raise ValueError(f"p_dW needs one probability per attempt ({T}), got {len(p_dW_)}")
        return list(p_dW_)
    return [p_dW_] * T


def backward_induction(T: int, L_=L, gamma_=gamma, reward: str = "terminal", p_dW_=p_dW, rewards=(1, 0),
                       tail_value=None, discount: str = "token"):
    """Lemma 3.2's backward induction over the attempts (see the module docstring); returns the list of Stage,
    first attempt first.  ``reward``: 'terminal' (R = r_C / r_W at the end) or 'k1' (k1 of every token in the reward,
    the penalty counted positive; its expectation at gamma = 1 is KL(P || P_ref)).  ``tail_value``: if given, attempt
    T is followed by a decision whose RESAMPLE leads to a state worth ``tail_value`` (the induction step over the
    budget: a first attempt followed by the rest of the budget, kept opaque).  ``discount``: DISCOUNTS."""
    T = check_budget(T)
    within, to_decision = _discount_factors(L_, gamma_, discount)
    if reward not in REWARDS:
        raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
    pw = _p_dW_seq(T, p_dW_)
    p_s = q ** L_
    S = discounted_length(L_, gamma_) if discount == "token" else L_
    r = {"C": sp.sympify(rewards[0]), "W": sp.sympify(rewards[1])}
    stages: list[Stage] = [None] * T
    W_next = tail_value
    for k in range(T, 0, -1):
        stop = {"C": p_dC, "W": 1 - pw[k - 1]}
        Q_d, V_d, F, first = {}, {}, {}, {}
        for c in "CW":
            if k == T and tail_value is None:
                V_d[c] = None
                F[c] = r[c] if reward == "terminal" else sp.Integer(0)
            else:
                if reward == "terminal":
                    Q_d[(c, "STOP")] = r[c]
                    Q_d[(c, "RESAMPLE")] = gamma_ * W_next
                else:  # own k1 of the decision token + the discounted KL-to-go of the next attempt
                    Q_d[(c, "STOP")] = sp.log(stop[c] / _ref_stop(c))
                    Q_d[(c, "RESAMPLE")] = sp.log((1 - stop[c]) / (1 - _ref_stop(c))) + gamma_ * W_next
                V_d[c] = stop[c] * Q_d[(c, "STOP")] + (1 - stop[c]) * Q_d[(c, "RESAMPLE")]
                F[c] = gamma_ * V_d[c] if reward == "terminal" else V_d[c]
            # return credited to the attempt's first token given c (the k1 case: expected, its own k1 included)
            if reward == "terminal":
                first[c] = within * F[c]
            else:
                first[c] = None
        if reward == "terminal":
            W = within * (p_s * F["C"] + (1 - p_s) * F["W"])
        else:
            W = S * kl_bernoulli(q, q_ref) + to_decision * (p_s * F["C"] + (1 - p_s) * F["W"])
        stages[k - 1] = Stage(k, sp.Integer(1), F, Q_d, V_d, W, first)
        W_next = W
    reach = sp.Integer(1)
    for k, st in enumerate(stages, 1):
        st.reach = reach
        reach = reach * (q ** L_ * (1 - p_dC) + (1 - q ** L_) * pw[k - 1])
    return stages


#: where the discount acts: 'token' (Theorem 3.1's gamma^(tokens after t): every token is a step) or 'stage'
#: (Theorem 3.2's recursion Q_sample = d^sample + gamma E[Q_d], Q_d = d^decision + gamma E[Q_sample]: one step per
#: stage, the tokens of an attempt undiscounted among themselves)
DISCOUNTS = ("token", "stage")


def _discount_factors(L_, gamma_, discount: str):
    """(from an attempt's first token to its last, from its first token to the decision after it)."""
    if discount not in DISCOUNTS:
        raise ValueError(f"discount must be one of {DISCOUNTS}, got {discount!r}")
    return (gamma_ ** (L_ - 1), gamma_ ** L_) if discount == "token" else (sp.Integer(1), gamma_)


def _ref_stop(c: str):
    return p_dC_ref if c == "C" else 1 - p_dW_ref


def stage_gradients(T: int, L_=L, gamma_=gamma, reward: str = "terminal", p_dW_=p_dW, rewards=(1, 0),
                    per_attempt: bool = False, tail_value=None, discount: str = "token") -> sp.Matrix:
    """Expected per-stage policy gradient E[sum_t (d log pi_t / d theta) G_t] of the discounted return, per logit
    (theta_s, theta_dC, theta_dW), from the Q's of :func:`backward_induction`:

    sampling, attempt k:  reach_k [ (k1: L dKL_tok/dtheta_s) + w p_s (1 - q) (F(C) - F(W)) ],
        w = S_L (terminal: token j weighs gamma^(L-j)) or gamma S_L (k1: token j sees gamma^(L-j+1) of the decision);
    decision after attempt k < T, theta_dC:  reach_k p_s p_dC (1 - p_dC) (Q_d(C, STOP) - Q_d(C, RESAMPLE));
    theta_dW:  reach_k (1 - p_s) p_dW,k (1 - p_dW,k) (Q_d(W, RESAMPLE) - Q_d(W, STOP)).

    (The k1 rows contain the decision's own k1 through Q_d's log-ratio: E[score k1] = p (1 - p) Delta logit.)
    With ``per_attempt`` the theta_dW row is split into one entry per attempt (a logit per attempt index);
    ``tail_value``: see :func:`backward_induction` (the rest of the budget is then not differentiated);
    ``discount``: DISCOUNTS (with 'stage' every token of an attempt weighs 1 and sees gamma of the decision: w = L,
    gamma L)."""
    stages = backward_induction(T, L_, gamma_, reward, p_dW_, rewards, tail_value, discount)
    pw = _p_dW_seq(T, p_dW_)
    p_s = q ** L_
    S = discounted_length(L_, gamma_) if discount == "token" else L_
    g_s, g_C, g_W = sp.Integer(0), sp.Integer(0), [sp.Integer(0)] * T
    for st in stages:
        dF = st.F["C"] - st.F["W"]
        if reward == "terminal":
            g_s += st.reach * S * p_s * (1 - q) * dF
        else:
            g_s += st.reach * (L_ * ToyModel.d_logit(kl_bernoulli(q, q_ref), theta_s) + gamma_ * S * p_s * (1 - q) * dF)
        if st.k < T or tail_value is not None:
            p = pw[st.k - 1]
            g_C += st.reach * p_s * p_dC * (1 - p_dC) * (st.Q_d[("C", "STOP")] - st.Q_d[("C", "RESAMPLE")])
            g_W[st.k - 1] = st.reach * (1 - p_s) * p * (1 - p) * (st.Q_d[("W", "RESAMPLE")] - st.Q_d[("W", "STOP")])
    if per_attempt:
        return sp.Matrix([g_s, g_C] + g_W)
    return sp.Matrix([g_s, g_C, sp.Add(*g_W)])


def lemma_3_2_induction(rewards=(1, 0)) -> tuple[sp.Expr, sp.Matrix]:
    """Lemma 3.2 for every budget T, by induction over T (gamma = 1, terminal reward, symbolic L, r_C, r_W).

    Base: for T = 1 the Q form is dJ_1/dtheta.  Step: a budget of n + 1 is one attempt and decision followed, after
    RESAMPLE, by the budget-n process worth V = J_n, so J_(n+1) = u + b J_n (theory.closed_form's recursion, proved
    there) and dJ_(n+1) = d(u + b V)/dtheta |_(V = J_n) + b dJ_n.  The Q form splits the same way: the first stage's
    terms, computed with the rest of the budget as an opaque value V (``tail_value``), plus the later stages', which
    are the budget-n Q form multiplied by the reach probability b.  So the step reduces to: first-stage terms =
    d(u + b V)/dtheta with V held, for an opaque V.  Returns (base residual, step residual); both are 0."""
    from .closed_form import ClosedForm

    V = sp.Symbol("V")
    cf1 = ClosedForm(1, L, rewards)
    base = sp.simplify(sp.expand(stage_gradients(1, L, 1, "terminal", p_dW, rewards) - cf1.gradient(cf1.J),
                                 power_exp=True))
    cf = ClosedForm(2, L, rewards)
    u_, _ = cf.recursions()["J"]
    target = cf.gradient(u_ + cf.b * V)  # V is not a function of the logits: held
    first = stage_gradients(1, L, 1, "terminal", p_dW, rewards, tail_value=V)
    step = sp.simplify(sp.expand(first - target, power_exp=True))
    return base, step


def stage_advantage_gradients(T: int, L_=L, p_dW_=p_dW, rewards=(1, 0)) -> sp.Matrix:
    """Lemma 3.2 with advantages (gamma = 1, terminal reward): sum over visited states of
    E[d log pi_stage (Q_stage - V)] per logit, written out over every choice (not through the score identities
    above): sampling uses Q_sample(s_{k-1}, c) - V(s_{k-1}) with the attempt's score L(1 - q) (correct) or
    -L (1 - q) p_s / (1 - p_s) in expectation given wrong; decisions use Q_d(s_k, d) - V(s_k)."""
    stages = backward_induction(T, L_, 1, "terminal", p_dW_, rewards)
    pw = _p_dW_seq(T, p_dW_)
    p_s = q ** L_
    score_c = {"C": L_ * (1 - q), "W": -L_ * (1 - q) * p_s / (1 - p_s)}  # E[sum_j (x_j - q) | c]
    g_s, g_C, g_W = sp.Integer(0), sp.Integer(0), sp.Integer(0)
    for st in stages:
        V = st.W
        g_s += st.reach * sum(prob * score_c[c] * (st.F[c] - V) for c, prob in (("C", p_s), ("W", 1 - p_s)))
        if st.k < T:
            p = pw[st.k - 1]
            # decision logit: STOP|C has logit theta_dC; RESAMPLE|W has logit theta_dW
            for c, pc, stop in (("C", p_s, p_dC), ("W", 1 - p_s, 1 - p)):
                V_c = st.V_d[c]
                if c == "C":
                    score = {"STOP": 1 - p_dC, "RESAMPLE": -p_dC}
                    g_C += st.reach * pc * sum((stop if d == "STOP" else 1 - stop) * score[d] * (st.Q_d[(c, d)] - V_c)
                                               for d in ("STOP", "RESAMPLE"))
                else:
                    score = {"RESAMPLE": 1 - p, "STOP": -p}
                    g_W += st.reach * pc * sum((stop if d == "STOP" else 1 - stop) * score[d] * (st.Q_d[(c, d)] - V_c)
                                               for d in ("STOP", "RESAMPLE"))
    return sp.Matrix([g_s, g_C, g_W])


def value(T: int, L_=L, gamma_=gamma, reward: str = "terminal", p_dW_=p_dW, rewards=(1, 0)):
    """The first token's expected return, W of attempt 1 (J at gamma = 1, terminal; KL(P || P_ref) for k1)."""
    return backward_induction(T, L_, gamma_, reward, p_dW_, rewards)[0].W


__all__ = ["gamma", "L", "discounted_length", "backward_induction", "stage_gradients", "stage_advantage_gradients",
           "value"]


# ---------------------------------------------------------------------------------------------- leading orders
#: q^L and gamma^L, which vanish exponentially as L -> oo with the per-token logit and gamma < 1 held fixed
P_L, Gamma_L = sp.symbols("P_L Gamma_L", positive=True)


def exponentials_as_symbols(expr, gamma_):
    e = sp.expand(sp.powsimp(sp.expand(expr, power_exp=True)), power_exp=True)
    subs = {q ** L: P_L}
    if gamma_ is gamma:
        subs[gamma ** L] = Gamma_L
    return e.subs(subs)


def fixed_logit_leading(g: sp.Matrix, gamma_=gamma, scale_by_p_s: bool = False) -> sp.Matrix:
    """Leading order of a gradient vector (symbolic L) as L -> oo with the logits and gamma < 1 held fixed: q^L and
    gamma^L are exponentially small against every power of L, so they are set to 0 (after dividing by p_s = q^L
    where every component carries that factor: ``scale_by_p_s``, the surrogate's case).  What remains is
    polynomial in L (and in S_L's limit 1/(1 - gamma))."""
    out = []
    for x in g:
        e = exponentials_as_symbols(x, gamma_)
        if scale_by_p_s:
            e = sp.expand(e / P_L)
        out.append(sp.simplify(e.subs({P_L: 0, Gamma_L: 0})))
    return sp.Matrix(out)


def attribution_ratio(g) -> sp.Expr:
    """|g_sampling| / ||g_decision|| of a (theta_s, theta_dC, theta_dW) vector."""
    return sp.Abs(g[0]) / sp.sqrt(sum(x ** 2 for x in g[1:]))


# ---------------------------------------------------------------------------------------------- the §4.2 Markov point
def decaying_p_dW(T: int, theta_dW_value, decay) -> list:
    """p_dW,k = sigmoid(theta_dW - decay (k - 1)), k = 1..T: a decision that conditions on how many attempts it has
    already made (decay > 0: less willing to retry as attempts accumulate; decay = 0: the §4.2 Markov model)."""
    from .toy import sigmoid

    return [sigmoid(sp.sympify(theta_dW_value) - sp.sympify(decay) * (k - 1)) for k in range(1, T + 1)]


def accuracy_enumerated(T: int, p_s_value, p_dC_value, p_dW_seq) -> sp.Expr:
    """P(final answer correct) with a per-attempt p_dW,k, by summing over every attempt-level path (independent of
    :func:`backward_induction`): stop voluntarily after attempt t < T or be capped at T."""
    import itertools

    total = sp.Integer(0)
    for t in range(1, T + 1):
        for outcomes in itertools.product("CW", repeat=t):
            prob = sp.Integer(1)
            for k, o in enumerate(outcomes, 1):
                prob *= p_s_value if o == "C" else 1 - p_s_value
                if k < t:  # RESAMPLE after attempt k
                    prob *= (1 - p_dC_value) if o == "C" else p_dW_seq[k - 1]
                elif t < T:  # STOP after the last attempt
                    prob *= p_dC_value if o == "C" else 1 - p_dW_seq[k - 1]
            if outcomes[-1] == "C":
                total += prob
    return total


def pooled_p_dW(T: int, p_s_value, p_dC_value, p_dW_seq) -> sp.Expr:
    """The constant p_dW a practitioner would measure: P(RESAMPLE | wrong) pooled over every decision taken after
    a wrong attempt (visit-weighted mean of p_dW,k)."""
    reach, num, den = sp.Integer(1), sp.Integer(0), sp.Integer(0)
    for k in range(1, T):
        w = reach * (1 - p_s_value)
        num += w * p_dW_seq[k - 1]
        den += w
        reach *= p_s_value * (1 - p_dC_value) + (1 - p_s_value) * p_dW_seq[k - 1]
    return num / den


# ---------------------------------------------------------------------------------------------- Definition 3.1 at the Q level
def first_stage_expected_q(T: int, L_=L, reward: str = "terminal") -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]:
    """(E[Q_sample(s_0, A_1)], E[Q_d(s_1, d_1)], E[r^sample_1], E[r^decision_1]) at gamma = 1 for the first
    attempt and the decision after it (T >= 2): the expected Q of each stage, and the expected immediate reward of
    each stage (Definition 3.1's r_k^sample, r_k^decision; 0 for the terminal reward, which only the last token
    carries).  With k1 in the reward E[Q_sample] = KL(P || P_ref) (the whole trajectory's KL-to-go) and
    E[Q_d] = E[Q_sample] - L kl_tok; for the surrogate both are J (Q_sample(s_0, A_1) = V(s_1) = E_d Q_d)."""
    if T < 2:
        raise ValueError("the first decision exists only for a budget T >= 2")
    st = backward_induction(T, L_, 1, reward)[0]
    p_s = q ** L_
    E_Vd = p_s * st.V_d["C"] + (1 - p_s) * st.V_d["W"]
    if reward == "terminal":
        return st.W, E_Vd, sp.Integer(0), sp.Integer(0)
    r_dec = p_s * kl_bernoulli(p_dC, p_dC_ref) + (1 - p_s) * kl_bernoulli(p_dW, p_dW_ref)
    return st.W, E_Vd, L_ * kl_bernoulli(q, q_ref), r_dec
