"""Bridges theory/ (sympy) and numerics/ (torch): evaluate a derivation numerically and compare it with
autograd or with Monte-Carlo.  Used by the claims ledger and by the tests alike."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp
import torch

from theory import toy as toy_theory
from theory.toy import LOGITS, REF_PROBS, ToyModel

from . import toy as toy_numerics
from .figure1 import sigmoid
from .tolerances import error_ratio


@lru_cache(maxsize=256)
def toy_model(T: int, lengths: tuple[int, ...], rewards: tuple[float, float] = (1, 0)) -> ToyModel:
    return ToyModel(T, lengths, rewards)


@lru_cache(maxsize=256)
def _grad_fn(T: int, lengths: tuple[int, ...]):
    """Lambdified dJ/dtheta (3 logits) and dKL/dtheta with symbolic rewards and reference."""
    m = ToyModel(T, lengths, (toy_theory.r_C, toy_theory.r_W))
    gJ = [m.to_logits(t.expr) for t in m.gradient_terms(m.J_backward, "Lemma 3.2", factor=False)]
    gK = [m.to_logits(t.expr) for t in m.gradient_terms(m.kl_sequence, "Theorem 3.2", "KL", factor=False)]
    args = LOGITS + (toy_theory.r_C, toy_theory.r_W) + REF_PROBS
    return sp.lambdify(args, gJ, "numpy"), sp.lambdify(args, gK, "numpy")


def symbolic_gradients(T, lengths, z, rewards=(1.0, 0.0), z_ref=(0.0, 0.0, 0.0)):
    """(dJ/dtheta, dKL/dtheta) from theory/, evaluated at logits z (float64 numpy arrays)."""
    fJ, fK = _grad_fn(T, tuple(lengths))
    ref = sigmoid(z_ref)
    args = (*map(float, z), *map(float, rewards), *ref)
    return np.array(fJ(*args), dtype=float), np.array(fK(*args), dtype=float)


def autograd_gradients(T, lengths, z, rewards=(1.0, 0.0), z_ref=(0.0, 0.0, 0.0)):
    """The same two gradients by torch autograd through exact enumeration."""
    batch = toy_numerics.enumerate_toy(T, lengths)
    zt = torch.tensor(z, dtype=toy_numerics.DTYPE, requires_grad=True)
    J = toy_numerics.expected_reward(batch, zt, *rewards)
    KL = toy_numerics.kl_sequence(batch, zt, torch.tensor(z_ref, dtype=toy_numerics.DTYPE))
    gJ, = torch.autograd.grad(J, zt)
    gK, = torch.autograd.grad(KL, zt)
    return gJ, gK


def gradient_error(T, lengths, z, rewards=(1.0, 0.0), z_ref=(0.0, 0.0, 0.0)) -> float:
    """Largest scale-aware error between symbolic and autograd gradients (J and KL)."""
    sJ, sK = symbolic_gradients(T, lengths, z, rewards, z_ref)
    aJ, aK = autograd_gradients(T, lengths, z, rewards, z_ref)
    return max(error_ratio(torch.from_numpy(sJ), aJ), error_ratio(torch.from_numpy(sK), aK))


def mc_zscores(T, lengths, z, n: int, seed: int, rewards=(1.0, 0.0)) -> np.ndarray:
    """z-scores of the sampled score-function estimator mean_i R_i grad log P(tau_i) against the exact
    gradient, one per logit and per stage (sampling d/dtheta_s; decision d/dtheta_dC, d/dtheta_dW)."""
    zt = torch.tensor(z, dtype=toy_numerics.DTYPE)
    batch = toy_numerics.sample_toy(T, lengths, zt, n, torch.Generator().manual_seed(seed))
    R = batch.rewards(*rewards)

    def logp_by_stage(zz):
        lp = toy_numerics.token_logprobs(batch, zz)
        return torch.stack([toy_numerics.stage_logprob(batch, lp, toy_numerics.SAMPLING), toy_numerics.stage_logprob(batch, lp, toy_numerics.DECISION)])

    jac = torch.func.jacfwd(logp_by_stage)(zt)  # [2, n, 3]: per-episode stage scores
    per = torch.stack([R * jac[0, :, 0], R * jac[1, :, 1], R * jac[1, :, 2]], dim=1)  # [n, 3]
    est, se = per.mean(0), per.std(0, unbiased=True) / np.sqrt(n)
    exact, _ = symbolic_gradients(T, lengths, z, rewards)
    return ((est - torch.from_numpy(exact)) / se).numpy()


def shared_stage_gradients(T, lengths, U: np.ndarray, theta: np.ndarray, rewards=(1.0, 0.0)):
    """Per-stage gradients in the shared parameterisation z = U theta, by autograd on the enumerated model."""
    batch = toy_numerics.enumerate_toy(T, lengths)
    th = torch.tensor(theta, dtype=toy_numerics.DTYPE, requires_grad=True)
    z = torch.tensor(U, dtype=toy_numerics.DTYPE) @ th
    return toy_numerics.stage_gradients(batch, z, batch.rewards(*rewards), params=th)


# ------------------------------------------------------------------------ objectives on the toy model
def toy_token_batch(T, lengths, z, z_ref=None, std_norm: bool = False, z_old=None, grouped: bool = False):
    """The enumerated toy model (every token ordering) as a TokenBatch for numerics.objectives: sequence weights P(tau) (so
    aggregations are exact expectations), advantages R - E[R] [/ std R], old_logp at ``z_old`` (default: on-policy),
    ref_logp at ``z_ref``.  ``grouped=True`` uses the grouped enumeration (exact for every order-symmetric
    objective, i.e. anything but returns-to-go; needed for long attempts).  Returns (logp as a function of z,
    TokenBatch)."""
    from .objectives import TokenBatch

    tb = toy_numerics.enumerate_toy(T, lengths, grouped=grouped)  # default every ordering: returns-to-go are order-dependent
    zt = torch.as_tensor(z, dtype=toy_numerics.DTYPE)
    z_old = zt if z_old is None else torch.as_tensor(z_old, dtype=toy_numerics.DTYPE)
    P_old = toy_numerics.path_probs(tb, z_old).detach()  # includes the multiplicity of grouped rows
    R = tb.rewards()
    J = (P_old * R).sum()
    A = R - J
    if std_norm:
        A = A / ((P_old * (R - J) ** 2).sum()).sqrt()
    ref = toy_numerics.token_logprobs(tb, torch.as_tensor(z_ref if z_ref is not None else z, dtype=toy_numerics.DTYPE)).detach()
    batch = TokenBatch(stage=tb.stage, advantages=A, old_logp=toy_numerics.token_logprobs(tb, z_old).detach(),
                       ref_logp=ref, seq_weights=P_old)
    return (lambda zz: toy_numerics.token_logprobs(tb, zz)), batch


def toy_objective_stage_gradients(T, lengths, z, objective, **batch_kw) -> dict[str, torch.Tensor]:
    """Per-stage gradients (of the loss, d/dz) of an objective applied to the enumerated toy model."""
    from .attribution import stage_split

    logp_fn, batch = toy_token_batch(T, lengths, z, **batch_kw)
    zt = torch.tensor(z, dtype=toy_numerics.DTYPE, requires_grad=True)
    return stage_split(logp_fn(zt), objective, batch, zt)


def symbolic_values(terms, z, extra=None) -> np.ndarray:
    """Evaluate a list of Terms (in probabilities) at logits z."""
    sub = {toy_theory.theta_s: z[0], toy_theory.theta_dC: z[1], toy_theory.theta_dW: z[2]}
    sub.update(extra or {})
    m = ToyModel(1)
    return np.array([float(m.to_logits(t.expr).subs(sub)) for t in terms], dtype=float)
