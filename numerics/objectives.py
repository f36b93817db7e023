"""The objectives as practitioners implement them (TRL, verl, OpenRLHF), plus the paper's forms.

Sources and versions (definitions changed during 2026, so each mode names what it follows): the project's notes
took them from verl ``verl/trainer/ppo/core_algos.py`` as of 2026-08 (``agg_loss`` modes, ``kl_penalty``
estimators with the straight-through ``+`` variants, ``compute_policy_loss`` clipping and dual clip) and TRL
``trl/trainer/grpo_trainer.py`` as of 2026-07 (KL beta as a loss, ``use_bias_correction_kl``).  They were not
re-checked against those files when ``k1+`` was added: the copies of verl that could be consulted then (2025)
predate the ``+`` variants and define only k1/abs/k2/k3 (``low_var_kl``, clamped to [-10, 10]).  Where verl
and TRL differ or changed, the docstring of the function says which one it follows.

Public API -- each factory returns an :class:`Objective`, a callable ``objective(logp, batch) -> loss`` (a
scalar to *minimise*), where ``logp[i, t] = log pi_theta(y_t | y_<t)`` of the response tokens (differentiable)
and ``batch`` is a :class:`TokenBatch`::

    surrogate(loss_agg_mode="token-mean", clip=(0.2, 0.28), dual_clip=3.0, ratio_level="token")
    surrogate(ratio_level="trajectory", clip=None)        # the paper's form (§3.3.1)
    kl(estimator="k1" | "k2" | "k3" | "k1+" | "k3+", placement="loss" | "reward", clamp=None, importance_ratio=False)
    sft(norm="token-mean"), dft(norm="token-mean")

Aggregation modes (``loss_agg_mode`` / ``norm``), with per-token loss l, mask m, n_i = sum_t m, and sequence
weights w_i (1 for a batch of samples; P(tau_i) for exact expectations over enumerated trajectories):

=========================  ==========================================================
token-mean                 sum_i w_i sum_t m l / sum_i w_i n_i
seq-mean-token-mean        sum_i w_i (sum_t m l / n_i) / sum_i w_i
seq-mean-token-sum         sum_i w_i sum_t m l / sum_i w_i
seq-mean-token-sum-norm    sum_i w_i sum_t m l / (C sum_i w_i), C = ``norm_const`` (max length)
token-sum                  sum_i w_i sum_t m l
=========================  ==========================================================

seq-mean-token-sum-norm (Dr. GRPO) follows verl as of 2026-08 (the project's notes): a weighted *mean* over
sequences of the token sums, divided by a constant C.  The 2025 verl ``agg_loss`` (the copies consulted) computed
``sum(seq_losses) / loss_mask.shape[-1]``: a *sum* over the B sequences divided by the padded width; that is B
times this mode with ``norm_const`` = the padded width.  The gradient's direction, and so every stage ratio, is the
same under both; only its scale differs.

``batch.stage`` labels every token PAD/PROMPT (0), SAMPLING (1) or DECISION (2); the loss mask is
``stage > 0``.  Objectives do not look at the stage: per-stage credit is read off ``token_weights`` (the
gradient of the loss with respect to each token's log-prob) or by the probe in numerics/attribution.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

PROMPT, SAMPLING, DECISION = 0, 1, 2
LOSS_AGG_MODES = ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm", "token-sum")
KL_ESTIMATORS = ("k1", "k2", "k3", "k1+", "k3+")
KL_PLACEMENTS = ("loss", "reward")


@dataclass
class TokenBatch:
    """Per-token inputs of the objectives: B sequences of n response positions."""

    stage: torch.Tensor  # [B, n] long: 0 prompt/pad, 1 sampling, 2 decision
    advantages: torch.Tensor | None = None  # [B]
    old_logp: torch.Tensor | None = None  # [B, n], log-probs of the behaviour policy (detached)
    ref_logp: torch.Tensor | None = None  # [B, n], log-probs of the reference policy (detached)
    seq_weights: torch.Tensor | None = None  # [B]; default 1
    demo_mask: torch.Tensor | None = field(default=None)  # unused; reserved

    def __post_init__(self) -> None:
        if not isinstance(self.stage, torch.Tensor) or self.stage.dim() != 2:
            raise ValueError(f"stage must be a [B, n] tensor, got {getattr(self.stage, 'shape', self.stage)!r}")
        bad = ~((self.stage == PROMPT) | (self.stage == SAMPLING) | (self.stage == DECISION))
        if bad.any():
            raise ValueError(f"stage entries must be 0 (prompt/pad), 1 (sampling) or 2 (decision); "
                             f"found {sorted(set(self.stage[bad].tolist()))}")
        B, n = self.stage.shape
        if B == 0 or n == 0:
            raise ValueError(f"empty batch: stage has shape {tuple(self.stage.shape)}")
        empty = (self.mask.sum(-1) == 0).nonzero().flatten().tolist()
        if empty:
            raise ValueError(f"sequences {empty} have no response token (stage all 0): empty sequences")
        for name in ("old_logp", "ref_logp"):
            t = getattr(self, name)
            if t is not None and t.shape != self.stage.shape:
                raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {tuple(self.stage.shape)} like stage")
        for name in ("advantages", "seq_weights"):
            t = getattr(self, name)
            if t is not None and t.shape != (B,):
                raise ValueError(f"{name} has shape {tuple(t.shape)}, expected ({B},): one per sequence")

    @property
    def mask(self) -> torch.Tensor:
        return self.stage > 0

    def weights(self, like: torch.Tensor) -> torch.Tensor:
        w = self.seq_weights if self.seq_weights is not None else torch.ones(self.stage.shape[0])
        return w.to(like)

    def need(self, name: str) -> torch.Tensor:
        t = getattr(self, name)
        if t is None:
            raise ValueError(f"this objective needs batch.{name}, which is None")
        return t


@dataclass(frozen=True)
class Objective:
    """A named loss: ``objective(logp, batch)`` returns the scalar to minimise."""

    name: str
    options: dict
    fn: Callable[[torch.Tensor, TokenBatch], torch.Tensor] = field(repr=False)

    def __call__(self, logp: torch.Tensor, batch: TokenBatch) -> torch.Tensor:
        if logp.shape != batch.stage.shape:
            raise ValueError(f"logp has shape {tuple(logp.shape)}, expected {tuple(batch.stage.shape)} like stage")
        return self.fn(logp, batch)


def _check_choice(value, choices, name):
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {choices}")


def aggregate(loss: torch.Tensor, batch: TokenBatch, mode: str, norm_const: float | None = None) -> torch.Tensor:
    """Aggregate a per-token loss [B, n] over the response tokens (see the module table)."""
    _check_choice(mode, LOSS_AGG_MODES, "loss_agg_mode")
    m = batch.mask.to(loss.dtype)
    w = batch.weights(loss)
    seq_sum = (loss * m).sum(-1)
    n_i = m.sum(-1)
    if mode == "token-mean":
        return (w * seq_sum).sum() / (w * n_i).sum()
    if mode == "seq-mean-token-mean":
        return (w * seq_sum / n_i).sum() / w.sum()
    if mode == "seq-mean-token-sum":
        return (w * seq_sum).sum() / w.sum()
    if mode == "seq-mean-token-sum-norm":
        if norm_const is None or norm_const <= 0:
            raise ValueError(f"seq-mean-token-sum-norm needs norm_const > 0 (e.g. the max response length), "
                             f"got {norm_const!r}")
        return (w * seq_sum).sum() / (w.sum() * norm_const)
    return (w * seq_sum).sum()  # token-sum


# ------------------------------------------------------------------------------------------- surrogate
def surrogate(loss_agg_mode: str = "token-mean", clip: tuple[float, float] | None = (0.2, 0.2),
              dual_clip: float | None = None, ratio_level: str = "token", norm_const: float | None = None) -> Objective:
    """PPO/GRPO policy loss.

    ``ratio_level="token"`` (TRL, verl): r_t = exp(logp_t - old_logp_t),
    l_t = -min(r_t A, clip(r_t, 1 - eps_low, 1 + eps_high) A); with ``dual_clip`` c (verl, A < 0 only):
    l_t = min(l_t, -c A).  ``ratio_level="trajectory"`` (the paper, §3.3.1): one ratio per sequence,
    R_i = exp(sum_t m (logp - old_logp)), loss_i = -R_i A_i (clipped likewise if ``clip``), averaged over
    sequences with their weights (``loss_agg_mode`` must then be seq-mean-token-sum, the only mode with a
    per-sequence reading).
    """
    _check_choice(loss_agg_mode, LOSS_AGG_MODES, "loss_agg_mode")
    _check_choice(ratio_level, ("token", "trajectory"), "ratio_level")
    if clip is not None:
        if len(clip) != 2 or not all(0 <= e < 1 for e in clip):
            raise ValueError(f"clip must be (eps_low, eps_high) with 0 <= eps < 1, got {clip!r}")
    if dual_clip is not None and dual_clip <= 1:
        raise ValueError(f"dual_clip must be > 1 (verl clip_ratio_c, default 3), got {dual_clip!r}")

    def clipped(ratio, A):
        unclipped = -ratio * A
        if clip is None:
            return unclipped
        clipped_ = -torch.clamp(ratio, 1 - clip[0], 1 + clip[1]) * A
        loss = torch.maximum(unclipped, clipped_)
        if dual_clip is not None:
            loss = torch.where(A < 0, torch.minimum(loss, -dual_clip * A), loss)
        return loss

    def fn(logp, batch):
        A = batch.need("advantages").to(logp)
        log_ratio = logp - batch.need("old_logp").to(logp)
        if ratio_level == "token":
            per_token = clipped(torch.exp(log_ratio), A[:, None])
            return aggregate(per_token, batch, loss_agg_mode, norm_const)
        seq_ratio = torch.exp((log_ratio * batch.mask).sum(-1))
        per_seq = clipped(seq_ratio, A)
        w = batch.weights(logp)
        return (w * per_seq).sum() / w.sum()

    if ratio_level == "trajectory" and loss_agg_mode != "seq-mean-token-sum":
        raise ValueError("ratio_level='trajectory' has one loss per sequence: use loss_agg_mode='seq-mean-token-sum'")
    return Objective("surrogate", dict(loss_agg_mode=loss_agg_mode, clip=clip, dual_clip=dual_clip,
                                       ratio_level=ratio_level), fn)


# ------------------------------------------------------------------------------------------- KL
def kl_estimate(logp: torch.Tensor, ref_logp: torch.Tensor, estimator: str, clamp: float | None = None) -> torch.Tensor:
    """Per-token KL estimators of KL(pi || ref) at tokens sampled from pi (practice.md):
    k1 = l, k2 = l^2 / 2, k3 = r - 1 - log r with l = logp - ref_logp, r = pi_ref / pi = exp(-l).

    The ``+`` variants follow verl's ``kl_penalty`` as of 2026-08 (the project's notes; see the module doc):
    the value of the named estimator with the gradient of k2, straight-through,
    ``k2 + (k - k2).detach()``: k1+ = k2 + (k1 - k2).detach(), k3+ = k2 + (k3 - k2).detach().  Their
    expected gradient on-policy is that of KL(pi || ref), whatever the value reported.  ``clamp``: verl
    clamps k3 to [-clamp, clamp] (low_var_kl: 10); it applies to k3 and to the value of k3+ only."""
    _check_choice(estimator, KL_ESTIMATORS, "KL estimator")
    l = logp - ref_logp
    k1 = l
    k2 = 0.5 * l ** 2
    log_r = -l
    k3 = torch.exp(log_r) - 1 - log_r
    if clamp is not None:
        k3 = torch.clamp(k3, -clamp, clamp)
    straight_through = lambda value: k2 + (value - k2).detach()  # noqa: E731 (value of `value`, gradient of k2)
    return {"k1": k1, "k2": k2, "k3": k3, "k1+": straight_through(k1), "k3+": straight_through(k3)}[estimator]


def returns_to_go(token_rewards: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """G_t = sum_{u >= t} m_u r_u (gamma = 1), per sequence."""
    r = token_rewards * mask
    return r.flip(-1).cumsum(-1).flip(-1)


def kl(estimator: str = "k3", placement: str = "loss", loss_agg_mode: str = "token-mean", clamp: float | None = None,
       importance_ratio: bool = False, norm_const: float | None = None) -> Objective:
    """KL regulariser (to minimise), in one of two placements.

    ``placement="loss"`` (verl use_kl_loss, TRL beta): the per-token estimator is differentiated and
    aggregated like the policy loss.  With ``importance_ratio`` each token's estimate is multiplied by the
    differentiable ratio pi/pi_old (DeepSeek-V3.2, TRL use_bias_correction_kl).

    ``placement="reward"`` (the paper's Theorem 3.2; TRL/OpenRLHF KL-in-reward): the estimate is detached
    and enters as a per-token penalty; its policy gradient uses the returns-to-go G_t = sum_{u>=t} k_u:
    loss = aggregate(logp_t * sg(G_t)).  On-policy with k1 its expected gradient is grad KL(P_theta||P_ref).
    """
    _check_choice(estimator, KL_ESTIMATORS, "KL estimator")
    _check_choice(placement, KL_PLACEMENTS, "KL placement")
    _check_choice(loss_agg_mode, LOSS_AGG_MODES, "loss_agg_mode")
    if placement == "reward" and importance_ratio:
        raise ValueError("importance_ratio applies to placement='loss' only")

    def fn(logp, batch):
        ref = batch.need("ref_logp").to(logp)
        k = kl_estimate(logp, ref, estimator, clamp)
        if placement == "reward":
            G = returns_to_go(k.detach(), batch.mask.to(logp))
            return aggregate(logp * G, batch, loss_agg_mode, norm_const)
        if importance_ratio:
            k = torch.exp(logp - batch.need("old_logp").to(logp)) * k
        return aggregate(k, batch, loss_agg_mode, norm_const)

    return Objective("kl", dict(estimator=estimator, placement=placement, loss_agg_mode=loss_agg_mode, clamp=clamp,
                                importance_ratio=importance_ratio), fn)


# ------------------------------------------------------------------------------------------- SFT / DFT
def sft(norm: str = "token-mean", norm_const: float | None = None) -> Objective:
    """Supervised fine-tuning on demonstration tokens: l_t = -log pi(y_t)."""
    _check_choice(norm, LOSS_AGG_MODES, "norm")
    return Objective("sft", dict(norm=norm), lambda logp, batch: aggregate(-logp, batch, norm, norm_const))


def dft(norm: str = "token-mean", norm_const: float | None = None) -> Objective:
    """Dynamic fine-tuning (Wu et al., arXiv:2508.05629): l_t = -sg(pi(y_t)) log pi(y_t)."""
    _check_choice(norm, LOSS_AGG_MODES, "norm")
    return Objective("dft", dict(norm=norm),
                     lambda logp, batch: aggregate(-torch.exp(logp).detach() * logp, batch, norm, norm_const))


REGISTRY = {"surrogate": surrogate, "kl": kl, "sft": sft, "dft": dft}


def get(name: str, **options) -> Objective:
    """Build an objective by name: get("kl", estimator="k3", placement="loss")."""
    _check_choice(name, tuple(REGISTRY), "objective")
    return REGISTRY[name](**options)


def token_weights(objective: Objective, logp: torch.Tensor, batch: TokenBatch) -> torch.Tensor:
    """d loss / d logp_t for every token: the gradient weight ("credit") each token's score receives.
    Summing it over the tokens of a stage gives that stage's share."""
    lp = logp.detach().requires_grad_(True)
    g, = torch.autograd.grad(objective(lp, batch), lp)
    return g
