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
# <a id="sec4-empirical"></a>
# # 7. §4 at small scale: SFT vs RL on self-correcting multiplication
#
# A Llama-architecture decoder trained from scratch (`numerics/reproduce/`): base (answers only) → SFT
# (no reflection) and SFT with reflection (the base model's own wrong attempts, RESAMPLE, the correction) → RL
# (GRPO from SFT-reflect, token-level clipped surrogate + `low_var_kl` loss, all from `numerics/objectives.py`).
# Measured per digit count: accuracy, $p_s$, $p_{dC}$, $p_{dW}$, $p_{retry}$, pass@T and the predictions with
# bootstrap CIs; the per-stage gradient attribution during SFT-reflect and RL. Results are read from `reports/reproduce/`
# (the most informative preset that has been run: h100 > cpu > smoke); this notebook does not train.

# %%
from dsproof.display import show_claim, show_expr, show_reproduction
from numerics.reproduce import PRESETS
from theory.calibration import predicted_accuracy_budget, predicted_accuracy_retry

{name: p.description for name, p in PRESETS.items()}

# %%
show_reproduction()

# %% [markdown]
# The column "predicted (T)" is theory/'s finite-budget form of the §4.2 formula (the last of T attempts is
# kept), evaluated at the measured $(p_s, p_{dC}, p_{dW})$; it assumes every attempt has accuracy $p_s$, which
# the column $p_{retry}$ (accuracy of attempts after the first) tests:

# %%
show_expr(r"\mathrm{acc}_T", predicted_accuracy_budget())

# %% [markdown]
# "predicted (T, p_retry)" drops that assumption (notebook 06): the attempts after the first have accuracy
# $p_{retry}$. The calibration figure shows both against the observed accuracy (filled: §4.2, open: with
# $p_{retry}$). For $T = 3$:

# %%
show_expr(r"\mathrm{acc}_3(p_s, p_r)", predicted_accuracy_retry(3))

# %% [markdown]
# The ledger's verdict on the paper's empirical claim, with the gain decomposition: the Shapley split of the
# predicted SFT-reflect → RL accuracy change over $(p_s, p_{retry}, p_{dC}, p_{dW})$ into a sampling part
# ($p_s + p_{retry}$) and a decision part ($p_{dC} + p_{dW}$), and the §4.2 three-way split beside it:

# %%
show_claim("sec4-empirical");
