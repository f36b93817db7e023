"""Appendix C / Figure 1: the three-logit toy model trained by exact gradient ascent on the KL-regularised
objective J - w KL(P_theta || P_ref), with the reference reset to the current policy every ``ref_every``
steps (the paper's source of the cyclic pattern).  At each step it records the full gradients (d/dtheta_s,
d/dtheta_dC, d/dtheta_dW) of the reward term (what the surrogate credits) and of the KL term (what the
k1-in-reward penalty credits).

The gradients are the closed forms of :mod:`theory.closed_form` (one recursion over the attempts, proved for every
T and L), evaluated with numpy for many settings at once; the tests check them against autograd through the torch
enumeration of :mod:`numerics.toy` and a whole training run against an autograd training loop.

The paper states neither its settings (initial logits, w, learning rate, reference period) nor how it measures the
"attribution ratio".  Every reading a reader could take is in :data:`READINGS`; :func:`sweep` maps, over a grid of
the unreported settings, where "exceeds 2:1 throughout training" holds under each reading.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from theory.closed_form import ClosedForm
from theory.toy import PROBS, REF_PROBS


def _sampling(g: np.ndarray) -> np.ndarray:
    return np.abs(g[..., 0])


#: readings of "sampling:decision attribution ratio": name -> (what it is, decision measure from g[..., 1:]).
#: The sampling measure is always |d/dtheta_s| (one sampling logit).
READINGS = {
    "both (norm)": ("|g_s| / ||(g_dC, g_dW)||: the sampling logit against the norm of both decision logits",
                    lambda d: np.linalg.norm(d, axis=-1)),
    "per-parameter mean": ("|g_s| / mean(|g_dC|, |g_dW|): per-parameter means (one sampling, two decision logits)",
                           lambda d: np.abs(d).mean(axis=-1)),
    "d|C only": ("|g_s| / |g_dC|: the sampling logit against the STOP-when-correct logit", lambda d: np.abs(d[..., 0])),
    "d|W only": ("|g_s| / |g_dW|: the sampling logit against the RESAMPLE-when-wrong logit",
                 lambda d: np.abs(d[..., 1])),
}


def attribution_ratio(g: np.ndarray, reading: str = "both (norm)") -> np.ndarray:
    """sampling : decision ratio of gradients ``g[..., 3]`` under a reading of :data:`READINGS` (nan where the
    decision measure is 0)."""
    if reading not in READINGS:
        raise ValueError(f"unknown reading {reading!r}; expected one of {list(READINGS)}")
    dec = READINGS[reading][1](g[..., 1:])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dec > 0, _sampling(g) / dec, np.nan)


@functools.lru_cache(maxsize=None)
def _closed_form_gradients(T: int, L: int):
    """numpy functions (q, p_dC, p_dW, q_ref, p_dC_ref, p_dW_ref) -> dJ/dtheta, dKL/dtheta (3 rows each)."""
    cf = ClosedForm(T, L)
    args = PROBS + REF_PROBS
    return (sp.lambdify(args, list(cf.gradient(cf.J)), "numpy"),
            sp.lambdify(args, list(cf.gradient(cf.kl_sequence)), "numpy"))


@functools.lru_cache(maxsize=None)
def _closed_form_values(T: int, L: int):
    """numpy function (q, p_dC, p_dW, q_ref, p_dC_ref, p_dW_ref) -> (J, KL(P_theta || P_ref))."""
    cf = ClosedForm(T, L)
    return sp.lambdify(PROBS + REF_PROBS, [cf.J, cf.kl_sequence], "numpy")


def sigmoid(x) -> np.ndarray:
    """Logits -> probabilities (numpy; theory.toy.sigmoid is the sympy one)."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, float)))


def logit(p) -> np.ndarray:
    """Probabilities -> logits (numpy)."""
    p = np.asarray(p, float)
    return np.log(p / (1 - p))


def stack_rows(values, shape) -> np.ndarray:
    """A lambdified function's list of rows (scalars where an entry is constant) as one array [..., len(values)]."""
    return np.stack([np.broadcast_to(np.asarray(v, float), shape) for v in values], axis=-1)


