"""The ``dsproof`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm


def _run_claims(ids, quiet: bool):
    """Run the registered claims ``ids`` (all when empty) with a progress bar; None if an id is unknown."""
    from . import ledger

    claims = ledger.load_all()
    ids = ids or list(claims)
    unknown = [i for i in ids if i not in claims]
    if unknown:
        print(f"dsproof: unknown claim id(s) {unknown}; known: {list(claims)}", file=sys.stderr)
        return None
    entries = []
    bar = tqdm(ids, desc="claims", unit="claim", file=sys.stderr, disable=quiet)
    for cid in bar:
        bar.set_postfix_str(cid)
        entries.append(ledger.run_claim(claims[cid]))
    return entries


def _report_bad(entries) -> list:
    bad = [e for e in entries if e.status != "ok"]
    for e in bad:
        print(f"\n{e.id}: {e.status}\n{e.error or [ev for ev in e.evidence if not ev.passed]}", file=sys.stderr)
    return bad


def cmd_check(args) -> int:
    from . import ledger

    entries = _run_claims(args.only, args.quiet)
    if entries is None:
        return 2
    pj, pm = ledger.write(entries, Path(args.out))
    width = max(len(e.id) for e in entries)
    print(f"{'claim'.ljust(width)}  {'verdict':24s} status        seconds")
    for e in entries:
        print(f"{e.id.ljust(width)}  {e.verdict:24s} {e.status:12s} {e.seconds:7.1f}")
    bad = _report_bad(entries)
    print(f"\nwrote {pj} and {pm}")
    return 1 if bad else 0


def cmd_report(args) -> int:
    from . import figures, ledger, notebooks, report, reproduction

    out = Path(args.out)
    if args.ledger:
        entries = ledger.load(Path(args.ledger))
    else:
        entries = _run_claims(None, args.quiet)
        ledger.write(entries, out)
    bar = tqdm(total=len(figures.FIGURES), desc="figures", file=sys.stderr, disable=args.quiet)
    figs = figures.save_all(out / "figures", progress=lambda _: bar.update())
    bar.close()
    reproduction.redraw(out / "reproduce")
    if not args.skip_notebooks:
        srcs = notebooks.sources()
        bar = tqdm(total=len(srcs), desc="notebooks", file=sys.stderr, disable=args.quiet)
        done = notebooks.render_all(notebooks.SOURCE_DIR if args.update_notebooks else None, out / "notebooks",
                                    progress=lambda _: bar.update())
        bar.close()
        pages = {n: d["html"] for n, d in done.items()}
    else:
        pages = {p.stem: p for p in sorted((out / "notebooks").glob("*.html"))}
    path = report.write(out, entries, figs, pages)
    bad = _report_bad(entries)
    blank = [str(p) for _, p, _ in figs if report.image_is_blank(p)]
    if blank:
        print(f"blank figure(s): {blank}", file=sys.stderr)
    print(f"wrote {path} ({len(entries)} claims, {len(figs)} figures, {len(pages)} notebook pages)")
    return 1 if bad or blank else 0


def cmd_probe(args) -> int:
    import torch

    from numerics import objectives as O
    from numerics.models import build_model, self_correction_batch, with_logps
    from numerics.probe import attribute

    dtype = {"fp64": torch.float64, "fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    model = build_model(args.arch, args.size, dtype=dtype, device=args.device, checkpoint=args.checkpoint)
    batch = with_logps(model, self_correction_batch(model.config.vocab_size, B=args.batch, attempt=args.attempt,
                                                     device=args.device, dtype=torch.float32))
    objectives = [O.surrogate(loss_agg_mode="token-mean"), O.surrogate(loss_agg_mode="seq-mean-token-mean"),
                  O.kl("k3", "loss"), O.kl("k1", "reward"), O.sft(), O.dft()]
    n = sum(p.numel() for p in model.parameters())
    print(f"{args.checkpoint or args.arch} ({args.size}, {args.dtype}, {args.device}): {n / 1e6:.1f}M parameters, "
          f"batch {args.batch} trajectories, attempts of {args.attempt} tokens")
    for obj in tqdm(objectives, desc="objectives", file=sys.stderr, disable=args.quiet):
        r = attribute(model, batch, obj)
        print(f"\n== {obj.name} {obj.options}\n{r.table()}")
    return 0


def cmd_reproduce(args) -> int:
    from numerics.reproduce import PRESETS

    from . import reproduction

    p = PRESETS[args.preset]
    total = p.base_steps + 2 * p.sft_steps + p.rl_steps + 4
    bar = tqdm(total=total, desc=f"reproduce {args.preset}", file=sys.stderr, disable=args.quiet)

    def progress(phase, value):
        bar.set_postfix_str(f"{phase} {'' if value is None else f'{value:.3f}'}")
        bar.update()

    try:
        extra = {} if args.seed is None else {"seed": args.seed}
        path = reproduction.reproduce(args.preset, Path(args.out), device=args.device, progress=progress, **extra)
    except (ValueError, RuntimeError) as exc:
        print(f"dsproof reproduce: {exc}", file=sys.stderr)
        return 2
    bar.close()
    print((path.parent / "table.md").read_text())
    print(f"wrote {path} (and table.md, figures, checkpoints/ beside it)")
    return 0


def claims_table(ledger_json: Path) -> str:
    """The README's claims-to-evidence table, generated from the ledger."""
    import json

    rows = ["| claim | paper | verdict | finding |", "|---|---|---|---|"]
    for c in json.loads(ledger_json.read_text())["claims"]:
        rows.append(f"| {c['id']} | {c['paper_ref']} | **{c['verdict']}** | {c['summary']} |")
    return "\n".join(rows)


