"""The whole job of ``dsproof decompose``: read every file of every run (numerics.generations), estimate each run,
read the runs by the sec4-empirical rule where they compare SFT-reflect with RL, and note what a reader should know
(:func:`decompose`, returning a :class:`Decomposition`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .estimate import Reading, RunAnalysis, analyse_run, read_runs
from .inputs import DecomposeError, RunSpec, bucket_sort

PLACES = 3  # decimals of every probability and gain printed
JSON_PLACES = 6  # decimals of every float in the JSON


@dataclass
class Decomposition:
    """Everything the command computed: settings, the runs, the reading (None without a pair), notes."""

    settings: dict
    runs: list[RunAnalysis]
    reading: Reading | None
    notes: list[str]
    examples: dict = field(default_factory=dict)  # file -> [shown lines]


def decompose(specs: list[RunSpec], opts=None, id_buckets: list | None = None, reps: int = 1000, seed: int = 0,
              show: int = 0, description: str | None = None) -> Decomposition:
    """Read every file of every run (numerics.generations), build each run's results-style dict and, where the runs
    compare SFT-reflect with RL, read them by the sec4-empirical rule.  ``opts``: numerics.generations.Options (the
    budget T: None takes the most attempts of any response); ``id_buckets``: the in-distribution buckets (None:
    all); ``seed``: the first run's seed (run i has seed + i; the bootstrap seeds follow the proxy's)."""
    from numerics import generations as G

    opts = opts or G.Options()
    if any(s.paired for s in specs) and not all(s.paired for s in specs):
        raise DecomposeError("every run must compare SFT-reflect with RL, or none")
    files = {}
    for s in specs:
        for path in s.files.values():
            if path not in files:
                files[path] = G.read_generations(path, opts, examples=show)
    T = opts.budget if opts.budget is not None else max(f.max_attempts for f in files.values())
    buckets = []
    for f in files.values():
        buckets += [b for b in f.buckets if b not in buckets]
    if id_buckets is None:
        id_list = list(buckets)
    else:
        unknown = [b for b in id_buckets if b not in buckets]
        if unknown:
            raise DecomposeError(f"--id-buckets {', '.join(map(str, unknown))}: no such bucket (the files have "
                                 f"{', '.join(map(str, bucket_sort(buckets)))})")
        id_list = list(id_buckets)
    runs = [analyse_run(s, {r: files[p] for r, p in s.files.items()}, T, id_list, reps, seed + i)
            for i, s in enumerate(specs)]
    notes = []
    if opts.budget is None:
        notes.append(f"no --budget: T = {T}, the most attempts of any response; only truncated responses are capped, "
                     "every other response that ends after an attempt STOPped there")
    for path, f in files.items():
        if f.episodes and not f.decisions_found:
            notes.append(f"{path}: no decision span in any response: every response is one attempt and a STOP, so "
                         "p_dW counts only STOPs; check the markers (--show)")
        if f.unanswered:
            more = ", ..." if f.unanswered > len(f.unanswered_lines) else ""
            notes.append(f"{path}: {f.unanswered} attempt(s) with no match of the answer regex, graded wrong (lines "
                         f"{', '.join(map(str, f.unanswered_lines))}{more})")
    if not any(r.counts[m][n]["pass_defined"] for r in runs for m in r.counts for n in r.counts[m]):
        notes.append("pass@T not defined: no line has fresh_correct")
    clustered = sorted({str(b) for r in runs for b in r.clustered})
    if clustered:
        notes.append(f"bucket(s) {', '.join(clustered)}: some prompt has several generations; the bootstrap resamples "
                     "prompts with all their generations")
    reading = None
    if specs[0].paired:
        if not all("sft" in s.files for s in specs):
            notes.append("condition (2) of the pooling rule (reflection-SFT did not lower p_s) not checked: no SFT "
                         "generations (--sft, or sft.jsonl in the run folder)")
        desc = description or (f"{len(specs)} run(s) of generations, SFT-reflect -> RL")
        reading = read_runs(runs, desc)
    settings = dict(T=T, budget=opts.budget, bootstrap=reps, seed=seed, ci_level=0.95, id_buckets=id_list,
                    ood_buckets=[b for b in bucket_sort(buckets) if b not in id_list],
                    markers=list(opts.markers), regex=list(opts.regexes), tags=list(opts.tags),
                    stop_tags=list(opts.stop_tags), answer_regex=opts.answer_regex, fields=dict(opts.keys),
                    strict=opts.strict, precision=f"probabilities and gains at {PLACES} decimals in the tables, "
                    f"{JSON_PLACES} in the JSON; shares in whole percent")
    examples = {p: [G.show(e) for e in f.examples] for p, f in files.items() if show}
    return Decomposition(settings, runs, reading, notes, examples)
