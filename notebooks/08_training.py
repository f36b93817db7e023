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
# <a id="abstract-length-weighting"></a>
# # 8. What training does to each stage
#
# ## The abstract's length-weighting claim
#
# "Length weighting makes the regulariser bear on sampling and leaves the decision part under-optimised." The toy
# model (budget T = 4, attempts of L tokens) is trained by exact gradient ascent from the same initial policy with the
# surrogate alone, with the KL in the reward (Theorem 3.2's placement), with verl's k3 loss, and by SFT with and
# without reflective demonstrations. SFT on a demonstration without reflection (a correct attempt of L tokens, then
# STOP) has this gradient for every L, by the chain rule; the RESAMPLE-when-wrong logit gets none:

# %%
from dsproof.display import show_claim, show_expr
from theory.closed_form import L
from theory.sft import correct_demonstration_gradient

show_expr(r"\nabla_{(\theta_s, \theta_{dC}, \theta_{dW})} \log P(\mathrm{demo})", correct_demonstration_gradient(L))

# %% [markdown]
# The map over initial policies, lengths and KL weights, with the surrogate as control:

# %%
show_claim("abstract-length-weighting");
