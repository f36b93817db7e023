"""The §4 reproduction's presets: the task (a x n-digit multiplication, attempt budget T, answer-only or
chain-of-thought attempts), the model size and the step counts of every phase."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


#: where the wrong first attempts of the reflection demonstrations come from (numerics.reproduce.demonstrations):
#: ``own``: the base model's own errors (where it makes none, numerics.multiply.wrong_attempt's synthetic one: an
#: answer error in answer-only attempts, a work error in a chain of thought);
#: ``work-error``: chain of thought only, one digit of one partial product wrong and carried through, so the attempt
#: is wrong where its work is and consistent with it (numerics.multiply.wrong_attempt);
#: ``answer-error``: one or two answer digits wrong, the work (if any) correct, so a chain-of-thought attempt
#: contradicts its own work (numerics.multiply.wrong_answer_attempt)
WRONG_SOURCES = ("own", "work-error", "answer-error")

#: whether SFT trains on the wrong first attempt of a reflection demonstration: ``trained`` (every response token is
#: a target, so the model is also taught to open with a wrong attempt) or ``masked`` (the wrong attempt is context
#: only, as a prompt is: the loss covers RESAMPLE, the correct attempt and STOP)
WRONG_ATTEMPT_LOSSES = ("trained", "masked")


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    a: int  # digits of the first operand
    id_digits: tuple[int, ...]  # n for training and in-distribution evaluation
    ood_digits: tuple[int, ...]
    T: int = 3  # attempt budget
    hidden: int = 64
    layers: int = 2
    heads: int = 2
    base_steps: int = 200
    sft_steps: int = 100
    rl_steps: int = 20
    batch: int = 64
    lr: float = 1e-3
    rl_lr: float = 1e-4
    rl_prompts: int = 8  # prompts per RL step
    group: int = 8  # samples per prompt (G)
    attempt_format: str = "answer"  # numerics.multiply.ATTEMPT_FORMATS: answer digits only, or a chain of thought
    kl_type: str = "low_var_kl"
    kl_coef: float = 0.01
    reflect_frac: float = 0.5  # share of the SFT-reflect demonstrations that carry a reflection
    wrong_source: str = "own"  # WRONG_SOURCES: where the reflection demos' wrong first attempts come from
    wrong_attempt_loss: str = "trained"  # WRONG_ATTEMPT_LOSSES: whether SFT trains on that wrong attempt's tokens
    # SFT-reflect's optimiser steps as a multiple of sft_steps: 1 / (1 - reflect_frac) gives it as many correct
    # first-attempt targets as SFT (each reflecting demonstration takes the place of a plain one)
    reflect_steps_factor: float = 1.0
    eval_prompts: int = 100  # per digit count
    bootstrap: int = 500
    attr_every: int = 10  # attribution probe every k optimiser steps (SFT-reflect and RL)
    seed: int = 0
    device: str = "cpu"
    matmul_precision: str = "highest"  # torch.set_float32_matmul_precision during the run ("high": TF32 on CUDA)

    def __post_init__(self):
        if self.wrong_source not in WRONG_SOURCES:
            raise ValueError(f"wrong_source must be one of {WRONG_SOURCES}, got {self.wrong_source!r}")
        if self.wrong_source == "work-error" and self.attempt_format != "cot":
            raise ValueError("wrong_source 'work-error' needs chain-of-thought attempts (an answer-only attempt has "
                             f"no work), got attempt_format {self.attempt_format!r}")
        if self.wrong_attempt_loss not in WRONG_ATTEMPT_LOSSES:
            raise ValueError(f"wrong_attempt_loss must be one of {WRONG_ATTEMPT_LOSSES}, got {self.wrong_attempt_loss!r}")
        if not (self.reflect_steps_factor >= 1 and math.isfinite(self.reflect_steps_factor)):
            raise ValueError(f"reflect_steps_factor must be a finite number >= 1, got {self.reflect_steps_factor!r}")
        if not 0 <= self.reflect_frac <= 1:
            raise ValueError(f"reflect_frac must lie in [0, 1], got {self.reflect_frac!r}")


PRESETS = {
    "smoke": Preset("smoke", "CPU smoke test: 1 x {1,2}-digit (OOD 3), tiny model, a few steps; checks the pipeline "
                    "runs and its metrics are well-formed, not that RL wins", a=1, id_digits=(1, 2), ood_digits=(3,),
                    T=2, hidden=32, layers=2, heads=2, base_steps=60, sft_steps=30, rl_steps=6, batch=64,
                    rl_prompts=8, group=4, eval_prompts=48, bootstrap=200, attr_every=10),
    "cpu": Preset("cpu", "CPU preset (several seeds on 2 cores): 2 x {1,2}-digit (OOD 3), budget T=3", a=2, id_digits=(1, 2), ood_digits=(3,), T=3, hidden=96,
                  layers=3, heads=4, base_steps=400, sft_steps=80, rl_steps=50, batch=128, lr=2e-3, rl_lr=1e-4,
                  rl_prompts=16, group=8, eval_prompts=200, attr_every=10),
    "h100": Preset("h100", "GPU preset for one H100 (< 10 min): the paper's 3 x n-digit, n in 3..6 (OOD 7..9), "
                   "budget T=3", a=3, id_digits=(3, 4, 5, 6), ood_digits=(7, 8, 9), T=3, hidden=384, layers=6,
                   heads=6, base_steps=6000, sft_steps=1500, rl_steps=200, batch=256, lr=1e-3, rl_lr=2e-5,
                   rl_prompts=32, group=16, eval_prompts=500, attr_every=50, device="cuda", matmul_precision="high"),
}
# the chain-of-thought proxies: the same sizes as their answer-only controls (the smoke check cut further, so that
# its longer episodes stay within a minute in the test suite)
PRESETS.update({f"{name}-cot": dataclasses.replace(
    p, name=f"{name}-cot", attempt_format="cot",
    description=p.description.split(":", 1)[0] + ", chain-of-thought attempts (partial products, carries, answer):"
    + p.description.split(":", 1)[1]) for name, p in list(PRESETS.items())})
PRESETS["smoke-cot"] = dataclasses.replace(PRESETS["smoke-cot"], base_steps=40, sft_steps=20, rl_steps=4,
                                           eval_prompts=24, bootstrap=100)
