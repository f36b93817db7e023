# ---
# jupyter:
#   jupytext:
#     formats: py:percent,ipynb
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Surrogate attribution — Theorem 3.1, paper form vs practised forms
#
# The paper's surrogate uses a trajectory-level ratio and no clipping; verl/TRL use a token-level clipped ratio,
# a group advantage and one of five `loss_agg_mode`s. Both are derived in `theory/surrogate.py` and implemented
# in `numerics/objectives.py`.

# %%
import sympy as sp

from dsproof.display import show_claim, show_expr, show_terms
from numerics import crosscheck as crosscheck
from theory import surrogate as surrogate_theory
# %% [markdown]
# <a id="thm-3.1"></a>
# ## Theorem 3.1: one advantage multiplies both score sums
#
# Toy model, T = 2 attempts of 1 token. Per trajectory: the coefficient of $\sum \nabla\log\pi_{sample}$ and of
# $\sum \nabla\log\pi_d$ (first entry: the trajectory's outcomes).

# %%
m = crosscheck.toy_model(2, (1, 1))
for path, ws, wd in surrogate_theory.theorem_3_1_coefficients(m):
    show_expr(r"\text{" + str(path.outcomes) + r"}\quad (Q_{sample}, Q_d)", (ws, wd))

# %% [markdown]
# The expected per-stage gradient $E[A\, g_{stage}]$ equals $\partial J/\partial\theta_{stage}$:

# %%
show_terms(surrogate_theory.expected_stage_gradient(m, "seq-mean-token-sum"), simplify=True)

# %% [markdown]
# With $\gamma < 1$ the decision and the sampling tokens sit at different distances from the reward:

# %%
gamma, L_k = sp.symbols("gamma L_k", positive=True)
show_expr(r"Q_d / Q_{sample}", surrogate_theory.discounted_q_ratio(L_k, gamma))

# %%
show_claim("thm-3.1");

# %% [markdown]
# <a id="thm-3.1-norms"></a>
# ## Equal coefficients, unequal norms

# %%
show_claim("thm-3.1-norms");

# %% [markdown]
# <a id="thm-3.1-practised"></a>
# ## As practised: loss_agg_mode and token-level clipping
#
# Each mode multiplies trajectory $i$'s scores by a mode-specific factor $c_i$ (here for the trajectory
# W, RESAMPLE, C, STOP with T = 2, L = 1; $C$ is the constant of seq-mean-token-sum-norm):

# %%
path = next(p for p in m.paths() if p.outcomes == ("W", "C"))
for mode in surrogate_theory.MODES:
    show_expr(r"c_{\mathrm{" + mode.replace("-", r"\text{-}") + "}}", surrogate_theory.aggregation_factor(m, path, mode))

# %%
show_claim("thm-3.1-practised");

# %% [markdown]
# <a id="thm-3.1-discounted"></a>
# ## Theorem 3.1 with a per-token discount γ < 1
#
# Token $t$ is credited $\gamma^{\text{tokens after } t} A$: an attempt's $L$ tokens together carry
# $S_L = (1-\gamma^L)/(1-\gamma)$ in place of $L$ (theory.values, checked against autograd in numerics.discounted).

# %%
show_claim("thm-3.1-discounted");
