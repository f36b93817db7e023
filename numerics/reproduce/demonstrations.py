"""The training data of §4's supervised phases: the base model's ``prompt attempt`` pretraining, and the SFT
demonstrations with or without a reflection (a wrong first attempt, RESAMPLE, the correct one); the wrong first
attempts come from the preset's ``wrong_source`` (presets.WRONG_SOURCES; by default the base model's own errors)."""

from __future__ import annotations

from .. import multiply
from ..objectives import PROMPT
from ..probe import LMBatch
from .generation import generate, to_device
from .presets import Preset

WRONG_POOL_PER_N = 256  # prompts per digit count whose wrong first attempts seed the reflection demos


def answers_batch(preset: Preset, rng, count: int) -> multiply.Episodes:
    """Base pretraining data: ``prompt attempt`` with the correct attempt in the preset's format (no decision
    token)."""
    prompts, prods, atts, ns = [], [], [], []
    for _ in range(count):
        n = int(rng.choice(preset.id_digits))
        (x,), (y,) = multiply.sample_operands(preset.a, n, 1, rng)
        prompts.append(multiply.encode_prompt(int(x), int(y), preset.a, n))
        prods.append(int(x * y))
        atts.append([multiply.encode_attempt(int(x), int(y), preset.a, n, preset.attempt_format)])
        ns.append(n)
    return to_device(multiply.build_episodes(prompts, atts, [[] for _ in prompts], prods, ns), preset.device)


def demo_batch(preset: Preset, rng, count: int, reflect_frac: float, wrong_pool: dict | None) -> multiply.Episodes:
    """SFT demonstrations: ``prompt correct STOP``, or with probability ``reflect_frac``
    ``prompt wrong RESAMPLE correct STOP``, the wrong first attempt from ``preset.wrong_source``: ``own``, from
    ``wrong_pool[n]`` (the base model's own errors; a synthetic one, numerics.multiply.wrong_attempt, where the pool
    has none); ``work-error``, numerics.multiply.wrong_attempt in the chain of thought (a wrong partial product carried
    through); ``answer-error``, numerics.multiply.wrong_answer_attempt (wrong answer digits, correct work).  With
    ``preset.wrong_attempt_loss == "masked"`` the wrong attempt's tokens are labelled stage 0 (context, as the
    prompt): the SFT loss (mask: stage > 0) then trains RESAMPLE, the correct attempt and STOP, not the error."""
    prompts, prods, atts, decs, ns = [], [], [], [], []
    for _ in range(count):
        n = int(rng.choice(preset.id_digits))
        if rng.random() < reflect_frac:
            pool = ((wrong_pool or {}).get(n) or []) if preset.wrong_source == "own" else []
            if pool:
                x, y, wrong = pool[int(rng.integers(len(pool)))]
            else:
                (x,), (y,) = multiply.sample_operands(preset.a, n, 1, rng)
                synthetic = multiply.wrong_answer_attempt if preset.wrong_source == "answer-error" else \
                    multiply.wrong_attempt
                wrong = synthetic(int(x), int(y), preset.a, n, rng, preset.attempt_format)
            v = int(x * y)
            atts.append([list(wrong), multiply.encode_attempt(int(x), int(y), preset.a, n, preset.attempt_format)])
            decs.append([multiply.RESAMPLE, multiply.STOP] if preset.T > 2 else [multiply.RESAMPLE])
        else:
            (x,), (y,) = multiply.sample_operands(preset.a, n, 1, rng)
            v = int(x * y)
            atts.append([multiply.encode_attempt(int(x), int(y), preset.a, n, preset.attempt_format)])
            decs.append([multiply.STOP])
        prompts.append(multiply.encode_prompt(int(x), int(y), preset.a, n))
        prods.append(v)
        ns.append(n)
    episodes = multiply.build_episodes(prompts, atts, decs, prods, ns)
    if preset.wrong_attempt_loss == "masked":
        for i, (prompt, attempts) in enumerate(zip(prompts, atts)):
            if len(attempts) > 1:  # a reflection: its first attempt is the wrong one
                episodes.stage[i, len(prompt):len(prompt) + len(attempts[0])] = PROMPT
    return to_device(episodes, preset.device)


def wrong_attempts(model, preset: Preset, rng, generator, per_n: int = WRONG_POOL_PER_N) -> dict[int, list]:
    """The base model's own wrong first attempts, per digit count: (x, y, the attempt's tokens)."""
    pool = {}
    for n in preset.id_digits:
        x, y = multiply.sample_operands(preset.a, n, per_n, rng)
        prompts = [multiply.encode_prompt(int(i), int(j), preset.a, n) for i, j in zip(x, y)]
        ep = generate(model, prompts, [int(i * j) for i, j in zip(x, y)], n, preset, generator)
        L, P = multiply.attempt_len(preset.a, n, preset.attempt_format), multiply.prompt_len(preset.a, n)
        firsts = ep.input_ids[:, P:P + L].tolist()
        pool[n] = [(int(i), int(j), f) for i, j, f, c in zip(x, y, firsts, ep.correct) if not c[0]]
    return pool


def lm_batch(episodes: multiply.Episodes, **extra) -> LMBatch:
    """The episodes as a numerics.probe.LMBatch (tokens, mask, stage), with ``extra`` fields (advantages, ...)."""
    return LMBatch(episodes.input_ids, episodes.attention_mask, episodes.stage, **extra)
