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
# # 1. Factorisation and cross-terms — Lemma 3.1, Corollary 3.1
#
# The paper splits one autoregressive policy into $\pi_{sample}$ (attempt tokens) and $\pi_d$ (decision tokens,
# STOP / RESAMPLE). Everything below is derived by `theory/` (sympy) and checked by the same code `dsproof check`
# runs; this notebook only displays it.

# %%
from dsproof.display import show_claim, show_expr, show_terms
from numerics import crosscheck as crosscheck
from theory import toy as toy_theory
from theory.trajectory import (corollary_3_1, corollary_3_1_general, episode_layout, lemma_3_1, lemma_3_1_induction,
                               log_factorised, parameterisation, T_sym)

# %% [markdown]
# <a id="lemma-3.1"></a>
# ## Lemma 3.1: the trajectory probability factorises
#
# An episode with two attempts of 2 and 1 tokens and a decision after each; $\ell_t$ is the log-probability of
# token $t$ under the one policy, with shared parameters $\theta$.

# %%
episode = episode_layout((2, 1))
lemma = lemma_3_1(episode, parameterisation("shared"))
show_expr(r"\log P(\tau)", lemma["log_P"])
for k, e in enumerate(lemma["log_pi_sample"], 1):
    show_expr(rf"\log \pi_{{sample}}(A_{k})", e)
for k, e in enumerate(lemma["log_pi_d"], 1):
    show_expr(rf"\log \pi_d(d_{k})", e)
show_expr(r"\mathrm{residual}", lemma["residual"])

# %% [markdown]
# ### For every T, by induction
#
# The right-hand side of Lemma 3.1 for a symbolic budget $T$ (voluntary STOP after attempt $T$). The chain rule
# builds $\log P$ token by token: $T=1$ is attempt 1 then STOP; from $T$ to $T+1$ attempts the final STOP becomes
# RESAMPLE and attempt $T+1$ with its STOP is appended. Base-case and step residuals (each 0), then the same for
# Corollary 3.1's gradient and Theorem 3.1's per-trajectory term $A\nabla\log P = A g_s + A g_d$:

# %%
show_expr(r"\log P_T", log_factorised(T_sym))
lemma_3_1_induction(), corollary_3_1_general()

# %% [markdown]
# The lemma's product over the toy model's trajectories sums to one (here T = 3 attempts of 1 token):

# %%
show_expr(r"\sum_\tau P(\tau) - 1", crosscheck.toy_model(3, (1, 1, 1)).total_probability() - 1, simplify=True)

# %%
show_claim("lemma-3.1");

# %% [markdown]
# <a id="cor-3.1"></a>
# ## Corollary 3.1: the score splits into a sampling and a decision sum
#
# The same episode with **shared** parameters (one network). The split is exact, and the cross-term
# $\langle g_{sampling}, g_{decision}\rangle$ — which the paper never writes — is an explicit double sum over
# (sampling token, decision token) pairs.

# %%
show_terms(corollary_3_1(episode, parameterisation("shared", m=1)))

# %%
show_claim("cor-3.1");

# %% [markdown]
# <a id="cross-terms"></a>
# ## Cross-terms
#
# With **disjoint** parameters the expected score cross-block (Fisher cross-block) vanishes identically — the
# martingale property of scores. The Hessian cross-block does not: improving the sampler changes the decision
# gradient. In the toy model (logits $\theta_s, \theta_{dC}, \theta_{dW}$, T = 2 attempts of 1 token):

# %%
m = crosscheck.toy_model(2, (1, 1))
show_expr(r"E[g_{sampling} g_{decision}^T]", m.expected_score_product("sampling", "decision"))
show_terms(m.hessian_cross_terms(m.J_backward, "Corollary 3.1"), simplify=True)

# %%
show_claim("cross-terms");
