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
# A Llama-architecture decoder trained from scratch (`numerics/reproduce.py`): base (answers only) → SFT
# (no reflection) and SFT with reflection (the base model's own wrong attempts, RESAMPLE, the correction) → RL
# (GRPO from SFT-reflect, token-level clipped surrogate + `low_var_kl` loss, all from `numerics/objectives.py`).
# Measured per digit count: accuracy, $p_s$, $p_{dC}$, $p_{dW}$ and the §4.2 prediction with bootstrap CIs;
# the per-stage gradient attribution during SFT-reflect and RL. Results are read from `reports/reproduce/`
# (the most informative preset that has been run: h100 > cpu > smoke); this notebook does not train.

# %%
from dsproof.display import show_claim, show_expr, show_reproduction
from numerics.reproduce import PRESETS
from theory.calibration import predicted_accuracy_budget

{name: p.description for name, p in PRESETS.items()}

# %%
show_reproduction()

# %% [markdown]
# The prediction in the table is theory/'s finite-budget form of the §4.2 formula (the last of T attempts is
# kept), evaluated at the measured $(p_s, p_{dC}, p_{dW})$; it assumes every attempt has accuracy $p_s$, which
# the column $p_{retry}$ (accuracy of attempts after the first) tests:

# %%
show_expr(r"\mathrm{acc}_T", predicted_accuracy_budget())

# %% [markdown]
# The ledger's verdict on the paper's empirical claim, with the §4.2 gain decomposition (Shapley split of the
# predicted SFT-reflect → RL accuracy change into the $p_s$ part and the decision part):

# %%
show_claim("sec4-empirical");
