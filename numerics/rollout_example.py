"""A tiny local checkpoint pair and a rollouts file, built on the spot with no network: the files the tests and
the README example of ``dsproof probe --rollouts`` run on.

    python -m numerics.rollout_example OUT      # writes OUT/sft, OUT/rl (checkpoint folders), OUT/rollouts.jsonl

Each checkpoint folder holds a Qwen2 model with random weights (2 layers, width 32; "rl" is "sft" with its
weights perturbed) and a BPE tokenizer trained with the ``tokenizers`` library on the rollouts' own text, with a
chat template; both written by save_pretrained.  The rollouts are self-correction transcripts holding the
paper's lexical markers ("Let me recompute", "I made a mistake", ...), rewards in GRPO groups of two.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|> {% endif %}")

PROMPTS = ["What is 12 times 13?", "What is 7 times 8?", "What is 25 times 4?", "What is 9 times 11?"]
RESPONSES = [
    "12 times 13 is 146. Let me recompute. 12 times 13 is 156. The answer is 156.",
    "12 times 13 is 156. The answer is 156. I'll go back and check: 12 times 10 is 120 and 12 times 3 is 36.",
    "7 times 8 is 54. I made a mistake, 7 times 8 is 56. The answer is 56.",
    "7 times 8 is 56. Let me check again: 8 plus 8 is 16, 16 times 3 is 48, plus 8 is 56.",
    "25 times 4 is 100. The answer is 100.",
    "25 times 4 is 90. Wait, that's wrong. 25 times 4 is 100. The answer is 100.",
    "9 times 11 is 99. Let me double-check: 9 times 10 is 90, plus 9 is 99. The answer is 99.",
    "9 times 11 is 98. Let me recompute: 9 times 10 is 90, plus 9 is 99. The answer is 99.",
]
REWARDS = [1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0]


def rollout_rows() -> list[dict]:
    """The rollouts, as dicts (one JSONL line each): two responses per prompt, a GRPO group per prompt."""
    return [dict(prompt=PROMPTS[i // 2], response=RESPONSES[i], reward=REWARDS[i], group=i // 2)
            for i in range(len(RESPONSES))]


def write_rollouts(path: Path, rows: list[dict] | None = None) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in (rollout_rows() if rows is None else rows)))
    return path


def train_tokenizer(texts: list[str]):
    """A byte-level BPE tokenizer (the Qwen2 kind: AutoTokenizer loads a Qwen2 checkpoint's tokenizer.json
    through Qwen2Tokenizer, which rebuilds the byte-level pipeline from the vocabulary and merges) trained on
    ``texts``, wrapped as a transformers fast tokenizer with the chat template."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    specials = ["<pad>", "<|user|>", "<|assistant|>", "<|end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", *specials],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                                additional_special_tokens=specials[1:])
    fast.chat_template = CHAT_TEMPLATE
    return fast


def save_checkpoint(folder: Path, tokenizer, seed: int = 0, perturb: float = 0.0, max_positions: int = 128):
    """A tiny Qwen2 with random weights (seed 0), optionally perturbed by ``perturb`` * N(0, 1) (seed ``seed``),
    saved with its tokenizer."""
    import transformers

    cfg = transformers.Qwen2Config(num_hidden_layers=2, hidden_size=32, num_attention_heads=2, num_key_value_heads=1,
                                   intermediate_size=64, vocab_size=len(tokenizer),
                                   max_position_embeddings=max_positions, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    if perturb:
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(perturb * torch.randn(p.shape, generator=g))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build(out: Path) -> dict[str, Path]:
    """Write OUT/sft, OUT/rl and OUT/rollouts.jsonl; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(PROMPTS + RESPONSES)
    return {"sft": save_checkpoint(out / "sft", tok), "rl": save_checkpoint(out / "rl", tok, seed=1, perturb=0.05),
            "rollouts": write_rollouts(out / "rollouts.jsonl")}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m numerics.rollout_example OUT")
    for name, path in build(Path(sys.argv[1])).items():
        print(f"{name}: {path}")
