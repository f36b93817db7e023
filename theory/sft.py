"""Appendix D: SFT and DFT as policy gradients (one categorical token, symbolic vocabulary of size V).

D.1: the SFT gradient grad log pi(y*) equals the policy gradient E_{y~pi}[r(y) grad log pi(y)] with the
implicit reward r(y) = 1[y = y*] / pi(y*).
D.3: DFT's gradient sg(pi(y*)) grad log pi(y*) = grad pi(y*) is the policy gradient with reward 1[y = y*]:
the 1/pi "policy entanglement" is removed.
D.2/D.4: both are sums over demonstration tokens, so a stage's share of the gradient is proportional to its
token count (times its per-token size): the length asymmetry remains for DFT.
"""

from __future__ import annotations

import sympy as sp

from .terms import Term


def categorical(V: int = 3):
    """Softmax policy over V tokens with logits x_1..x_V; the expert token is y* = 1."""
    x = sp.symbols(f"x_1:{V + 1}", real=True)
    Z = sp.Add(*[sp.exp(xi) for xi in x])
    pi = [sp.exp(xi) / Z for xi in x]
    return x, pi


def implicit_reward_identities(V: int = 3) -> list[Term]:
    """Residuals of D.1 and D.3 (each 0 for every logit)."""
    x, pi = categorical(V)
    grad = lambda e: sp.Matrix([sp.diff(e, xi) for xi in x])  # noqa: E731
    sft = grad(sp.log(pi[0]))
    pg_sft = sp.Matrix.zeros(V, 1)
    pg_dft = sp.Matrix.zeros(V, 1)
    for y in range(V):
        r_sft = (1 if y == 0 else 0) / pi[0]
        r_dft = 1 if y == 0 else 0
        pg_sft += pi[y] * r_sft * grad(sp.log(pi[y]))
        pg_dft += pi[y] * r_dft * grad(sp.log(pi[y]))
    dft = pi[0] * grad(sp.log(pi[0]))  # sg(pi) times the SFT gradient
    return [Term("SFT - PG(1/pi reward)", sp.simplify(sft - pg_sft), "total", "App. D.1"),
            Term("DFT - PG(unit reward)", sp.simplify(dft - pg_dft), "total", "App. D.3")]


def stage_share(n_sampling, n_decision, size_sampling=1, size_decision=1):
    """Share of the summed gradient carried by the decision tokens when every token's gradient has the
    given size: n_d s_d / (n_s s_s + n_d s_d)."""
    return n_decision * size_decision / (n_sampling * size_sampling + n_decision * size_decision)


def correct_demonstration_gradient(L) -> "sp.Matrix":
    """SFT gradient (d/dtheta_s, d/dtheta_dC, d/dtheta_dW) on one demonstration without reflection: a correct attempt
    of L tokens, STOP.  grad [L log q + log p_dC] = (L (1 - q), 1 - p_dC, 0): the RESAMPLE-when-wrong logit gets
    exactly no gradient, for every L (no wrong attempt is ever demonstrated).  L may be a symbol."""
    from .toy import LOGITS, ToyModel, p_dC, q

    return sp.Matrix([ToyModel.d_logit(L * sp.log(q) + sp.log(p_dC), th) for th in LOGITS])


#: how many of the wrong attempt's L tokens are wrong in a reflection demonstration (a choice the paper leaves open:
#: an attempt is wrong when any token is): its last token only, every token, or as many as in the policy's own wrong
#: attempts on average (L (1 - q) / (1 - q^L), the count given that the attempt is wrong)
WRONG_ATTEMPTS = {"last token": "one wrong token (the last), L - 1 right",
                  "every token": "all L tokens wrong",
                  "the policy's own": "the policy's expected count given a wrong attempt, L (1 - q) / (1 - q^L)"}


def wrong_token_count(L, wrong: str = "last token"):
    """The number of wrong tokens in the demonstration's wrong attempt (:data:`WRONG_ATTEMPTS`); L may be a symbol."""
    from .toy import q

    counts = {"last token": sp.Integer(1), "every token": L, "the policy's own": L * (1 - q) / (1 - q ** L)}
    if wrong not in counts:
        raise ValueError(f"wrong attempt {wrong!r}: expected one of {sorted(counts)}")
    return counts[wrong]


def reflection_demonstration_gradients(L, wrong: str = "last token") -> dict[str, "sp.Matrix"]:
    """SFT and DFT gradients (d/dtheta_s, d/dtheta_dC, d/dtheta_dW) on one reflection demonstration of the two-stage
    toy model: a wrong attempt (``wrong`` says which of its tokens are wrong: :data:`WRONG_ATTEMPTS`), RESAMPLE, a
    correct attempt of L tokens, STOP (with T = 2 the final STOP follows a correct attempt: theta_dC's token).
    SFT: sum_t grad log pi(y_t); DFT: sum_t sg(pi(y_t)) grad log pi(y_t) (Wu et al.).  Token-mean aggregation
    divides both stages by the same 2L + 2, so it leaves the ratio unchanged.  L may be a symbol."""
    from .toy import LOGITS, ToyModel, p_dC, p_dW, q

    n_wrong = wrong_token_count(L, wrong)
    tokens = [(q, 2 * L - n_wrong), (1 - q, n_wrong), (p_dW, 1), (p_dC, 1)]  # (token probability, count)
    sft = sp.Matrix([sp.Add(*[n * ToyModel.d_logit(sp.log(p), th) for p, n in tokens]) for th in LOGITS])
    dft = sp.Matrix([sp.Add(*[n * p * ToyModel.d_logit(sp.log(p), th) for p, n in tokens]) for th in LOGITS])
    if wrong == "the policy's own":  # q^L stays: theory.asymptotics takes its limit
        return {"sft": sft, "dft": dft}
    return {"sft": sft.applyfunc(sp.factor), "dft": dft.applyfunc(sp.factor)}
