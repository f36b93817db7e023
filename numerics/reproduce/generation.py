"""The policy and its episodes: a fresh format-constrained decoder, prompts, and sampling one episode per prompt
(attempts and decisions, §4's trajectory format of numerics.multiply)."""

from __future__ import annotations

import torch

from .. import multiply
from .presets import Preset


def build(preset: Preset, seed: int | None = None):
    """A fresh format-constrained Llama-architecture decoder for the task (random init)."""
    import transformers

    cfg = transformers.LlamaConfig(vocab_size=multiply.VOCAB, hidden_size=preset.hidden,
                                   num_hidden_layers=preset.layers, num_attention_heads=preset.heads,
                                   num_key_value_heads=preset.heads, intermediate_size=4 * preset.hidden,
                                   max_position_embeddings=256, bos_token_id=multiply.BOS,
                                   eos_token_id=multiply.STOP, pad_token_id=multiply.PAD)
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(preset.seed if seed is None else seed)
    model = transformers.LlamaForCausalLM(cfg).to(preset.device)
    return multiply.FormatConstrained(model, preset.attempt_format)


def sample_prompts(preset: Preset, n: int, count: int, rng) -> tuple[list[list[int]], list[int]]:
    """``count`` encoded prompts of digit count n and their products."""
    x, y = multiply.sample_operands(preset.a, n, count, rng)
    return ([multiply.encode_prompt(int(i), int(j), preset.a, n) for i, j in zip(x, y)],
            [int(i * j) for i, j in zip(x, y)])


def decode_steps(preset: Preset, n: int) -> int:
    """Tokens generate() samples per episode of digit count n: T attempts and T - 1 decisions."""
    return preset.T * (multiply.attempt_len(preset.a, n, preset.attempt_format) + 1) - 1


def to_device(episodes: multiply.Episodes, device) -> multiply.Episodes:
    """The episodes with their tensors moved to ``device`` (in place)."""
    episodes.input_ids, episodes.attention_mask, episodes.stage = (
        t.to(device) for t in (episodes.input_ids, episodes.attention_mask, episodes.stage))
    return episodes


@torch.no_grad()
def generate(model, prompts: list[list[int]], products: list[int], n: int, preset: Preset,
             generator: torch.Generator) -> multiply.Episodes:
    """Sample one episode per prompt from the (format-constrained) policy at temperature 1, decoding with a
    key/value cache; all prompts have the same digit count n, so they share one layout (no padding)."""
    L = multiply.attempt_len(preset.a, n, preset.attempt_format)
    ids = torch.tensor(prompts, dtype=torch.long, device=preset.device)
    B = ids.shape[0]
    was_training = model.training
    model.eval()
    cache = None
    for _ in range(decode_steps(preset, n)):
        logits, cache = model.next_logits(ids, cache)
        nxt = torch.multinomial(torch.softmax(logits.float(), -1), 1, generator=generator)
        ids = torch.cat([ids, nxt], 1)
    model.train(was_training)
    resp = ids[:, len(prompts[0]):].tolist()
    attempts, decisions = [], []
    for r in resp:
        atts, decs = [], []
        for k in range(preset.T):
            atts.append(r[k * (L + 1): k * (L + 1) + L])
            if k < preset.T - 1:
                decs.append(r[k * (L + 1) + L])
                if decs[-1] == multiply.STOP:
                    break
        attempts.append(atts)
        decisions.append(decs)
    episodes = multiply.build_episodes(prompts, attempts, decisions, products, [n] * B)
    return to_device(episodes, preset.device)
