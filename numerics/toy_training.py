"""The abstract's length-weighting claim, trained: the two-stage toy model (budget T, attempts of L i.i.d. tokens)
trained by exact gradient ascent from the same initial policy under

* ``rl``             the surrogate's expected gradient, grad J (Theorem 3.1);
* ``rl+kl-reward``   grad J - w grad KL(P_theta || P_ref), k1 in the reward (Theorem 3.2's placement);
* ``rl+kl-k3-loss``  grad J - w x the expected k3 per-token loss gradient (verl low_var_kl, the experiments' KL);
* ``sft-correct``    SFT on demonstrations without reflection (correct attempt, STOP);
* ``sft-reflect``    SFT on a mixture: a fraction ``reflect_frac`` of reflection demonstrations (wrong attempt,
  RESAMPLE, correct attempt, STOP), the rest without reflection.

The reference of the KL terms is the initial policy (as in practice, where it is the SFT model).  Every gradient is a
closed form of theory/ (ClosedForm, theory.sft), evaluated with numpy for many initial policies at once; the tests
check each against autograd through the torch enumeration and a hand-written SFT loss.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from theory.closed_form import ClosedForm
from theory.sft import correct_demonstration_gradient, reflection_demonstration_gradients
from theory.toy import PROBS, REF_PROBS

from .figure1 import sigmoid, stack_rows, toy_gradients

TRAINED_OBJECTIVES = ("rl", "rl+kl-reward", "rl+kl-k3-loss", "sft-correct", "sft-reflect")


@functools.lru_cache(maxsize=None)
def _k3_loss_gradient(T: int, L: int):
    return sp.lambdify(PROBS + REF_PROBS, list(ClosedForm(T, L).token_loss_gradient("k3")), "numpy")


@functools.lru_cache(maxsize=None)
def _sft_gradients(L: int):
    return (sp.lambdify(PROBS, list(correct_demonstration_gradient(L)), "numpy"),
            sp.lambdify(PROBS, list(reflection_demonstration_gradients(L)["sft"]), "numpy"))


def ascent_direction(objective: str, z: np.ndarray, z_ref: np.ndarray, T: int, L: int, w=0.1,
                     reflect_frac: float = 0.5) -> np.ndarray:
    """The expected update direction of ``objective`` at logits ``z[..., 3]`` (reference ``z_ref``); ``w`` may be an
    array broadcasting against z[..., :1]."""
    if objective not in TRAINED_OBJECTIVES:
        raise ValueError(f"objective must be one of {TRAINED_OBJECTIVES}, got {objective!r}")
    if not 0 <= reflect_frac <= 1:
        raise ValueError(f"reflect_frac must lie in [0, 1], got {reflect_frac!r}")
    p, p_ref = sigmoid(z), sigmoid(z_ref)
    args = [p[..., i] for i in range(3)]
    shape = p.shape[:-1]
    if objective.startswith("sft"):
        correct, reflect = (stack_rows(f(*args), shape) for f in _sft_gradients(L))
        frac = reflect_frac if objective == "sft-reflect" else 0.0
        return (1 - frac) * correct + frac * reflect
    gJ, gK = toy_gradients(z, z_ref, T, L)
    if objective == "rl":
        return gJ
    if objective == "rl+kl-reward":
        return gJ - w * gK
    return gJ - w * stack_rows(_k3_loss_gradient(T, L)(*args, *(p_ref[..., i] for i in range(3))), shape)


def train(objective: str, z0: np.ndarray, T: int = 4, L: int = 1, w=0.1, steps: int = 300, lr: float = 1.0,
          reflect_frac: float = 0.5, ref_every: int | None = None) -> np.ndarray:
    """Logits over training, [n_policies, steps + 1, 3], from initial logits ``z0[n_policies, 3]``; the KL reference is
    the initial policy, or with ``ref_every`` the current policy, reset every ``ref_every`` steps (Appendix C's
    periodic reference update)."""
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if ref_every is not None and (not isinstance(ref_every, int) or ref_every < 1):
        raise ValueError(f"ref_every must be None or an integer >= 1, got {ref_every!r}")
    z = np.atleast_2d(np.asarray(z0, float))
    z_ref = z.copy()
    w = np.asarray(w, float).reshape(-1, 1) if np.ndim(w) else w
    out = [z]
    for step in range(steps):
        if ref_every is not None and step % ref_every == 0:
            z_ref = z.copy()
        z = z + lr * ascent_direction(objective, z, z_ref, T, L, w, reflect_frac)
        out.append(z)
    return np.stack(out, axis=1)


def kept_fraction(z_objective: np.ndarray, z_rl: np.ndarray, z0: np.ndarray) -> np.ndarray:
    """Per logit, the fraction of the surrogate's movement (z_rl - z0) that another objective made (z - z0): 1 = as
    far as RL, < 1 restrained, > 1 further."""
    return (z_objective - z0) / (z_rl - z0)
