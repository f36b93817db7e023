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
# # 3. KL attribution — Theorem 3.2 in every placement, and the future-KL cross-term
#
# The paper analyses k1 in the reward; its experiments ran verl's `low_var_kl` (k3) as a token-level loss.
# `theory/kl.py` derives both; `numerics/objectives.kl` implements k1/k2/k3/k3+ in either placement.

# %%
from dsproof.display import show_claim, show_expr, show_scaling_table, show_terms
from dsproof.figures import ratio_vs_length
from numerics import crosscheck as crosscheck
from theory import kl as kl_theory
from theory.closed_form import ClosedForm

# %% [markdown]
# <a id="thm-3.2"></a>
# ## k1 in the reward: the exact gradient of KL(P_θ ‖ P_ref)
#
# Toy model with T = 2 attempts of 1 token; $q, p_{dC}, p_{dW}$ and their reference values.

# %%
m = crosscheck.toy_model(2, (1, 1))
show_expr(r"\mathrm{KL}(P_\theta \| P_{ref})", m.kl_sequence)
show_terms(kl_theory.kl_exact_terms(m))

# %% [markdown]
# The decision gradient contains the KL of the attempts a RESAMPLE buys — the future-KL cross-term
# (per-token sampling KL $kl_{tok}$):

# %%
show_terms(kl_theory.future_kl_cross_term(m))

# %% [markdown]
# ### For every budget T and attempt length L
#
# One recursion over the attempts left, $X(n+1) = u + b\,X(n)$ with $b = p_s(1-p_{dC}) + (1-p_s)p_{dW}$ and
# $p_s = q^L$, solved once (`theory.closed_form`, rsolve + induction), gives the expected number of attempts and the
# sequence KL in closed form; the future-KL cross-term is $L\,kl_{tok}\,\partial E[N]/\partial\theta$.

# %%
c = ClosedForm()
show_expr(r"E[N]", c.expected_attempts)
show_expr(r"\mathrm{KL}_T", c.kl_sequence)

# %%
show_claim("thm-3.2");

# %% [markdown]
# <a id="thm-3.2-practised"></a>
# ## As practised: the per-token loss drops the cross-term
#
# k2 as a token-sum loss gives the "partial" gradient: the reach probabilities are frozen.

# %%
show_terms(kl_theory.kl_partial_terms(m))

# %%
show_claim("thm-3.2-practised");

# %% [markdown]
# <a id="def-3.1"></a>
# ## Definition 3.1 measured: growth of the ratio with attempt length

# %% [markdown]
# Three ways to scale the model with L (they coincide at L = 1): logits held (p_s = q^L falls), p_s held with the
# reference a fixed logit below (per-token KL ~ 1/L), p_s held with the reference's per-token accuracy held
# (comparable per-token KL). Leading orders are derived (`theory.asymptotics`), not fitted; "/ surrogate" is the
# control: the same model, scaled the same way, at the same L.

# %%
show_scaling_table()

# %%
ratio_vs_length();

# %%
show_claim("def-3.1");

# %% [markdown]
# <a id="thm-3.2-discounted"></a>
# ## Theorem 3.2 with a per-token discount γ < 1
#
# The immediate penalty of an attempt is $\mathrm{kl}_{tok}(1-\gamma^L)/(1-\gamma)$; the gradient ratio is derived
# from the backward induction of theory.values.

# %%
show_claim("thm-3.2-discounted");

# %% [markdown]
# <a id="def-3.1-phi"></a>
# ## Definition 3.1 read at the level of Q
#
# $E[Q_{sample}(s_0, A_1)] / E[Q_d(s_1, d_1)]$ for the surrogate and for k1 in the reward, against the immediate
# rewards $E[r^{sample}] / E[r^{decision}]$.

# %%
show_claim("def-3.1-phi");
