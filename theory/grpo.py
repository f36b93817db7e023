"""Finite-group GRPO advantages on a binary reward, in closed form (issue #12, item 4c).

A group holds G i.i.d. trajectories with rewards r_i in {0, 1}; K = sum_i r_i successes.  The advantage is

    A_i = (r_i - K/G) / s(K),   s = 1 (no std normalisation, Dr. GRPO),
                                s = sqrt(K (G - K) / (G (G - 1)))   (unbiased std, torch.std: verl),
                                s = sqrt(K (G - K)) / G             (population std),

with A_i = 0 in an all-wrong (K = 0) or all-right (K = G) group (there the numerator is 0 and verl's eps keeps
0 / eps = 0).  The update is stop-gradient in A: sum_i A_i grad log P(tau_i), averaged over the group.

Given r_1, the other successes K' ~ Bin(G - 1, acc) with acc = J, so E[A_1 | r_1] = c(r_1) is a finite sum, and

    E[(1/G) sum_i A_i grad log P(tau_i)] = sum_tau P(tau) c(r(tau)) grad log P(tau) = (c(1) - c(0)) grad J,

because sum_tau P(tau) 1[r(tau) = 1] grad log P(tau) = grad J and sum_tau P(tau) grad log P(tau) = 0.  So the
expected update is kappa(G, acc) grad J with kappa = c(1) - c(0) > 0: the surrogate's direction, split between the
stages exactly as the surrogate's (Theorem 3.1), rescaled by a factor that depends on G and on the accuracy only.
"""

from __future__ import annotations

import sympy as sp

#: the probability that one trajectory of the group is a success (= J of the policy that samples the group)
acc = sp.Symbol("acc", positive=True)
#: the group size, for limits in G
G_sym = sp.Symbol("G", integer=True, positive=True)

#: the normalisations of the group advantage, as (name, what it is)
NORMALISATIONS = {
    "none": "no std normalisation (Dr. GRPO): A = r - mean",
    "unbiased": "unbiased group std (torch.std, verl's GRPO): A = (r - mean) / std_{G-1}",
    "population": "population group std: A = (r - mean) / std_G",
}


def check_group_size(G) -> int:
    if isinstance(G, bool) or not isinstance(G, int) or G < 2:
        raise ValueError(f"group size G must be an int >= 2 (a group of one has no baseline), got {G!r}")
    return G


def group_std(K, G: int, normalisation: str):
    """s(K) of a group of G binary rewards with K successes (sympy; K an int)."""
    if normalisation == "none":
        return sp.Integer(1)
    if normalisation == "unbiased":
        return sp.sqrt(sp.Rational(K * (G - K), G * (G - 1)))
    if normalisation == "population":
        return sp.sqrt(K * (G - K)) / G
    raise ValueError(f"normalisation must be one of {sorted(NORMALISATIONS)}, got {normalisation!r}")


def advantage(r: int, K: int, G: int, normalisation: str):
    """A of a member with reward r in a group of G with K successes in all; 0 when K = 0 or K = G."""
    if K in (0, G):
        return sp.Integer(0)
    return (r - sp.Rational(K, G)) / group_std(K, G, normalisation)


def conditional_advantage(r: int, G: int, normalisation: str, a=acc):
    """c(r) = E[A_1 | r_1 = r]: the other G - 1 rewards are i.i.d. Bernoulli(a)."""
    G = check_group_size(G)
    return sp.Add(*[sp.binomial(G - 1, k) * a ** k * (1 - a) ** (G - 1 - k) * advantage(r, r + k, G, normalisation)
                    for k in range(G)])


def kappa(G: int, normalisation: str = "unbiased", a=acc):
    """kappa(G, acc) = c(1) - c(0): the expected group-mean GRPO update is kappa grad J."""
    return conditional_advantage(1, G, normalisation, a) - conditional_advantage(0, G, normalisation, a)


def kappa_at_zero_accuracy(G, normalisation: str = "unbiased"):
    """lim_{acc -> 0} kappa: only groups with one success count, A = (1 - 1/G) / s(1).  Symbolic in G: (G - 1)/G
    (none), (G - 1)/sqrt(G) (unbiased), sqrt(G - 1) (population)."""
    return {"none": (G - 1) / G, "unbiased": (G - 1) / sp.sqrt(G), "population": sp.sqrt(G - 1)}[normalisation]


def kappa_large_group(normalisation: str = "unbiased", a=acc):
    """lim_{G -> oo} kappa at fixed acc: the group mean and std become acc and sqrt(acc (1 - acc)), so kappa -> 1
    (none) or 1 / sqrt(acc (1 - acc)) (either std)."""
    return sp.Integer(1) if normalisation == "none" else 1 / sp.sqrt(a * (1 - a))


def zero_gradient_probability(G: int, a=acc):
    """P(all G rewards equal): such a group has A = 0 for every member, so no gradient to either stage."""
    G = check_group_size(G)
    return a ** G + (1 - a) ** G


__all__ = ["acc", "G_sym", "NORMALISATIONS", "group_std", "advantage", "conditional_advantage", "kappa",
           "kappa_at_zero_accuracy", "kappa_large_group", "zero_gradient_probability", "check_group_size"]


def far_ood_row(T: int, p_s, p_dC_, p_dW_, G: int, normalisation: str = "unbiased") -> dict:
    """What a group of G does for p_dW at one point of the toy (attempts of one token, so q = p_s): the accuracy
    acc = J, the probability that a group carries any gradient, kappa and the large-group kappa, the surrogate's
    dJ/dtheta_dW and the expected GRPO push kappa dJ/dtheta_dW (exact, from theory.closed_form)."""
    from .closed_form import ClosedForm
    from .toy import p_dC, p_dW, q, theta_dW

    cf = ClosedForm(T, 1)
    point = {q: sp.nsimplify(p_s), p_dC: sp.nsimplify(p_dC_), p_dW: sp.nsimplify(p_dW_)}
    a = cf.J.subs(point)
    dJ_dW = cf.d_logit(cf.J, theta_dW).subs(point)
    k, k_inf = kappa(G, normalisation, a), kappa_large_group(normalisation, a)
    return {"acc": float(a), "informative": float(1 - zero_gradient_probability(G, a)), "kappa": float(k),
            "kappa_large_group": float(k_inf), "dJ_dtheta_dW": float(dJ_dW), "grpo_dtheta_dW": float(k * dJ_dW)}
