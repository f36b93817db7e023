"""The ``dsproof`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr (``dsproof probe: error: ... (see --help)``), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value}")
    return value


def _existing_path(text: str) -> str:
    if not Path(text).exists():
        raise argparse.ArgumentTypeError(f"no such file or directory: {text}")
    return text


def _device(text: str) -> str:
    """A torch device name; a CUDA one only where torch has CUDA."""
    import torch

    try:
        dev = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"not a torch device: {text!r} (cpu, cuda, cuda:N)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r} requested, but torch {torch.__version__} has no CUDA device")
    return text


def _run_claims(ids, quiet: bool):
    """Run the registered claims ``ids`` (all when empty) with a progress bar; None if an id is unknown."""
    from . import ledger

    claims = ledger.load_all()
    ids = ids or list(claims)
    unknown = [i for i in ids if i not in claims]
    if unknown:
        print(f"dsproof check: unknown claim id(s) {unknown}; known: {list(claims)}", file=sys.stderr)
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
    """Run the claims (all, or --only IDs) and write the ledger; with --only the re-run entries replace theirs in
    the existing OUT/ledger.json and the others are kept (registry order)."""
    from . import ledger

    entries = _run_claims(args.only, args.quiet)
    if entries is None:
        return 2
    out = Path(args.out)
    written = entries
    if args.only and (out / "ledger.json").exists():
        written = ledger.merge(ledger.load(out / "ledger.json"), entries, list(ledger.load_all()))
    pj, pm = ledger.write(written, out)
    width = max(len(e.id) for e in entries)
    print(f"{'claim'.ljust(width)}  {'verdict':24s} status        seconds")
    for e in entries:
        print(f"{e.id.ljust(width)}  {e.verdict:24s} {e.status:12s} {e.seconds:7.1f}")
    bad = _report_bad(entries)
    kept = len(written) - len(entries)
    print(f"\nwrote {pj} and {pm}" + (f" ({len(entries)} re-run, {kept} kept from the existing ledger)" if kept else ""))
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


PROBE_OBJECTIVES = (("surrogate", dict(loss_agg_mode="token-mean")), ("surrogate", dict(loss_agg_mode="seq-mean-token-mean")),
                    ("kl", dict(estimator="k3", placement="loss")), ("kl", dict(estimator="k1", placement="reward")),
                    ("sft", {}), ("dft", {}))


def cmd_probe(args) -> int:
    import json

    import torch

    from numerics import objectives as O
    from numerics.models import build_model, random_like, self_correction_batch, with_logps
    from numerics.probe import attribute

    if args.baseline and args.checkpoint is None:
        print("dsproof probe: --baseline needs --checkpoint (without one the probed model is already a random "
              "init)", file=sys.stderr)
        return 2
    dtype = {"fp64": torch.float64, "fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    try:
        model = build_model(args.arch, args.size, dtype=dtype, device=args.device, checkpoint=args.checkpoint)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"dsproof probe: cannot load {args.checkpoint or args.arch}: {first}", file=sys.stderr)
        return 2
    models = {"model": model}
    if args.baseline:
        models["random init"] = random_like(model, seed=args.baseline_seed)

    def batch_for(m):  # on-policy old_logp / ref_logp for each model probed, the same token ids
        return with_logps(m, self_correction_batch(m.config.vocab_size, B=args.batch, attempt=args.attempt,
                                                    device=args.device, dtype=torch.float32))

    batches = {k: batch_for(m) for k, m in models.items()}
    objectives = [O.get(name, **opts) for name, opts in PROBE_OBJECTIVES]
    results = []  # (objective, {model key: Attribution})
    with tqdm(total=len(objectives) * len(models), desc="objectives", file=sys.stderr, disable=args.quiet) as bar:
        for obj in objectives:
            per = {}
            for key, m in models.items():
                per[key] = attribute(m, batches[key], obj)
                bar.update()
            results.append((obj, per))
    n = sum(p.numel() for p in model.parameters())
    name = args.checkpoint or args.arch
    if args.json:
        print(json.dumps({"model": name, "size": None if args.checkpoint else args.size, "dtype": args.dtype,
                          "device": args.device, "parameters": n, "batch": args.batch, "attempt": args.attempt,
                          "objectives": [dict(name=obj.name, options=obj.options,
                                              **{("result" if k == "model" else "random_init"): r.to_dict()
                                                 for k, r in per.items()})
                                         for obj, per in results]}, indent=1))
        return 0
    print(f"{name} ({'checkpoint' if args.checkpoint else args.size}, {args.dtype}, {args.device}): "
          f"{n:,} parameters, batch {args.batch} trajectories, attempts of {args.attempt} tokens")
    for obj, per in results:
        r = per["model"]
        print(f"\n== {obj.name} {obj.options}\n{r.table()}")
        if "random init" in per:
            print(f"ratio: checkpoint {r.ratio:.3f} vs random init of the same config {per['random init'].ratio:.3f}")
    return 0


def cmd_reproduce(args) -> int:
    from . import reproduction

    extra = {} if args.seed is None else {"seed": args.seed}
    try:
        p = reproduction.resolve_preset(args.preset, args.device, **extra)
    except (ValueError, RuntimeError) as exc:
        print(f"dsproof reproduce: {exc}", file=sys.stderr)
        return 2
    out = reproduction.default_out(args.preset) if args.out is None else Path(args.out)
    total = p.base_steps + 2 * p.sft_steps + p.rl_steps + 4
    with tqdm(total=total, desc=f"reproduce {args.preset}", file=sys.stderr, disable=args.quiet) as bar:

        def progress(phase, value):
            bar.set_postfix_str(f"{phase} {'' if value is None else f'{value:.3f}'}")
            bar.update()

        path = reproduction.reproduce(args.preset, out, device=args.device, progress=progress, **extra)
    print((path.parent / "table.md").read_text())
    print(f"wrote {path} (and table.md, figures, checkpoints/ beside it)")
    return 0


def claims_table(ledger_json: Path) -> str:
    """The README's claims-to-evidence table, generated from the ledger."""
    import json

    from .ledger import VERDICTS, _cell

    claims = json.loads(ledger_json.read_text())["claims"]
    counts = ", ".join(f"{n} {v}" for v in VERDICTS if (n := sum(c["verdict"] == v for c in claims)))
    rows = [f"{len(claims)} claims: {counts}. Each finding ends with the corrected statement dsproof proposes "
            "where the paper's does not hold as written.", "",
            "| claim | paper | verdict | finding |", "|---|---|---|---|"]
    for c in claims:
        rows.append(f"| {c['id']} | {_cell(c['paper_ref'])} | **{c['verdict']}** | {_cell(c['summary'])} |")
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
    except FileNotFoundError as exc:
        print(f"dsproof readme: no such file: {exc.filename}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"{readme}: {exc}", file=sys.stderr)
        return 2
    readme.write_text(text)
    print(f"updated the claims and reproduction tables in {readme}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``dsproof`` command line: every subcommand has a description and shows every option's default."""
    p = _Parser(prog="dsproof", description="Proof-check of arXiv:2601.01580")
    sub = p.add_subparsers(dest="cmd", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, formatter_class=argparse.ArgumentDefaultsHelpFormatter)

    quiet = dict(action="store_true", help="no progress bar")
    c = command("check", "Run every registered claim's checks (or --only some) and write OUT/ledger.{json,md}; "
                "prints each claim's verdict, status and run time (timings go to the terminal only).")
    c.add_argument("--out", default="reports", help="output folder")
    c.add_argument("--only", nargs="+", metavar="ID", default=None,
                   help="re-run only these claim ids and merge them into the existing OUT/ledger.json "
                        "(None: run every claim and rewrite the ledger)")
    c.add_argument("--quiet", **quiet)
    c.set_defaults(fn=cmd_check)
    rp = command("report", "Run the claims, figures and notebooks; write OUT/index.html, OUT/ledger.{json,md}, "
                 "OUT/figures, OUT/notebooks and notebooks/*.ipynb (none of them carries a timing or timestamp).")
    rp.add_argument("--out", default="reports", help="output folder")
    rp.add_argument("--ledger", default=None, type=_existing_path,
                    help="reuse this ledger.json instead of re-running the claims")
    rp.add_argument("--skip-notebooks", action="store_true",
                    help="do not execute the notebooks (link the pages already under OUT/notebooks)")
    rp.add_argument("--no-update-notebooks", dest="update_notebooks", action="store_false",
                    help="do not overwrite the committed executed notebooks/*.ipynb (update_notebooks: %(default)s, i.e. "
                         "report rewrites them unless this is given)")
    rp.add_argument("--quiet", **quiet)
    rp.set_defaults(fn=cmd_report)
    rr = command("reproduce", "§4 at small scale: base/SFT/SFT-reflect/RL on multiplication, from scratch; writes "
                 "results.json, table.md, figures and checkpoints under OUT/<preset>.")
    rr.add_argument("--preset", default="smoke", choices=["smoke", "cpu", "h100", "smoke-cot", "cpu-cot", "h100-cot"],
                    help="smoke checks the pipeline (CPU, seconds); cpu and h100 are the experiment; -cot: attempts "
                         "with a chain of thought (partial products and carries before the answer)")
    rr.add_argument("--out", default=None,
                    help="results folder (None: reports/reproduce, or for smoke reports/_build/reproduce, which git "
                         "ignores and neither the ledger nor the report reads)")
    rr.add_argument("--device", default=None, type=_device, help="override the preset's device (cpu, cuda)")
    rr.add_argument("--seed", type=_seed, default=None,
                    help="another seed (results go to OUT/<preset>-seed<N>; the ledger pools every saved seed of a "
                         "preset)")
    rr.add_argument("--quiet", **quiet)
    rr.set_defaults(fn=cmd_reproduce)
    rd = command("readme", "Regenerate the README's claims table (from OUT/ledger.json) and reproduction table.")
    rd.add_argument("--out", default="reports", help="folder holding ledger.json")
    rd.add_argument("--readme", default="README.md", help="the README to update")
    rd.set_defaults(fn=cmd_readme)
    pr = command("probe", "Per-stage gradient attribution (sampling / decision norms per parameter group, total, "
                 "ratio, inner product, cosine, tokens per stage) for six objectives on a generated self-correction "
                 "batch, on a random-init transformer or a local checkpoint.")
    pr.add_argument("--arch", default="qwen2", choices=["gpt2", "llama", "qwen2"], help="architecture (random init)")
    pr.add_argument("--size", default="tiny", choices=["tiny", "0.5b"], help="model size (random init)")
    pr.add_argument("--checkpoint", default=None, type=_existing_path,
                    help="local path of a HF checkpoint (overrides --arch/--size)")
    pr.add_argument("--baseline", action="store_true",
                    help="with --checkpoint: also probe a random init of the same config and print its ratio beside "
                         "the checkpoint's, to read the ratio against chance (doubles the cost)")
    pr.add_argument("--baseline-seed", type=_seed, default=0, help="seed of the --baseline random init")
    pr.add_argument("--device", default="cpu", type=_device, help="torch device (cpu, cuda, cuda:N)")
    pr.add_argument("--dtype", default="fp64", choices=["fp64", "fp32", "bf16"], help="model dtype")
    pr.add_argument("--batch", type=_positive_int, default=4, help="trajectories in the batch")
    pr.add_argument("--attempt", type=_positive_int, default=16, help="tokens per attempt")
    pr.add_argument("--json", action="store_true",
                    help="print JSON: per objective the stage norms, total, ratio, inner product, cosine, per-group "
                         "norms and tokens per stage")
    pr.add_argument("--quiet", **quiet)
    pr.set_defaults(fn=cmd_probe)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
