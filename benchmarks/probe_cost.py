"""Probe cost / cost of one plain training step (forward + backward of the same objective), same model and
batch, measured in one run.  Prints the ratio; asserts nothing.  Target <= 1.8x on GPU at >= 0.5B params.
Also printed: the ratio against a leaner step (LM head at response positions only, as verl computes it), and the
probe through full-vocabulary logits at every position (the generic path, used for other architectures).

``--flops`` adds the matmul FLOPs of each (torch.utils.flop_counter, forward + backward, one untimed run each):
a hardware-independent count.  It covers matrix products and attention only; elementwise work (the
log-softmax over the vocabulary, norms, activations) is not counted, and it is memory-bound on a GPU.

    python benchmarks/probe_cost.py --arch qwen2 --size 0.5b --device cuda --dtype bf16
    python benchmarks/probe_cost.py --size 0.5b --device cpu --reps 1 --flops
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from numerics import objectives
from numerics.models import build_model, self_correction_batch, with_logps
from numerics.attribution import stage_split
from numerics.probe import attribute, stage_logprobs, token_logprobs

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp64": torch.float64}


def _sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, reps):
    out = []
    for _ in range(reps):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def flops(fn) -> int:
    """Matmul/attention FLOPs of one call of fn (forward and backward)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="qwen2")
    p.add_argument("--size", default="tiny")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", default="fp32", choices=list(DTYPES))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--attempt", type=int, default=128)
    p.add_argument("--reps", type=int, default=5, help="timed runs (median); 0: no timing")
    p.add_argument("--flops", action="store_true", help="also count the matmul FLOPs of each (one extra run each)")
    p.add_argument("--override", nargs="*", default=[], metavar="KEY=INT",
                   help="config fields to replace, e.g. num_hidden_layers=4 hidden_size=256 (a CPU-sized model)")
    a = p.parse_args(argv)
    dtype = DTYPES[a.dtype]
    overrides = {k: int(v) for k, v in (o.split("=", 1) for o in a.override)}
    model = build_model(a.arch, a.size, dtype=dtype, device=a.device, overrides=overrides)
    batch = with_logps(model, self_correction_batch(model.config.vocab_size, B=a.batch, attempt=a.attempt,
                                                     device=a.device, dtype=torch.float32))
    n_params = sum(p.numel() for p in model.parameters())
    n_tok = int(batch.attention_mask.sum())
    print(f"{a.arch} {a.size} {overrides or ''} {a.dtype} on {a.device}: {n_params / 1e6:.1f}M params, {n_tok} tokens")
    for obj in (objectives.surrogate(loss_agg_mode="token-mean"), objectives.kl("k3", "loss")):
        def step():
            model.zero_grad(set_to_none=True)
            obj(token_logprobs(model, batch), batch.token_batch()).backward()

        def step_lean():  # the same step with the LM head applied at response positions only (as verl slices)
            model.zero_grad(set_to_none=True)
            parts = stage_logprobs(model, batch)
            obj(parts["sampling"] + parts["decision"], batch.token_batch()).backward()

        def probe():
            attribute(model, batch, obj)

        def probe_full_logits():  # the generic path: full-vocabulary logits, both VJPs through the whole head
            stage_split(token_logprobs(model, batch), obj, batch.token_batch(),
                        [p for p in model.parameters() if p.requires_grad])

        if a.reps > 0:
            step(), step_lean(), probe(), probe_full_logits()  # warm-up
            ts, tp = timed(step, a.device, a.reps), timed(probe, a.device, a.reps)
            tl, tf = timed(step_lean, a.device, a.reps), timed(probe_full_logits, a.device, a.reps)
            mem = ""
            if a.device == "cuda":
                torch.cuda.reset_peak_memory_stats()
                probe()
                mem = f", probe peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"
            print(f"  {obj.name:10s} train step {ts * 1e3:8.1f} ms, probe {tp * 1e3:8.1f} ms, ratio {tp / ts:.2f}x; "
                  f"vs a step with the head at response positions only ({tl * 1e3:.1f} ms) {tp / tl:.2f}x; "
                  f"probe through full logits {tf * 1e3:.1f} ms, {tf / ts:.2f}x{mem}")
        if a.flops:
            fs, fp, fl, ff = (flops(f) for f in (step, probe, step_lean, probe_full_logits))
            print(f"  {obj.name:10s} matmul FLOPs: train step {fs / 1e12:.3f} T, probe {fp / 1e12:.3f} T, ratio "
                  f"{fp / fs:.2f}x; vs the lean step ({fl / 1e12:.3f} T) {fp / fl:.2f}x; probe through full logits "
                  f"{ff / 1e12:.3f} T, {ff / fs:.2f}x")


if __name__ == "__main__":
    main()