def _replace_between(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"no {start} ... {end} markers")
    head, rest = text.split(start, 1)
    return head + start + "\n" + body + "\n" + end + rest.split(end, 1)[1]


def reproduction_table() -> str:
    """The README's reproduction table: table.md of the preset the ledger reads (or a note that none ran)."""
    from . import reproduction

    found = reproduction.latest_results()
    if found is None:
        return "_No reproduction results yet: `dsproof reproduce --preset cpu`._"
    name, _ = found
    md = (reproduction.OUT / name / "table.md").read_text().split("\n", 1)[1].strip()
    return f"Preset `{name}` (the one the ledger reads; `reports/reproduce/{name}/table.md`):\n\n{md}"


def cmd_readme(args) -> int:
    readme = Path(args.readme)
    try:
        text = _replace_between(readme.read_text(), "claims-table", claims_table(Path(args.out) / "ledger.json"))
        text = _replace_between(text, "reproduction-table", reproduction_table())
    except ValueError as exc:
        print(f"{readme}: {exc}", file=sys.stderr)
        return 2
    readme.write_text(text)
    print(f"updated the claims and reproduction tables in {readme}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="dsproof", description="Proof-check of arXiv:2601.01580")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="run every registered claim's checks and write the ledger")
    c.add_argument("--out", default="reports", help="output folder (default: reports)")
    c.add_argument("--only", nargs="*", help="claim ids to run (default: all)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(fn=cmd_check)
    rp = sub.add_parser("report", help="run the claims, figures and notebooks; write reports/index.html")
    rp.add_argument("--out", default="reports")
    rp.add_argument("--ledger", default=None, help="reuse this ledger.json instead of re-running the claims")
    rp.add_argument("--skip-notebooks", action="store_true",
                    help="do not execute the notebooks (link the pages already under OUT/notebooks)")
    rp.add_argument("--no-update-notebooks", dest="update_notebooks", action="store_false",
                    help="do not overwrite the committed executed notebooks/*.ipynb")
    rp.add_argument("--quiet", action="store_true")
    rp.set_defaults(fn=cmd_report)
    rr = sub.add_parser("reproduce", help="§4 at small scale: base/SFT/SFT-reflect/RL on multiplication, from scratch")
    rr.add_argument("--preset", default="smoke", choices=["smoke", "cpu", "h100"])
    rr.add_argument("--out", default="reports/reproduce")
    rr.add_argument("--device", default=None, help="override the preset's device (cpu, cuda)")
    rr.add_argument("--seed", type=int, default=None,
                    help="another seed (results go to OUT/<preset>-seed<N>; the ledger pools every saved seed of a preset)")
    rr.add_argument("--quiet", action="store_true")
    rr.set_defaults(fn=cmd_reproduce)
    rd = sub.add_parser("readme", help="regenerate the README claims table from reports/ledger.json")
    rd.add_argument("--out", default="reports")
    rd.add_argument("--readme", default="README.md")
    rd.set_defaults(fn=cmd_readme)
    pr = sub.add_parser("probe", help="per-stage gradient attribution on a transformer (random init or checkpoint)")
    pr.add_argument("--arch", default="qwen2", choices=["gpt2", "llama", "qwen2"])
    pr.add_argument("--size", default="tiny", choices=["tiny", "0.5b"])
    pr.add_argument("--checkpoint", default=None, help="local path of a HF checkpoint (overrides --arch/--size)")
    pr.add_argument("--device", default="cpu")
    pr.add_argument("--dtype", default="fp64", choices=["fp64", "fp32", "bf16"])
    pr.add_argument("--batch", type=int, default=4)
    pr.add_argument("--attempt", type=int, default=16, help="tokens per attempt")
    pr.add_argument("--quiet", action="store_true")
    pr.set_defaults(fn=cmd_probe)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
