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


def positive_int(text: str) -> int:
    """argparse type: a positive integer (dsproof decompose's options use it too)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """argparse type: a non-negative integer (seeds, counts)."""
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


def _fraction(text: str) -> float:
    """A share in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {value:g}")
    return value


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


#: the dtypes the probe commands accept (--dtype), by name
DTYPES = ("fp64", "fp32", "bf16")


def _dtype(name: str):
    import torch

    return {"fp64": torch.float64, "fp32": torch.float32, "bf16": torch.bfloat16}[name]


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
        print(f"\n{e.id}: {e.status}\n{e.error or [ev.id for ev in e.evidence if ev.passed is False]}", file=sys.stderr)
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


def _rebuild_formal(skip: bool, quiet: bool) -> tuple[str, bool]:
    """Rebuild the Coq library (formal/) where Coq is installed: build, audit, coqchk, and compare the audit with the
    committed record the ledger's machine-checked rows come from.  Returns (the sentence the report prints, whether
    everything agreed)."""
    from . import formal

    if skip:
        return "The library was not rebuilt by this run (--skip-formal); the rows come from formal/audit.json.", True
    version = formal.coq_version()
    if version is None:
        return ("The library was not rebuilt on this machine: Coq is not installed (scripts/setup.sh installs it); "
                "the rows come from formal/audit.json."), True
    if not quiet:
        print("formal: building, auditing and re-checking the Coq library (coqchk takes about a minute)",
              file=sys.stderr)
    try:
        formal.build()
        theorems = formal.audit()
        problems = formal.audit_problems(theorems)
        formal.coqchk()
    except formal.FormalError as exc:
        print(f"formal: {exc}", file=sys.stderr)
        return f"The rebuild on this machine failed: {str(exc).splitlines()[0]}", False
    stale = theorems != formal.load_record()
    for p in problems + (["formal/audit.json differs from the fresh audit: run python -m dsproof.formal --update"]
                         if stale else []):
        print(f"formal: {p}", file=sys.stderr)
    if problems or stale:
        return "The rebuild on this machine found problems (see the terminal); the rows are not current.", False
    return (f"Rebuilt on this machine by dsproof report with coqc {version}: built, audited (Print Assumptions and the "
            "printed statements) and re-checked by coqchk; the audit equals formal/audit.json."), True


def cmd_report(args) -> int:
    from . import figures, ledger, notebooks, report, runs

    out = Path(args.out)
    if args.ledger:
        ledger_path = Path(args.ledger)
        entries = ledger.load(ledger_path)
    else:
        entries = _run_claims(None, args.quiet)
        ledger.write(entries, out)
        ledger_path = out / "ledger.json"
    bar = tqdm(total=len(figures.FIGURES), desc="figures", file=sys.stderr, disable=args.quiet)
    figs = figures.save_all(out / "figures", progress=lambda _: bar.update(), entries=entries)
    bar.close()
    runs.redraw(out / "reproduce")
    if not args.skip_notebooks:
        srcs = notebooks.sources()
        bar = tqdm(total=len(srcs), desc="notebooks", file=sys.stderr, disable=args.quiet)
        done = notebooks.render_all(notebooks.SOURCE_DIR if args.update_notebooks else None, out / "notebooks",
                                    progress=lambda _: bar.update(),
                                    env={"DSPROOF_LEDGER": str(ledger_path.resolve())})  # the ledger they show
        bar.close()
        pages = {n: d["html"] for n, d in done.items()}
    else:
        pages = {p.stem: p for p in sorted((out / "notebooks").glob("*.html"))}
    rebuilt, formal_ok = _rebuild_formal(args.skip_formal, args.quiet)
    path = report.write(out, entries, figs, pages, rebuilt)
    bad = _report_bad(entries) + ([] if formal_ok else ["formal"])
    blank = [str(p) for _, p, _ in figs if report.image_is_blank(p)]
    if blank:
        print(f"blank figure(s): {blank}", file=sys.stderr)
    print(f"wrote {path} ({len(entries)} claims, {len(figs)} figures, {len(pages)} notebook pages)")
    return 1 if bad or blank else 0


PROBE_OBJECTIVES = (("surrogate", dict(loss_agg_mode="token-mean")), ("surrogate", dict(loss_agg_mode="seq-mean-token-mean")),
                    ("kl", dict(estimator="k3", placement="loss")), ("kl", dict(estimator="k1", placement="reward")),
                    ("sft", {}), ("dft", {}))


