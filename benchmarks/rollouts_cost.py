"""`dsproof probe --rollouts` cost as the file grows: rollouts per second and peak memory, one objective, fixed
micro-batch.  Each file size runs in its own process (peak RSS is per process; on CUDA the peak allocated
memory is read from torch).  Prints a table; asserts nothing.  Memory should stay flat in the number of
rollouts: one micro-batch of activations plus two parameter-sized stage accumulators (the token ids of the whole
file are held too: a few bytes per token).

    python benchmarks/rollouts_cost.py                                   # the tiny example checkpoint, CPU
    python benchmarks/rollouts_cost.py --checkpoint DIR --rollouts FILE --device cuda --dtype bf16 --sizes 64 256 1024
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DTYPES = ("fp64", "fp32", "bf16")


def one_size(args) -> dict:
    """Probe the first --n rollouts of the file (cycled to reach n) and report time and peak memory."""
    import torch

    from numerics import objectives
    from numerics import rollouts

    dtype = {"fp64": torch.float64, "fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    model, tok = rollouts.load_checkpoint(args.checkpoint, dtype, args.device)
    rows = rollouts.read_rollouts(args.rollouts)
    items, _ = rollouts.encode_all(tok, rows, rollouts.Segmenter(), rollouts.context_length(model))
    items = [items[i % len(items)] for i in range(args.n)]
    obj = objectives.surrogate(loss_agg_mode="token-mean")
    rollouts.probe_rollouts(model, items[:args.micro_batch], obj, args.micro_batch, tok.pad_token_id)  # warm-up
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    rollouts.probe_rollouts(model, items, obj, args.micro_batch, tok.pad_token_id)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t
    out = {"n": args.n, "seconds": seconds, "rollouts_per_s": args.n / seconds,
           "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "rss_growth_mib": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss) / 1024}
    if args.device.startswith("cuda"):
        out["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (None: build the tiny example)")
    p.add_argument("--rollouts", default=None, help="JSONL rollouts (None: the example's, cycled)")
    p.add_argument("--sizes", type=int, nargs="+", default=[16, 64, 256])
    p.add_argument("--micro-batch", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="fp32", choices=DTYPES)
    p.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)  # one size, in a child process
    args = p.parse_args()
    if args.n is not None:
        print(json.dumps(one_size(args)))
        return
    if args.checkpoint is None or args.rollouts is None:
        from numerics import rollout_example

        paths = rollout_example.build(Path(tempfile.mkdtemp(prefix="rollouts-bench-")))
        args.checkpoint, args.rollouts = args.checkpoint or str(paths["sft"]), args.rollouts or str(paths["rollouts"])
    print(f"{args.checkpoint} on {args.rollouts} (cycled), {args.device} {args.dtype}, micro-batch {args.micro_batch}")
    print(f"{'rollouts':>9s} {'seconds':>9s} {'rollouts/s':>11s} {'peak RSS MiB':>13s} {'RSS growth MiB':>15s}"
          + (f" {'peak CUDA MiB':>14s}" if args.device.startswith("cuda") else ""))
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--checkpoint", args.checkpoint, "--rollouts", args.rollouts, "--n", str(n),
               "--micro-batch", str(args.micro_batch), "--device", args.device, "--dtype", args.dtype]
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        print(f"{n:9d} {r['seconds']:9.2f} {r['rollouts_per_s']:11.1f} {r['peak_rss_mib']:13.1f} "
              f"{r['rss_growth_mib']:15.1f}" + (f" {r['peak_cuda_mib']:14.1f}" if "peak_cuda_mib" in r else ""))


if __name__ == "__main__":
    main()
