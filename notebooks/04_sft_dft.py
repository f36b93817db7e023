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
# <a id="appD-sft-dft"></a>
# # 4. SFT and DFT — Appendix D
#
# D.1: the SFT gradient is a policy gradient with implicit reward $1/\pi$. D.3: DFT (SFT times
# $\mathrm{sg}(\pi)$) is a policy gradient with unit reward. Residuals for a softmax over V = 3 tokens
# (0 means the identity holds for every logit):

# %%
from dsproof.display import show_claim, show_expr, show_terms
import sympy as sp

from theory import sft as sft_theory
# %%
show_terms(sft_theory.implicit_reward_identities(3))

# %% [markdown]
# D.2 / D.4: the decision tokens' share of the summed credit when every token's gradient has the same size;
# a reflection demonstration has $2L$ sampling tokens and 2 decision tokens.

# %%
L = sp.Symbol("L", positive=True)
show_expr(r"\mathrm{share}_d", sft_theory.stage_share(2 * L, 2))

# %%
show_claim("appD-sft-dft");