#: the objectives `dsproof probe --rollouts` offers (--objective NAME); kl ones need ref_logp in the file
ROLLOUT_OBJECTIVES = {"surrogate": ("surrogate", dict(loss_agg_mode="token-mean")),
                      "surrogate-seq": ("surrogate", dict(loss_agg_mode="seq-mean-token-mean")),
                      "sft": ("sft", {}), "dft": ("dft", {}),
                      "kl-k3": ("kl", dict(estimator="k3", placement="loss")),
                      "kl-k1-reward": ("kl", dict(estimator="k1", placement="reward"))}


def _load_rollouts(args, command: str):
    """(model, tokenizer, encoded rollouts, skipped) for `probe --rollouts` / `segment`; a one-line error
    (exit code 2) on a bad file or checkpoint is raised as SystemExit."""
    import torch

    from numerics import rollouts

    dtype = _dtype(getattr(args, "dtype", "fp64"))
    try:
        segmenter = rollouts.Segmenter(tuple(rollouts.DEFAULT_MARKERS if args.markers is None else args.markers),
                                       tuple(args.regex), tuple(args.tags))
        rows = rollouts.read_rollouts(args.rollouts)
    except ValueError as exc:
        raise SystemExit(_fail(command, exc))
    try:
        model, tokenizer = rollouts.load_checkpoint(args.checkpoint, dtype, getattr(args, "device", "cpu"))
    except (OSError, ValueError) as exc:
        raise SystemExit(_fail(command, f"cannot load {args.checkpoint}: {exc}"))
    try:
        items, skipped = rollouts.encode_all(tokenizer, rows, segmenter, rollouts.context_length(model))
    except ValueError as exc:
        raise SystemExit(_fail(command, f"{args.rollouts}: {exc}" if isinstance(exc, rollouts.RolloutError) else exc))
    for line, why in skipped.items():
        print(f"{command}: skipped line {line} of {args.rollouts}: {why}", file=sys.stderr)
    return model, tokenizer, items, skipped


def _fail(command: str, exc) -> int:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    print(f"{command}: {first}", file=sys.stderr)
    return 2


def cmd_segment(args) -> int:
    from numerics import rollouts
    from numerics.objectives import DECISION, SAMPLING

    try:
        _, _, items, skipped = _load_rollouts(args, "dsproof segment")
    except SystemExit as stop:
        return int(stop.code)
    for e in items[:args.limit]:
        stages = e.stage[e.n_prompt:]
        print(f"line {e.line}: {e.n_prompt} prompt, {stages.count(SAMPLING)} sampling, "
              f"{stages.count(DECISION)} decision tokens; advantage {e.advantage:+.4f}")
        print("  " + rollouts.highlight(e).replace("\n", "\n  "))
    print(f"{len(items)} rollouts segmented, {len(skipped)} skipped (decision spans in [[ ]])")
    return 0


