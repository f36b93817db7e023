"""`dsproof decompose` cost as the files grow: seconds and peak memory for N generations (an SFT-reflect and an RL
file of N / 2 lines each, simulated from the two-stage process with ~0.5 kB of reasoning per attempt, 4 buckets, 4
generations per prompt: the clustered bootstrap, the slower path).  Each size runs in its own process (peak RSS is
per process).  Prints a table; asserts nothing.  Reading streams the files: what is kept is one 10-float row per
response and one id per prompt, so memory should stay nearly flat while the files grow.

    python benchmarks/decompose_cost.py                       # 10k, 30k, 100k generations, 1000 resamples
    python benchmarks/decompose_cost.py --sizes 1000 --bootstrap 100
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RATES = {"sft-reflect": {3: (0.8, 0.85, 0.3), 4: (0.55, 0.8, 0.25), 5: (0.3, 0.8, 0.2), 6: (0.1, 0.75, 0.15)},
         "rl": {3: (0.82, 0.95, 0.6), 4: (0.57, 0.95, 0.55), 5: (0.31, 0.9, 0.5), 6: (0.1, 0.9, 0.45)}}
FILLER = ("Let us multiply step by step. " * 16)[:480] + " "  # ~0.5 kB of reasoning before each answer


def write_files(folder: Path, n: int, per_prompt: int = 4) -> float:
    """An SFT-reflect and an RL file of n / 2 generations each (gzipped); returns their size in MB."""
    import numpy as np

    from numerics import generations as G

    prompts = max(1, n // 2 // per_prompt // len(RATES["rl"]))
    size = 0
    for i, (role, rates) in enumerate(RATES.items()):
        path = G.write_jsonl(G.simulate(np.random.default_rng([n, i]), rates, prompts, 4, per_prompt=per_prompt,
                                        spread=0.2, filler=FILLER), folder / f"{role}.jsonl.gz")
        size += path.stat().st_size
    return size / 1e6


def peak_rss_mib() -> float:
    """This process's peak resident memory: VmHWM (Linux; ru_maxrss would carry the parent's peak across the fork
    and exec of the subprocess), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_size(args) -> dict:
    """Run decompose on the folder and report times and peak memory (this process)."""
    import dsproof.claims.empirical  # noqa: F401  (every module decompose imports, so that the peak is the data's)
    import numerics.reproduce  # noqa: F401
    from dsproof import decompose as D
    from numerics import generations as G

    spec = D.run_specs([args.folder])
    t = time.perf_counter()
    dec = D.decompose(spec, G.Options(budget=4), reps=args.bootstrap, seed=0)
    seconds = time.perf_counter() - t
    D.to_text(dec)
    lines = sum(f.lines for f in dec.runs[0].files.values())
    raw = sum(os.path.getsize(p) for p in spec[0].files.values())
    return {"generations": lines, "seconds": seconds, "generations_per_s": lines / seconds,
            "peak_rss_mib": peak_rss_mib(),
            "gz_mb": raw / 1e6, "share": dec.reading.summary.share}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000, 300_000])
    p.add_argument("--bootstrap", type=int, default=1000)
    p.add_argument("--folder", default=None, help=argparse.SUPPRESS)  # one size, in this process
    args = p.parse_args(argv)
    if args.folder:
        print(json.dumps(one_size(args)))
        return
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            mb = write_files(Path(tmp), n)
            unzipped = sum(len(__import__("gzip").open(f).read()) for f in Path(tmp).glob("*.gz")) / 1e6
            load = os.getloadavg()[0]
            t = time.perf_counter()
            out = subprocess.run([sys.executable, __file__, "--folder", tmp, "--bootstrap", str(args.bootstrap)],
                                 env=env, capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]) | {"raw_mb": unzipped, "load": load,
                                                                          "process_s": time.perf_counter() - t})
    print(f"dsproof decompose, one run (SFT-reflect vs RL), 4 buckets, 4 generations per prompt (clustered "
          f"bootstrap), {args.bootstrap} resamples, budget T = 4; {os.cpu_count()} CPUs visible")
    print("seconds: decompose() from reading the files to the reading; process: the same with Python's start and the "
          "imports (torch, sympy); peak RSS: the whole process; load: the 1-minute load average when the size started "
          "(the 2 cores are shared with other work)")
    print(f"{'generations':>11} {'text MB':>8} {'seconds':>8} {'process':>8} {'gen/s':>8} {'peak RSS MiB':>12} "
          f"{'load':>5}")
    for r in rows:
        print(f"{r['generations']:>11,} {r['raw_mb']:>8.1f} {r['seconds']:>8.1f} {r['process_s']:>8.1f} "
              f"{r['generations_per_s']:>8,.0f} {r['peak_rss_mib']:>12.0f} {r['load']:>5.1f}")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        per = (b["peak_rss_mib"] - a["peak_rss_mib"]) * 2 ** 20 / (b["generations"] - a["generations"])
        print(f"peak RSS from {a['generations']:,} to {b['generations']:,} generations: "
              f"+{b['peak_rss_mib'] - a['peak_rss_mib']:.0f} MiB for +{b['raw_mb'] - a['raw_mb']:.0f} MB of text "
              f"({per:.0f} bytes a generation)")


if __name__ == "__main__":
    main()
