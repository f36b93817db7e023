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
# <a id="calibration-4.2"></a>
# # 6. The §4.2 calibration formula
#
# Accuracy with unlimited retries, independent attempts of accuracy $p_s$, STOP-when-correct $p_{dC}$ and
# RESAMPLE-when-wrong $p_{dW}$:

# %%
from dsproof.display import show_claim, show_expr
from dsproof.figures import calibration
from theory import calibration as C_

show_expr(r"\mathrm{acc}_\infty", C_.predicted_accuracy())

# %% [markdown]
# With a budget of T attempts (the toy model's backward recursion; the last attempt is kept), and sympy's limit
# of it as $T\to\infty$:

# %%
show_expr(r"\mathrm{acc}_T", C_.predicted_accuracy_budget())
show_expr(r"\lim_{T\to\infty} \mathrm{acc}_T", C_.budget_limit())

# %%
calibration();

# %%
show_claim("calibration-4.2");