def cmd_probe_rollouts(args) -> int:
    import json
    import math

    from numerics import objectives
    from numerics import rollouts

    try:
        model, tokenizer, items, skipped = _load_rollouts(args, "dsproof probe")
        models = {"model": model}
        if args.compare:
            other, other_tok = rollouts.load_checkpoint(args.compare, next(model.parameters()).dtype, args.device)
            if other_tok.get_vocab() != tokenizer.get_vocab():
                raise SystemExit(_fail("dsproof probe", f"--compare {args.compare}: its tokenizer differs from "
                                       f"{args.checkpoint}'s: the same rollouts would be different token sequences"))
            models["compare"] = other
    except SystemExit as stop:
        return int(stop.code)
    except (OSError, ValueError) as exc:
        return _fail("dsproof probe", f"cannot load {args.compare}: {exc}")
    if not items:
        return _fail("dsproof probe", f"{args.rollouts}: every rollout was skipped (no decision span found); check "
                     "the markers with `dsproof segment`")
    has_ref = all(e.ref_logp is not None for e in items)
    names = args.objective or [k for k in ROLLOUT_OBJECTIVES if has_ref or not k.startswith("kl")]
    if not has_ref and any(k.startswith("kl") for k in names):
        return _fail("dsproof probe", "the kl objectives need ref_logp on every line of the rollouts file")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    sub = rollouts.bootstrap_subsample(items, args.bootstrap_rollouts, args.seed) if args.compare else []
    n_ci, unit = len(sub), rollouts.clusters(sub)
    total = len(names) * len(models) * len(items) + (len(names) * len(models) * n_ci)
    results = []
    with tqdm(total=total, desc="rollouts", unit="rollout", file=sys.stderr, disable=args.quiet) as bar:
        for key in names:
            name, opts = ROLLOUT_OBJECTIVES[key]
            obj = objectives.get(name, **opts)
            per = {k: rollouts.probe_rollouts(m, items, obj, args.micro_batch, pad_id, progress=bar.update)
                   for k, m in models.items()}
            diff = None
            if args.compare:
                grams = {k: rollouts.rollout_grams(m, sub, obj, pad_id, progress=bar.update) for k, m in models.items()}
                diff = rollouts.bootstrap_difference(grams["model"], grams["compare"], args.bootstrap, args.seed,
                                                     unit=unit)
            results.append((key, obj, per, diff))
    fin = lambda x: x if math.isfinite(x) else None  # noqa: E731
    if args.json:
        out = {"checkpoint": args.checkpoint, "compare": args.compare, "rollouts": args.rollouts,
               "probed": len(items), "skipped": {str(k): v for k, v in skipped.items()}, "dtype": args.dtype,
               "micro_batch": args.micro_batch, "objectives": []}
        for key, obj, per, diff in results:
            row = dict(key=key, name=obj.name, options=obj.options, result=per["model"].to_dict())
            if diff is not None:
                row.update(compare=per["compare"].to_dict(), difference=fin(per["compare"].ratio - per["model"].ratio),
                           ci=[fin(x) for x in diff["ci"]], ci_level=diff["level"], bootstrap=args.bootstrap,
                           bootstrap_undefined=diff["undefined"],
                           bootstrap_rollouts=n_ci, bootstrap_clusters=diff["clusters"])
            out["objectives"].append(row)
        print(json.dumps(out, indent=1))
        return 0
    print(f"{args.checkpoint}{' vs ' + args.compare if args.compare else ''} on {args.rollouts}: {len(items)} "
          f"rollouts probed, {len(skipped)} skipped; {args.dtype}, micro-batches of {args.micro_batch}")
    for key, obj, per, diff in results:
        r = per["model"]
        print(f"\n== {key}: {obj.name} {obj.options}\n{r.table()}")
        if diff is not None:
            c = per["compare"]
            lo, hi = diff["ci"]
            print(f"ratio |g_s|/|g_d|: {args.checkpoint} {r.ratio:.4f}, {args.compare} {c.ratio:.4f}, difference "
                  f"{c.ratio - r.ratio:+.4f} ({diff['level']:.0%} bootstrap CI over {n_ci} rollouts in "
                  f"{diff['clusters']} resampled units (GRPO groups, or single rollouts) "
                  f"[{lo:+.4f}, {hi:+.4f}], {args.bootstrap} resamples"
                  + (f", {diff['undefined']} undefined: zero gradient" if diff["undefined"] else "") + ")")
    return 0


def cmd_probe(args) -> int:
    import json

    import torch

    if args.rollouts is not None:
        if args.checkpoint is None:
            return _fail("dsproof probe", "--rollouts needs --checkpoint (the rollouts are tokenized with the "
                         "checkpoint's own tokenizer)")
        return cmd_probe_rollouts(args)
    if args.compare is not None:
        return _fail("dsproof probe", "--compare needs --rollouts (two checkpoints are compared on the same rollouts)")

    from numerics import objectives
    from numerics.models import build_model, random_like, self_correction_batch, with_logps
    from numerics.probe import attribute

    if args.baseline and args.checkpoint is None:
        print("dsproof probe: --baseline needs --checkpoint (without one the probed model is already a random "
              "init)", file=sys.stderr)
        return 2
    dtype = _dtype(args.dtype)
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
    objectives = [objectives.get(name, **opts) for name, opts in PROBE_OBJECTIVES]
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
    from numerics.reproduce import storage

    from . import runs

    extra = {k: getattr(args, k) for k in ("seed", *storage.RECIPE_FIELDS) if getattr(args, k) is not None}
    try:
        p = storage.resolve_preset(args.preset, args.device, **extra)
    except (ValueError, RuntimeError) as exc:
        print(f"dsproof reproduce: {exc}", file=sys.stderr)
        return 2
    out = storage.default_out(args.preset) if args.out is None else Path(args.out)
    total = p.base_steps + 2 * p.sft_steps + p.rl_steps + 4
    with tqdm(total=total, desc=f"reproduce {args.preset}", file=sys.stderr, disable=args.quiet) as bar:

        def progress(phase, value):
            bar.set_postfix_str(f"{phase} {'' if value is None else f'{value:.3f}'}")
            bar.update()

        path = runs.reproduce(args.preset, out, device=args.device, progress=progress,
                              export_generations=args.export_generations, **extra)
    print((path.parent / "table.md").read_text())
    print(f"wrote {path} (and table.md, figures, checkpoints/" + (", generations/" if args.export_generations else "")
          + " beside it)")
    return 0


