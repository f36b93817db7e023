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
# # 8. Training dynamics — finite GRPO groups, §5's feedback
#
# <a id="grpo-groups"></a>
# ## Finite-group GRPO advantages
#
# A group of $G$ i.i.d. trajectories with binary rewards; $A_i = (r_i - \bar r)/s$ with the unbiased group std
# (verl), the population std, or no std (Dr. GRPO). Given $r_1$ the other successes are
# $\mathrm{Bin}(G-1, \mathrm{acc})$, so $c(r) = E[A_1 \mid r_1 = r]$ is a finite sum and the expected update is
# $\kappa(G, \mathrm{acc})\, \nabla J$ with $\kappa = c(1) - c(0)$: the surrogate's direction and stage split.
# $\kappa$ for $G = 4$, unbiased std, and its limit as acc $\to 0$ for every $G$:

# %%
from dsproof.display import show_claim, show_expr
import sympy as sp

from theory import feedback as FB
from theory import grpo as GR

# %%
show_expr(r"\kappa(4, \mathrm{acc})", GR.kappa(4, "unbiased"), simplify=True)
show_expr(r"\lim_{\mathrm{acc}\to 0}\kappa(G, \mathrm{acc})", GR.kappa_at_zero_accuracy(GR.G_sym, "unbiased"))
show_expr(r"P(\text{no gradient})", GR.zero_gradient_probability(8))

# %%
show_claim("grpo-groups");

# %% [markdown]
# <a id="sec5-feedback"></a>
# ## §5: SFT on the model's own successes, and negative feedback
#
# SFT on a fixed set of the initial model's successes converges to the count ratios of each kind of token in them
# (the toy's likelihood is a product of Bernoulli factors). For $T = 2$ and attempts of $L = 2$ tokens, in the
# initial model's $q, p_{dC}, p_{dW}$:

# %%
show_expr(r"q^*", FB.rft_fixed_point(2, 2)["q"], simplify=True)
show_expr(r"p_{dC}^*", FB.rft_fixed_point(2, 2)["p_dC"], simplify=True)
show_expr(r"p_{dW}^*", FB.rft_fixed_point(2, 2)["p_dW"], simplify=True)

# %%
show_claim("sec5-feedback");
