"""The ``dsproof`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm


def cmd_check(args) -> int:
    from . import ledger

    claims = ledger.load_all()
    ids = args.only or list(claims)
    unknown = [i for i in ids if i not in claims]
    if unknown:
        print(f"dsproof check: unknown claim id(s) {unknown}; known: {list(claims)}", file=sys.stderr)
        return 2
    entries = []
    bar = tqdm(ids, desc="claims", unit="claim", file=sys.stderr, disable=args.quiet)
    for cid in bar:
        bar.set_postfix_str(cid)
        entries.append(ledger.run_claim(claims[cid]))
    pj, pm = ledger.write(entries, Path(args.out))
    width = max(len(e.id) for e in entries)
    print(f"{'claim'.ljust(width)}  {'verdict':24s} status        seconds")
    for e in entries:
        print(f"{e.id.ljust(width)}  {e.verdict:24s} {e.status:12s} {e.seconds:7.1f}")
    bad = [e for e in entries if e.status != "ok"]
    for e in bad:
        print(f"\n{e.id}: {e.status}\n{e.error or [ev for ev in e.evidence if not ev.passed]}", file=sys.stderr)
    print(f"\nwrote {pj} and {pm}")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="dsproof", description="Proof-check of arXiv:2601.01580")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="run every registered claim's checks and write the ledger")
    c.add_argument("--out", default="reports", help="output folder (default: reports)")
    c.add_argument("--only", nargs="*", help="claim ids to run (default: all)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(fn=cmd_check)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
