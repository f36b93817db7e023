"""What a `dsproof reproduce` preset costs, counted on the CPU: the matmul FLOPs of every phase and the number of
sequential model calls, from one (scaled-down) call of each of numerics.reproduce's own functions.  Prints
counts and the time they imply at stated rates; it is an estimate, not a measurement.

    python benchmarks/preset_cost.py --preset h100 --tflops 50 --call-ms 4

Counting (torch.utils.flop_counter: matrix products and attention, forward and backward; elementwise work is not
counted):
* base / sft / sft-reflect: one optimiser step on a batch of ``--batch`` examples, scaled to the preset's batch
  and multiplied by its step count;
* the attribution probe: one call on the 32-demonstration batch of SFT-reflect, and one on an RL batch of the
  longest in-distribution layout (scaled), times the number of probe calls;
* rl: one GRPO step per in-distribution digit count with ``--rl-prompts`` prompts (generation with the key/value
  cache, old/ref log-probs, the update), scaled to the preset's prompts and averaged over the digit counts;
* evaluation and the base model's wrong-attempt pool: generation of ``--eval-prompts`` prompts per digit count,
  scaled.
FLOPs scale linearly with the number of sequences (every sequence of one digit count has the same layout), so
the scaling is exact up to the padding of mixed-n training batches.

The implied times are of different kinds: FLOPs / sustained rate (compute-bound), sequential calls x per-call
latency (launch-bound: a small model on a GPU), and the host's batch building (measured here; a step waits for it,
since each step reads its loss back).  Their sum is a rough estimate that counts nothing twice.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import numpy as np
import torch

from numerics import objectives, reproduce
from numerics.probe import attribute, token_logprobs

try:
    from probe_cost import flops  # run as a script: benchmarks/ is on sys.path
except ImportError:  # imported as benchmarks.preset_cost
    from .probe_cost import flops


def count(preset: reproduce.Preset, batch: int, rl_prompts: int, eval_prompts: int) -> dict[str, dict[str, float]]:
    """phase -> {"flops": total matmul FLOPs of the phase, "calls": sequential model calls of the phase, "host":
    seconds this machine spends building the phase's training batches (supervised phases)}."""
    p = dataclasses.replace(preset, device="cpu", attr_every=10 ** 9)
    rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
    model = reproduce.build(p)
    out = {}

    def supervised(name, steps, make):
        f = flops(lambda: reproduce.train_supervised(model, p, 1, make, name))
        t = time.perf_counter()
        for _ in range(3):
            make(p.batch)
        out[name] = dict(flops=f * p.batch / batch * steps, calls=steps, host=(time.perf_counter() - t) / 3 * steps)

    supervised("base", p.base_steps, lambda size=batch: reproduce.answers_batch(p, rng, size))
    supervised("sft", p.sft_steps, lambda size=batch: reproduce.demo_batch(p, rng, size, 0.0, None))
    supervised("sft-reflect", p.sft_steps, lambda size=batch: reproduce.demo_batch(p, rng, size, p.reflect_frac, None))

    probes = math.ceil(p.sft_steps / preset.attr_every)
    attr_batch = reproduce.lm_batch(reproduce.demo_batch(p, rng, 32, 1.0, None))
    out["probe (sft-reflect)"] = dict(flops=flops(lambda: attribute(model, attr_batch, objectives.sft())) * probes,
                                      calls=2 * probes)

    k = len(p.id_digits)
    probes = math.ceil(p.rl_steps / preset.attr_every)
    n = p.id_digits[-1]  # the longest in-distribution layout: an upper estimate for the RL batches
    prompts, prods = reproduce.sample_prompts(p, n, rl_prompts * p.group, rng)
    ep = reproduce.generate(model, prompts, prods, n, p, gen)
    with torch.no_grad():
        old = token_logprobs(model, reproduce.lm_batch(ep))
    b = reproduce.lm_batch(ep, advantages=torch.ones(len(prompts)), old_logp=old)
    out["probe (rl)"] = dict(flops=flops(lambda: attribute(model, b, reproduce.rl_objectives(p)[0])) * p.rl_prompts
                             / rl_prompts * probes, calls=2 * probes)

    ref = reproduce.build(p).eval()
    cycle = dataclasses.replace(p, rl_steps=k, rl_prompts=rl_prompts)
    f = flops(lambda: reproduce.train_rl(model, ref, cycle, rng, gen))
    decode = sum(reproduce.decode_steps(p, n) for n in p.id_digits) / k
    out["rl"] = dict(flops=f / k * p.rl_prompts / rl_prompts * p.rl_steps, calls=p.rl_steps * (decode + 3))

    few = dataclasses.replace(p, eval_prompts=eval_prompts)
    f = flops(lambda: reproduce.evaluate(model, few, seed=0))
    steps = sum(2 * reproduce.decode_steps(p, n) for n in p.id_digits + p.ood_digits)
    out["eval (4 models)"] = dict(flops=4 * f * p.eval_prompts / eval_prompts, calls=4 * steps)
    f = flops(lambda: reproduce.wrong_attempts(model, p, rng, gen, per_n=eval_prompts))
    out["wrong-attempt pool"] = dict(flops=f * reproduce.WRONG_POOL_PER_N / eval_prompts,
                                     calls=sum(reproduce.decode_steps(p, n) for n in p.id_digits))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="h100", choices=list(reproduce.PRESETS))
    ap.add_argument("--batch", type=int, default=16, help="examples per counted supervised step (scaled up)")
    ap.add_argument("--rl-prompts", type=int, default=2, help="prompts per counted RL step (scaled up)")
    ap.add_argument("--eval-prompts", type=int, default=8, help="prompts per counted evaluation (scaled up)")
    ap.add_argument("--tflops", type=float, nargs="*", default=[25.0, 100.0],
                    help="sustained matmul rates (TFLOP/s) to convert FLOPs to time")
    ap.add_argument("--call-ms", type=float, default=4.0, help="assumed latency of one sequential model call (ms)")
    a = ap.parse_args(argv)
    p = reproduce.PRESETS[a.preset]
    n_params = sum(x.numel() for x in reproduce.build(dataclasses.replace(p, device="cpu")).parameters())
    print(f"preset {p.name}: {p.description}\n  model {n_params / 1e6:.1f}M params; matmul precision "
          f"{p.matmul_precision}; counted on the CPU, scaled to the preset")
    rows = count(p, a.batch, a.rl_prompts, a.eval_prompts)
    total = {k: sum(r.get(k, 0.0) for r in rows.values()) for k in ("flops", "calls", "host")}
    for name, r in list(rows.items()) + [("total", total)]:
        host = f"  {r['host']:6.0f} s host batch building" if "host" in r else ""
        print(f"  {name:20s} {r['flops']:10.3e} FLOP  {r['calls']:7.0f} sequential calls{host}")
    for t in a.tflops:
        compute = total["flops"] / (t * 1e12)
        launch = total["calls"] * a.call_ms / 1e3
        print(f"  at {t:g} TFLOP/s sustained: compute {compute / 60:.1f} min + {total['calls']:.0f} calls x "
              f"{a.call_ms:g} ms = {launch / 60:.1f} min + host {total['host'] / 60:.1f} min = "
              f"{(compute + launch + total['host']) / 60:.1f} min")


if __name__ == "__main__":
    main()