def toy_gradients(z: np.ndarray, z_ref: np.ndarray, T: int, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact (dJ/dtheta, dKL(P_theta || P_ref)/dtheta) at logits ``z[..., 3]`` with reference ``z_ref[..., 3]``."""
    fJ, fK = _closed_form_gradients(T, L)
    p, p_ref = sigmoid(z), sigmoid(z_ref)
    args = [p[..., i] for i in range(3)] + [p_ref[..., i] for i in range(3)]
    return stack_rows(fJ(*args), p.shape[:-1]), stack_rows(fK(*args), p.shape[:-1])


@dataclass
class Figure1Run:
    settings: dict
    steps: np.ndarray
    probs: np.ndarray  # [S, 3] per-token q, p_dC, p_dW
    J: np.ndarray
    KL: np.ndarray
    reward_grads: np.ndarray  # [S, 3] dJ/dtheta (signed)
    kl_grads: np.ndarray  # [S, 3] dKL/dtheta (signed)

    @property
    def reward_grad(self) -> np.ndarray:
        """[S, 2]: |dJ/dtheta_s|, ||dJ/dtheta_d||."""
        return np.stack([_sampling(self.reward_grads), np.linalg.norm(self.reward_grads[:, 1:], axis=1)], axis=1)

    @property
    def kl_grad(self) -> np.ndarray:
        """[S, 2]: |dKL/dtheta_s|, ||dKL/dtheta_d||."""
        return np.stack([_sampling(self.kl_grads), np.linalg.norm(self.kl_grads[:, 1:], axis=1)], axis=1)

    @staticmethod
    def ratio(g: np.ndarray) -> np.ndarray:
        """sampling / decision gradient-norm ratio of a [S, 2] array (nan where the decision norm is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(g[:, 1] > 0, g[:, 0] / g[:, 1], np.nan)

    def ratios(self, term: str = "kl", reading: str = "both (norm)") -> np.ndarray:
        """The attribution ratio over training of ``term`` ('kl' or 'reward') under ``reading``."""
        g = {"kl": self.kl_grads, "reward": self.reward_grads}[term]
        return attribution_ratio(g, reading)

    def reset_steps(self) -> np.ndarray:
        return self.steps % self.settings["ref_every"] == 0


def _check_settings(T, L, steps, ref_every, lr):
    for name, v in (("T", T), ("lengths", L), ("steps", steps), ("ref_every", ref_every)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")


def train_many(settings: list[dict], T: int = 4, lengths: int = 1, lr: float = 1.0, steps: int = 300) -> list[Figure1Run]:
    """Exact-gradient training of the toy model on J - w KL for several settings at once (vectorised): each setting
    is a dict with ``z0`` (three logits), ``w`` and ``ref_every``; T, L, lr and the number of steps are shared."""
    for s in settings:
        _check_settings(T, lengths, steps, s["ref_every"], lr)
    z = np.array([s["z0"] for s in settings], float)
    w = np.array([s["w"] for s in settings], float)[:, None]
    every = np.array([s["ref_every"] for s in settings])
    z_ref = z.copy()
    rec = {k: [] for k in ("probs", "J", "KL", "rg", "kg")}
    values = _closed_form_values(T, lengths)
    for step in range(steps):
        reset = step % every == 0
        z_ref[reset] = z[reset]
        gJ, gK = toy_gradients(z, z_ref, T, lengths)
        p, p_ref = sigmoid(z), sigmoid(z_ref)
        J, KL = values(*(p[:, i] for i in range(3)), *(p_ref[:, i] for i in range(3)))
        rec["probs"].append(p)
        rec["J"].append(np.broadcast_to(J, len(settings)))
        rec["KL"].append(np.broadcast_to(KL, len(settings)))
        rec["rg"].append(gJ)
        rec["kg"].append(gK)
        z = z + lr * (gJ - w * gK)
    out = {k: np.stack(v, axis=1) for k, v in rec.items()}  # [n_settings, steps, ...]
    return [Figure1Run(dict(T=T, lengths=lengths, z0=list(s["z0"]), w=s["w"], lr=lr, steps=steps,
                            ref_every=s["ref_every"]), np.arange(steps), out["probs"][i], out["J"][i], out["KL"][i],
                       out["rg"][i], out["kg"][i])
            for i, s in enumerate(settings)]


def train_toy(T: int = 4, lengths: int = 1, z0=(0.0, 0.0, 0.0), w: float = 0.05, lr: float = 1.0, steps: int = 300,
              ref_every: int = 50) -> Figure1Run:
    """Exact-gradient training of the toy model on J - w KL for one setting."""
    return train_many([dict(z0=tuple(z0), w=w, ref_every=ref_every)], T, lengths, lr, steps)[0]


def kl_ratio_range(run: Figure1Run, reading: str = "both (norm)") -> tuple[float, float]:
    """(min, max) over training of the KL term's sampling:decision ratio, reset steps excluded (the KL gradient is
    exactly 0 when the reference has just been set to the policy)."""
    r = run.ratios("kl", reading)[~run.reset_steps()]
    return float(np.nanmin(r)), float(np.nanmax(r))


#: the grid of unreported settings the map covers: initial logits (theta_s, theta_dC, theta_dW), KL weight w,
#: reference period; 5 x 3 x 3 x 4 x 2 = 360 settings
SWEEP_Z0S = tuple(itertools.product((-2.0, -1.0, 0.0, 1.0, 2.0), (-2.0, 0.0, 2.0), (-2.0, 0.0, 2.0)))
SWEEP_WS = (0.01, 0.05, 0.2, 0.5)
SWEEP_REF_EVERYS = (25, 50)


def sweep(z0s=SWEEP_Z0S, ws=SWEEP_WS, ref_everys=SWEEP_REF_EVERYS, T: int = 4, lengths: int = 1,
          steps: int = 300) -> list[dict]:
    """train_many over a grid of the settings the paper does not report; per setting and reading, the KL ratio's
    (min, max) over training, the reward (surrogate) ratio's (min, max), and the control: the KL ratio over the
    surrogate's at the same step ("relative"; reset steps excluded)."""
    grid = [dict(z0=tuple(z0), w=w, ref_every=r) for z0, w, r in itertools.product(z0s, ws, ref_everys)]
    out = []
    for s, run in zip(grid, train_many(grid, T, lengths, steps=steps)):
        row = dict(s)
        for reading in READINGS:
            row[("kl", reading)] = kl_ratio_range(run, reading)
            rr = run.ratios("reward", reading)
            row[("reward", reading)] = (float(np.nanmin(rr)), float(np.nanmax(rr)))
            rel = (run.ratios("kl", reading) / rr)[~run.reset_steps()]
            row[("relative", reading)] = (float(np.nanmin(rel)), float(np.nanmax(rel)))
        out.append(row)
    return out


def holds_throughout(row: dict, reading: str, threshold: float = 2.0, term: str = "kl") -> bool:
    """'exceeds threshold:1 throughout training' for one swept setting: the minimum over training of the KL ratio
    (``term='kl'``), or of the KL ratio over the surrogate's (``term='relative'``, the control), is above it."""
    return row[(term, reading)][0] > threshold
