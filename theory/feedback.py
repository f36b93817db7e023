"""§5's "SFT echo chamber" and "power of negative feedback" made precise in the toy model (issue #12, item 4f).

SFT on the model's own successes (rejection-sampling fine-tuning, RFT) maximises E_{tau ~ P_0(.|r=1)} log P_theta(tau).
The toy's P_theta is a product of Bernoulli factors, one parameter per kind of token (answer tokens: q; decision
after a correct attempt: p_dC; after a wrong one: p_dW), so the maximiser is the count ratio of each kind in the
successful trajectories of P_0 (maximum likelihood of a Bernoulli = its empirical frequency):

    q*    = E_0[r #OK tokens] / E_0[r #answer tokens]
          = (E_0[r A_C] + f(q) E_0[r A_W]) / E_0[r (A_C + A_W)],  f(q) = (q - q^L) / (1 - q^L)
    p_dC* = E_0[r #STOP after C] / E_0[r #decisions after C]
    p_dW* = E_0[r #RESAMPLE after W] / E_0[r #decisions after W] = 1

with A_C, A_W the numbers of correct and wrong attempts and f(q) the fraction of right tokens in a wrong attempt
(E[#OK | not all OK] = L (q - q^L) / (1 - q^L)).  p_dW* = 1 exactly: a STOP after a wrong attempt ends with r = 0,
so it never appears in a success.  p_dC* < 1 in general: a success may contain a correct attempt followed by
RESAMPLE (and a later correct one).  The attempt-level expectations are sums over theory.toy's attempt-level paths.

Iterated RFT (refit on fresh successes of the current model, then resample) applies this map again and again.
"""

from __future__ import annotations

import functools

import sympy as sp

from .toy import Path, ToyModel, p_dC, p_dW, q
from .validate import check_budget

#: attempt-level success probability of one attempt (= q^L); the attempt-level sums are written in it
p_s = sp.Symbol("p_s", positive=True)


def _counts(path: Path) -> dict[str, int]:
    """Per-path counts: correct / wrong attempts; STOP / RESAMPLE after correct / wrong attempts."""
    c = dict.fromkeys(("A_C", "A_W", "CS", "CR", "WS", "WR"), 0)
    for o in path.outcomes:
        c["A_" + o] += 1
    for o, d in zip(path.outcomes, path.decisions):
        c[o + ("S" if d == "STOP" else "R")] += 1
    return c


@functools.lru_cache(maxsize=None)
def success_weighted_counts(T: int) -> dict[str, sp.Expr]:
    """E[r X] for each count X of :func:`_counts`, and J = E[r], as polynomials in p_s, p_dC, p_dW (budget T)."""
    model = ToyModel(check_budget(T), 1)  # one token per attempt: its q is the attempt-level p_s
    out = dict.fromkeys(("A_C", "A_W", "CS", "CR", "WS", "WR", "J"), sp.Integer(0))
    for path in model.paths():
        weight = model.path_prob(path) * model.reward(path)
        for name, n in _counts(path).items():
            out[name] += weight * n
        out["J"] += weight
    return {k: sp.expand(v.subs(q, p_s)) for k, v in out.items()}


def wrong_attempt_token_accuracy(q_, L: int):
    """f(q) = E[#OK tokens | the attempt is not all OK] / L = (q - q^L) / (1 - q^L) (0 for L = 1)."""
    return sp.cancel((q_ - q_ ** L) / (1 - q_ ** L))


def rft_fixed_point(T: int, L: int) -> dict[str, sp.Expr]:
    """The maximiser (q*, p_dC*, p_dW*) of E_{P_0(.|r=1)} log P_theta, in the initial model's q, p_dC, p_dW."""
    e = {k: v.subs(p_s, q ** L) for k, v in success_weighted_counts(T).items()}
    f = wrong_attempt_token_accuracy(q, L)
    return {"q": (e["A_C"] + f * e["A_W"]) / (e["A_C"] + e["A_W"]),
            "p_dC": e["CS"] / (e["CS"] + e["CR"]),
            "p_dW": e["WR"] / (e["WR"] + e["WS"])}


def iterate_rft(T: int, L: int, start: tuple[float, float, float], rounds: int) -> list[tuple[float, float, float]]:
    """(q, p_dC, p_dW) after 0..rounds rounds of iterated RFT (each a full refit on the current model's successes),
    evaluated in floats with the closed-form map."""
    fp = rft_fixed_point(T, L)
    step = sp.lambdify((q, p_dC, p_dW), [fp["q"], fp["p_dC"], fp["p_dW"]])
    out = [tuple(float(x) for x in start)]
    for _ in range(rounds):
        out.append(tuple(float(x) for x in step(*out[-1])))
    return out


__all__ = ["p_s", "success_weighted_counts", "wrong_attempt_token_accuracy", "rft_fixed_point", "iterate_rft"]
