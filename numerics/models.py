"""Hugging Face architectures with random weights (no download), and a generated self-correction batch."""

from __future__ import annotations

import torch

from .probe import LMBatch

#: architecture -> (config class name, tiny kwargs, ~0.5B kwargs)
ARCHS = {
    "gpt2": ("GPT2Config", dict(n_layer=2, n_embd=32, n_head=2, vocab_size=64, n_positions=128, bos_token_id=0, eos_token_id=1),
             dict(n_layer=24, n_embd=1024, n_head=16, vocab_size=50257, n_positions=1024)),
    "llama": ("LlamaConfig", dict(num_hidden_layers=2, hidden_size=32, num_attention_heads=2, num_key_value_heads=1,
                                  intermediate_size=64, vocab_size=64, max_position_embeddings=128),
              dict(num_hidden_layers=16, hidden_size=1536, num_attention_heads=12, num_key_value_heads=4,
                   intermediate_size=4096, vocab_size=32000, max_position_embeddings=2048)),
    "qwen2": ("Qwen2Config", dict(num_hidden_layers=2, hidden_size=32, num_attention_heads=2, num_key_value_heads=1,
                                  intermediate_size=64, vocab_size=64, max_position_embeddings=128),
              # the Qwen2.5-0.5B shape
              dict(num_hidden_layers=24, hidden_size=896, num_attention_heads=14, num_key_value_heads=2,
                   intermediate_size=4864, vocab_size=151936, max_position_embeddings=4096, tie_word_embeddings=True)),
}
SIZES = ("tiny", "0.5b")


def build_model(arch: str, size: str = "tiny", dtype=torch.float64, device="cpu", seed: int = 0, checkpoint=None,
                overrides: dict | None = None):
    """A causal LM of the named architecture with random weights (or loaded from a local checkpoint path);
    ``overrides`` replaces config fields of the named size (e.g. fewer layers for a CPU benchmark)."""
    import transformers

    if checkpoint is not None:
        return transformers.AutoModelForCausalLM.from_pretrained(checkpoint, dtype=dtype, local_files_only=True).to(device)
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {tuple(ARCHS)}")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {SIZES}")
    cls, tiny, big = ARCHS[arch]
    cfg = getattr(transformers, cls)(**{**(tiny if size == "tiny" else big), **(overrides or {})})
    cfg._attn_implementation = "sdpa"  # eager attention of Llama/Qwen2 runs its softmax in float32
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=dtype).to(device)
    if dtype == torch.float64:
        keep_rmsnorm_dtype(model)
    return model.eval()  # no dropout: the probe is a deterministic function of the weights


def random_like(model, seed: int = 0):
    """A randomly initialised model of ``model``'s config, dtype and device, in eval mode: the chance baseline for
    a checkpoint's attribution ratio (``dsproof probe --checkpoint PATH --baseline``)."""
    import transformers

    p = next(model.parameters())
    torch.manual_seed(seed)
    fresh = transformers.AutoModelForCausalLM.from_config(model.config, dtype=p.dtype).to(p.device)
    if p.dtype == torch.float64:
        keep_rmsnorm_dtype(fresh)
    return fresh.eval()


def _rmsnorm_in_input_dtype(self, x):
    var = x.pow(2).mean(-1, keepdim=True)
    return self.weight * (x * torch.rsqrt(var + self.variance_epsilon))


def keep_rmsnorm_dtype(model) -> int:
    """HF Llama/Qwen2 RMSNorm computes in float32 whatever the model dtype (by design, for fp16/bf16).  A
    float64 check needs float64 throughout, so its forward is replaced by the same formula in the input
    dtype.  Returns the number of modules patched."""
    import types

    n = 0
    for mod in model.modules():
        if type(mod).__name__.endswith("RMSNorm") and hasattr(mod, "variance_epsilon"):
            mod.forward = types.MethodType(_rmsnorm_in_input_dtype, mod)
            n += 1
    return n


def self_correction_batch(vocab: int, B: int = 4, prompt: int = 6, attempt: int = 10, n_attempts=(1, 2, 2, 3),
                          device="cpu", dtype=torch.float64, seed: int = 0) -> LMBatch:
    """Random-token trajectories laid out as prompt, then attempts each followed by a one-token decision
    (RESAMPLE = vocab-1 after all but the last, STOP = vocab-2 after the last); right-padded.  Advantages
    are +/-1 alternating; old_logp / ref_logp are left for the caller (see :func:`with_logps`)."""
    g = torch.Generator().manual_seed(seed)
    rows, stages = [], []
    for i in range(B):
        k = n_attempts[i % len(n_attempts)]
        ids = torch.randint(0, vocab - 2, (prompt,), generator=g).tolist()
        st = [0] * prompt
        for a in range(k):
            ids += torch.randint(0, vocab - 2, (attempt,), generator=g).tolist()
            st += [1] * attempt
            ids.append(vocab - 1 if a < k - 1 else vocab - 2)
            st.append(2)
        rows.append(ids)
        stages.append(st)
    n = max(map(len, rows))
    ids = torch.tensor([r + [0] * (n - len(r)) for r in rows], device=device)
    stage = torch.tensor([s + [0] * (n - len(s)) for s in stages], device=device)
    mask = torch.tensor([[1] * len(r) + [0] * (n - len(r)) for r in rows], device=device)
    adv = torch.tensor([1.0 if i % 2 == 0 else -1.0 for i in range(B)], device=device, dtype=dtype)
    return LMBatch(ids, mask, stage, advantages=adv)


@torch.no_grad()
def with_logps(model, batch: LMBatch, ref_shift: float = 0.05, seed: int = 0) -> LMBatch:
    """Fill old_logp (the current model: on-policy) and ref_logp (old_logp perturbed by a fixed small noise)."""
    from .probe import token_logprobs

    lp = token_logprobs(model, batch).detach()
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(lp.shape, generator=g).to(lp) * ref_shift
    batch.old_logp, batch.ref_logp = lp, lp + noise
    return batch
