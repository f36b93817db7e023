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
# # 8. What training does to each stage
#
# <a id="abstract-length-weighting"></a>
# ## The abstract's length-weighting claim
#
# "Length weighting makes the regulariser bear on sampling and leaves the decision part under-optimised." The toy
# model (budget T = 4, attempts of L tokens) is trained by exact gradient ascent from the same initial policy with the
# surrogate alone, with the KL in the reward (Theorem 3.2's placement), with verl's k3 loss, and by SFT with and
# without reflective demonstrations. SFT on a demonstration without reflection (a correct attempt of L tokens, then
# STOP) has this gradient for every L, by the chain rule; the RESAMPLE-when-wrong logit gets none:

# %%
from dsproof.display import show_claim, show_expr
from theory import feedback as feedback_theory
from theory import grpo as grpo_theory
from theory.closed_form import L
from theory.sft import correct_demonstration_gradient

show_expr(r"\nabla_{(\theta_s, \theta_{dC}, \theta_{dW})} \log P(\mathrm{demo})", correct_demonstration_gradient(L))

# %% [markdown]
# The map over initial policies, lengths and KL weights, with the surrogate as control:

# %%
show_claim("abstract-length-weighting");

# %% [markdown]
# <a id="grpo-groups"></a>
# ## Finite-group GRPO advantages
#
# A group of $G$ i.i.d. trajectories with binary rewards; $A_i = (r_i - \bar r)/s$ with the unbiased group std
# (verl), the population std, or no std (Dr. GRPO). Given $r_1$ the other successes are
# $\mathrm{Bin}(G-1, \mathrm{acc})$, so $c(r) = E[A_1 \mid r_1 = r]$ is a finite sum and the expected update is
# $\kappa(G, \mathrm{acc})\, \nabla J$ with $\kappa = c(1) - c(0)$: the surrogate's direction and stage split.
# $\kappa$ for $G = 4$, unbiased std, and its limit as acc $\to 0$ for every $G$:

# %%
show_expr(r"\kappa(4, \mathrm{acc})", grpo_theory.kappa(4, "unbiased"), simplify=True)
show_expr(r"\lim_{\mathrm{acc}\to 0}\kappa(G, \mathrm{acc})", grpo_theory.kappa_at_zero_accuracy(grpo_theory.G_sym, "unbiased"))
show_expr(r"P(\text{no gradient})", grpo_theory.zero_gradient_probability(8))

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
show_expr(r"q^*", feedback_theory.rft_fixed_point(2, 2)["q"], simplify=True)
show_expr(r"p_{dC}^*", feedback_theory.rft_fixed_point(2, 2)["p_dC"], simplify=True)
show_expr(r"p_{dW}^*", feedback_theory.rft_fixed_point(2, 2)["p_dW"], simplify=True)

# %%
show_claim("sec5-feedback");