def claims_table(ledger_json: Path) -> str:
    """The README's claims table, generated from the ledger: the verdict counts and one line per claim."""
    from . import render
    from .ledger import load

    return render.claims_table(load(ledger_json))


def _replace_between(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"no {start} ... {end} markers")
    head, rest = text.split(start, 1)
    return head + start + "\n" + body + "\n" + end + rest.split(end, 1)[1]


def reproduction_table() -> str:
    """The README's reproduction table: table.md of the preset the ledger reads (or a note that none ran)."""
    from numerics.reproduce import storage

    found = storage.latest_results()
    if found is None:
        return "_No reproduction results yet: `dsproof reproduce --preset cpu`._"
    name, _ = found
    md = (storage.OUT / name / "table.md").read_text().split("\n", 1)[1].strip()
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


def rollout_options(p) -> None:
    """The options naming decision spans (--markers, --regex, --tags), shared by the rollout commands and decompose."""
    p.add_argument("--markers", nargs="*", default=None,
                   help="literal decision markers, case-insensitive (None: the paper's lexical markers, "
                        "numerics.rollouts.DEFAULT_MARKERS; give none to use only --regex / --tags)")
    p.add_argument("--regex", nargs="+", default=[], help="regular expressions marking decision spans")
    p.add_argument("--tags", nargs="+", default=[], help="explicit decision tags, e.g. '<stop>' '<resample>'")


