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
from theory import calibration as calibration_theory
show_expr(r"\mathrm{acc}_\infty", calibration_theory.predicted_accuracy())

# %% [markdown]
# With a budget of T attempts (the toy model's backward recursion; the last attempt is kept), and sympy's limit
# of it as $T\to\infty$:

# %%
show_expr(r"\mathrm{acc}_T", calibration_theory.predicted_accuracy_budget())
show_expr(r"\lim_{T\to\infty} \mathrm{acc}_T", calibration_theory.budget_limit())

# %% [markdown]
# The exact gap: its sign is that of $1 - p_{dC} - p_{dW}$, so the unlimited formula over-predicts a finite budget
# exactly when the decision is informative ($p_{dC} + p_{dW} > 1$), and the gap shrinks like $b^{T-1}$:

# %%
show_expr(r"\mathrm{acc}_T - \mathrm{acc}_\infty", calibration_theory.budget_gap())
calibration_theory.prediction_bias()

# %% [markdown]
# The formula's one accuracy $p_s$ for every attempt is an assumption. When the attempts after the first have
# their own accuracy $p_r$ (in the §4 reproduction they do: compare `p_s` and `p_retry` in notebook 07), the
# budget-T accuracy is $p_s(p_{dC} + (1-p_{dC})F) + (1-p_s)p_{dW}F$ with $F$ the budget formula for $T-1$
# attempts at accuracy $p_r$; at $p_r = p_s$ it is $\mathrm{acc}_T$ again. For $T = 3$:

# %%
show_expr(r"\mathrm{acc}_3(p_s, p_r)", calibration_theory.predicted_accuracy_retry(3))
show_expr(r"\mathrm{acc}_3(p_s, p_s) - \mathrm{acc}_3", calibration_theory.predicted_accuracy_retry(3, calibration_theory.p_s, calibration_theory.p_s)
          - calibration_theory.predicted_accuracy_budget(3), simplify=True)

# %%
calibration();

# %%
show_claim("calibration-4.2");

# %% [markdown]
# <a id="lemma-3.2"></a>
# ## Lemma 3.2's per-stage Q / V form, and the Markov state §4.2 needs
#
# The per-stage policy-gradient theorem by backward induction over (attempt index, correctness); then a decision
# whose $p_{dW}$ depends on the attempt index, against the §4.2 formula fed a constant $p_{dW}$.

# %%
show_claim("lemma-3.2");
