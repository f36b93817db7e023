"""§4 at small scale: SFT vs RL on self-correcting multiplication, trained from scratch.

Pipeline (one seed, every phase on the same model family, a Llama-architecture decoder from ``transformers``):

1. **base**: next-token training on ``prompt attempt`` (correct attempts only, no decision tokens);
2. **sft**: from base, demonstrations ``prompt correct STOP`` (no reflection);
3. **sft-reflect**: from base, demonstrations of which ``reflect_frac`` are ``prompt wrong RESAMPLE correct STOP``,
   the wrong first attempts from ``wrong_source``: by default the base model's own errors (synthetic ones,
   numerics.multiply.wrong_attempt, when it makes none), or synthetic errors in the work or in the answer digits
   (presets.WRONG_SOURCES);
4. **rl**: from sft-reflect, GRPO with a verifiable reward (final attempt correct), group-normalised advantages,
   the token-level clipped surrogate of ``numerics.objectives`` plus a KL loss to the sft-reflect reference
   (``kl_type``: verl's ``low_var_kl`` (k3, clamped) as in the paper, ``kl`` (k1), ``mse`` (k2) or ``none``).

Measured for every model and digit count n (in- and out-of-distribution): accuracy, p_s (first attempt correct),
p_dC = P(STOP | attempt correct), p_dW = P(RESAMPLE | attempt wrong), the §4.2 prediction (finite budget T and
unlimited retries) vs the observed accuracy, bootstrap CIs over prompts; and the per-stage gradient attribution
(numerics.probe.attribute) during SFT-reflect and RL.

Attempts are answer digits only (``attempt_format="answer"``, the control) or a chain of thought (``"cot"``:
partial products and carries before the answer digits, so a wrong attempt shows its error; numerics.multiply).

One module per concern: presets, generation (the policy and its episodes), demonstrations (base and SFT data),
sft and grpo (the training loops), attribution (the per-stage gradient probe during training), metrics,
evaluation, bootstrap, gain_decomposition, pipeline (one run and its table).  The public names are importable
from ``numerics.reproduce``.
"""

from __future__ import annotations

from .attribution import attribution_record
from .bootstrap import bootstrap_ci, diff_level, paired_difference
from .demonstrations import WRONG_POOL_PER_N, answers_batch, demo_batch, lm_batch, wrong_attempts
from .evaluation import evaluate
from .gain_decomposition import PLAYERS, RETRY_PLAYERS, SAMPLING_PLAYERS, gain_decomposition
from .generation import build, decode_steps, generate, sample_prompts, to_device
from .grpo import KL_TYPES, grpo_advantages, rl_objectives, train_rl
from .metrics import METRIC_KEYS, STAT_COLUMNS, episode_stats, metric_array, metrics, retry_accuracy
from .pipeline import RunResult, fingerprint, results_table, run
from .presets import PRESETS, WRONG_SOURCES, Preset
from .sft import train_supervised

__all__ = ["KL_TYPES", "METRIC_KEYS", "PLAYERS", "PRESETS", "RETRY_PLAYERS", "SAMPLING_PLAYERS", "STAT_COLUMNS",
           "WRONG_POOL_PER_N", "WRONG_SOURCES", "Preset", "RunResult", "answers_batch", "attribution_record",
           "bootstrap_ci", "build", "decode_steps", "demo_batch", "diff_level", "episode_stats", "evaluate",
           "fingerprint", "gain_decomposition", "generate", "grpo_advantages", "lm_batch", "metric_array", "metrics",
           "paired_difference", "results_table", "retry_accuracy", "rl_objectives", "run", "sample_prompts",
           "to_device", "train_rl", "train_supervised", "wrong_attempts"]