def build_parser() -> argparse.ArgumentParser:
    """The ``dsproof`` command line: every subcommand has a description and shows every option's default."""
    from numerics.reproduce.presets import PRESETS

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
    rp.add_argument("--skip-formal", action="store_true",
                    help="do not rebuild the Coq library (formal/); its rows then come from formal/audit.json as "
                         "committed, and the page says so")
    rp.add_argument("--quiet", **quiet)
    rp.set_defaults(fn=cmd_report)
    rr = command("reproduce", "§4 at small scale: base/SFT/SFT-reflect/RL on multiplication, from scratch; writes "
                 "results.json, table.md, figures and checkpoints under OUT/<preset>.")
    rr.add_argument("--preset", default="smoke", choices=list(PRESETS),
                    help="smoke checks the pipeline (CPU, seconds); cpu and h100 are the experiment; -cot: attempts "
                         "with a chain of thought (partial products and carries before the answer)")
    rr.add_argument("--out", default=None,
                    help="results folder (None: reports/reproduce, or for smoke reports/_build/reproduce, which git "
                         "ignores and neither the ledger nor the report reads)")
    rr.add_argument("--device", default=None, type=_device, help="override the preset's device (cpu, cuda)")
    rr.add_argument("--seed", type=nonnegative_int, default=None,
                    help="another seed (results go to OUT/<preset>-seed<N>; the ledger pools every saved seed of a "
                         "preset)")
    rr.add_argument("--wrong-source", default=None,
                    help="where the reflection demos' wrong first attempts come from (None: the preset's, own): own = "
                         "the base model's errors, work-error = a wrong partial product carried through the chain of "
                         "thought (-cot presets only), answer-error = wrong answer digits (correct work); results go "
                         "to OUT/<preset>-src-<source>")
    rr.add_argument("--reflect-frac", type=_fraction, default=None,
                    help="share of the SFT-reflect demonstrations that carry a reflection, in [0, 1] (None: the "
                         "preset's, 0.5); results go to OUT/<preset>-frac<share>")
    rr.add_argument("--wrong-attempt-loss", default=None,
                    help="trained (the preset's) = SFT trains on the reflection demos' wrong first attempt too; masked "
                         "= that attempt is context only, the loss covers RESAMPLE, the correct attempt and STOP; "
                         "results go to OUT/<preset>-masked")
    rr.add_argument("--reflect-steps-factor", type=float, default=None,
                    help="SFT-reflect's optimiser steps as a multiple of SFT's, >= 1 (None: the preset's, 1; 2 at a "
                         "reflecting share of 0.5 gives it as many correct first-attempt targets as SFT); results go "
                         "to OUT/<preset>-steps<factor>x")
    rr.add_argument("--export-generations", action="store_true",
                    help="also write the evaluation episodes, one file per model, to OUT/<run>/generations/"
                         "<model>.jsonl.gz, in the format `dsproof decompose` reads (the results are the same)")
    rr.add_argument("--quiet", **quiet)
    rr.set_defaults(fn=cmd_reproduce)
    rd = command("readme", "Regenerate the README's claims table (from OUT/ledger.json) and reproduction table.")
    rd.add_argument("--out", default="reports", help="folder holding ledger.json")
    rd.add_argument("--readme", default="README.md", help="the README to update")
    rd.set_defaults(fn=cmd_readme)
    pr = command("probe", "Per-stage gradient attribution (sampling / decision norms per parameter group, total, "
                 "ratio, inner product, cosine, tokens per stage) for six objectives on a generated self-correction "
                 "batch, on a random-init transformer or a local checkpoint; or, with --checkpoint and --rollouts, "
                 "on your own rollouts (decision spans found by markers, see `dsproof segment`).")
    pr.add_argument("--arch", default="qwen2", choices=["gpt2", "llama", "qwen2"], help="architecture (random init)")
    pr.add_argument("--size", default="tiny", choices=["tiny", "0.5b"], help="model size (random init)")
    pr.add_argument("--checkpoint", default=None, type=_existing_path,
                    help="local path of a HF checkpoint (overrides --arch/--size)")
    pr.add_argument("--baseline", action="store_true",
                    help="with --checkpoint: also probe a random init of the same config and print its ratio beside "
                         "the checkpoint's, to read the ratio against chance (doubles the cost)")
    pr.add_argument("--baseline-seed", type=nonnegative_int, default=0, help="seed of the --baseline random init")
    pr.add_argument("--device", default="cpu", type=_device, help="torch device (cpu, cuda, cuda:N)")
    pr.add_argument("--dtype", default="fp64", choices=DTYPES, help="model dtype")
    pr.add_argument("--batch", type=positive_int, default=4, help="trajectories in the batch")
    pr.add_argument("--attempt", type=positive_int, default=16, help="tokens per attempt")
    pr.add_argument("--json", action="store_true",
                    help="print JSON: per objective the stage norms, total, ratio, inner product, cosine, per-group "
                         "norms and tokens per stage")
    pr.add_argument("--rollouts", default=None, type=_existing_path,
                    help="with --checkpoint: probe these rollouts (JSONL: prompt, response, reward or advantage; "
                         "optional group, old_logp, ref_logp) instead of a generated batch")
    rollout_options(pr)
    pr.add_argument("--objective", nargs="+", default=None, choices=list(ROLLOUT_OBJECTIVES),
                    help="with --rollouts: the objectives (None: all, the kl ones only when the file has ref_logp)")
    pr.add_argument("--micro-batch", type=positive_int, default=8,
                    help="with --rollouts: rollouts per forward/backward; the stage gradients are accumulated")
    pr.add_argument("--compare", default=None, type=_existing_path,
                    help="with --rollouts: a second checkpoint (e.g. the RL model of an SFT --checkpoint) probed on the "
                         "same rollouts; prints the ratio difference with a paired bootstrap CI over rollouts")
    pr.add_argument("--bootstrap", type=positive_int, default=1000, help="with --compare: bootstrap resamples")
    pr.add_argument("--bootstrap-rollouts", type=positive_int, default=256,
                    help="with --compare: the CI uses at most N rollouts, whole GRPO groups drawn at random (it "
                         "keeps one gradient per rollout: memory N x parameters)")
    pr.add_argument("--seed", type=nonnegative_int, default=0,
                    help="with --compare: seed of the bootstrap and its subsample")
    pr.add_argument("--quiet", **quiet)
    pr.set_defaults(fn=cmd_probe)
    sg = command("segment", "Print the stage segmentation of rollouts (decision spans in [[ ]]) as `probe "
                 "--rollouts` will use it, to check the markers before trusting the numbers.")
    sg.add_argument("--checkpoint", required=True, type=_existing_path,
                    help="local checkpoint folder (its tokenizer is used)")
    sg.add_argument("--rollouts", required=True, type=_existing_path, help="the JSONL rollouts file")
    rollout_options(sg)
    sg.add_argument("--limit", type=positive_int, default=5, help="rollouts to print")
    sg.set_defaults(fn=cmd_segment)
    from . import decompose

    decompose.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
