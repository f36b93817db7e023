"""``dsproof decompose``: the paper's §4 analysis on anyone's generations, with no gradient and no GPU.

    dsproof decompose RL.jsonl                                   # one model: per bucket p_s, p_dC, p_dW, §4.2
    dsproof decompose SFT_REFLECT.jsonl --compare RL.jsonl [--sft SFT.jsonl]     # one run: the gain and its split
    dsproof decompose runs/seed0/ runs/seed1/ ...                # several runs (folders), each read as a seed

Each file is read by numerics.generations (attempts, decisions, grades; one STAT_COLUMNS row per response).  Then
everything is the proxy's own code, so a researcher's run is read exactly as the ledger reads the proxy:

* per bucket and model: ``metrics`` and ``bootstrap_ci`` (numerics.reproduce), with the proxy's seeds (the run's
  seed + 100 + bucket); prompts are resampled as clusters when a prompt has several generations;
* per bucket, SFT-reflect -> RL: ``paired_difference`` at the Bonferroni level ``diff_level`` over the
  in-distribution buckets (seed + 200 + bucket) and the Shapley splits ``gain_decomposition`` (three players, and
  four with p_retry);
* the run as a results.json-style dict (:func:`analyse_run`), read by ``dsproof.pooling.comparable_cells`` /
  ``summarise`` and ``dsproof.claims.empirical.sec4_statements``, with the verdict from ``dsproof.verdict``.

On the generations a proxy run exports (``dsproof reproduce --export-generations``) the dict equals that run's
results.json (tests/test_decompose.py).  Beyond the proxy's figures it adds what a researcher needs to trust the
numbers: what was excluded and why, mean attempts, the share of capped responses, and a bootstrap CI of the gain
split and of the decision share (the same replicates as the gain's CI).

A run folder holds one file per model, named by role: ``sft-reflect.jsonl`` and ``rl.jsonl`` (the two compared),
optionally ``sft.jsonl`` (SFT without reflection: condition (2) of the pooling rule); ``.jsonl.gz`` too.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: the models of a run, as the pooling rule names them: SFT without reflection (optional), then the two compared
ROLES = ("sft", "sft-reflect", "rl")
BEFORE, AFTER = "sft-reflect", "rl"
ROLE_LABELS = {"sft": "SFT", "sft-reflect": "SFT-reflect", "rl": "RL", "model": "model"}
#: the gain split's parts (numerics.reproduce.gain_decomposition with RETRY_PLAYERS)
SPLIT_KEYS = ("total", "sampling", "decision", "p_s", "p_retry", "p_dC", "p_dW")
#: the per-bucket table's metrics: key, column
TABLE_METRICS = (("accuracy", "accuracy"), ("p_s", "p_s"), ("p_dC", "p_dC"), ("p_dW", "p_dW"),
                 ("p_retry", "p_retry"), ("pass_at_T", "pass@T"), ("predicted_T", "predicted (T)"),
                 ("predicted_inf", "predicted (T->oo)"))
PLACES = 3  # decimals of every probability and gain printed
JSON_PLACES = 6  # decimals of every float in the JSON
EVIDENCE_ID = "decompose"
NOT_PAIRED = "prompt not in every file of the run"


class DecomposeError(ValueError):
    """A bad invocation or input (one line, exit code 2)."""


# ------------------------------------------------------------------------------------------------------- inputs
@dataclass
class RunSpec:
    """One run: its label and its files by role (``model`` for a file read alone)."""

    label: str
    files: dict[str, str]

    @property
    def paired(self) -> bool:
        return BEFORE in self.files and AFTER in self.files


def _role_file(folder: Path, role: str) -> str | None:
    for suffix in (".jsonl", ".jsonl.gz"):
        if (folder / f"{role}{suffix}").is_file():
            return str(folder / f"{role}{suffix}")
    return None


def run_specs(paths: list[str], compare: str | None = None, sft: str | None = None) -> list[RunSpec]:
    """The runs a command line names: files (one model each, or with ``compare`` one run: the file is SFT-reflect,
    ``compare`` RL, ``sft`` SFT) or folders (one run each, files named by role)."""
    if not paths:
        raise DecomposeError("no generations given: a file, or a run folder holding sft-reflect.jsonl and rl.jsonl")
    kinds = {Path(p).is_dir() for p in paths}
    for p in paths:
        if not Path(p).exists():
            raise DecomposeError(f"no such file or directory: {p}")
    if kinds == {True, False}:
        raise DecomposeError("give files or run folders, not both")
    if True in kinds:
        if compare or sft:
            raise DecomposeError("--compare and --sft go with one file; a run folder names its files by role "
                                 "(sft-reflect.jsonl, rl.jsonl, sft.jsonl)")
        specs = []
        for p in paths:
            files = {r: f for r in ROLES if (f := _role_file(Path(p), r))}
            missing = [r for r in (BEFORE, AFTER) if r not in files]
            if missing:
                raise DecomposeError(f"{p}: no {' or '.join(f'{r}.jsonl[.gz]' for r in missing)} (a run folder "
                                     "holds one file per model, named by role)")
            specs.append(RunSpec(str(p).rstrip("/"), files))
        return specs
    if compare:
        if len(paths) != 1:
            raise DecomposeError("--compare takes one file to compare with (the SFT-reflect generations); for "
                                 "several runs give run folders")
        return [RunSpec("run", {"sft-reflect": paths[0], "rl": compare} | ({"sft": sft} if sft else {}))]
    if sft:
        raise DecomposeError("--sft needs --compare (condition (2) of the pooling rule compares SFT with SFT-reflect "
                             "in a run)")
    return [RunSpec(p, {"model": p}) for p in paths]


def bucket_seed(b) -> int:
    """A bucket's offset of the bootstrap seeds: its number (the proxy's digit count), or for a label a checksum."""
    return b if isinstance(b, int) else zlib.crc32(str(b).encode()) % 100_000


def _bucket_sort(buckets) -> list:
    order = {b: i for i, b in enumerate(buckets)}
    return sorted(buckets, key=lambda b: (0, b, 0) if isinstance(b, int) else (1, 0, order[b]))


# ------------------------------------------------------------------------------------------------ one run's dict
@dataclass
class RunAnalysis:
    """One run read: its files, the results-style dict (``data``: what dsproof.pooling reads), the per-bucket counts
    (``counts``: role -> bucket -> prompts, responses, mean attempts, capped share, pass@T defined), the gain split's
    bootstrap (``splits``: bucket -> key -> (estimate, lo, hi), with ``undefined`` replicates; ``split_reps``: the
    replicates), and the responses left out because their prompt is not in every file (role -> line numbers)."""

    spec: RunSpec
    seed: int
    files: dict
    data: dict
    counts: dict = field(default_factory=dict)
    splits: dict = field(default_factory=dict)
    split_reps: dict = field(default_factory=dict)
    unpaired: dict = field(default_factory=dict)
    clustered: set = field(default_factory=set)


def _select(bk, keep: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of bucket ``bk`` whose prompt is in ``keep`` (prompt id -> canonical index), ordered by that index
    (stable: a prompt's rows in file order): (stats, canonical prompt index per row, dropped rows' lines)."""
    ids = bk.ids
    canon = np.array([keep.get(i, -1) for i in ids], dtype=np.int64)
    idx = canon[bk.prompt_of] if len(ids) else np.zeros(0, dtype=np.int64)
    rows = np.flatnonzero(idx >= 0)
    rows = rows[np.argsort(idx[rows], kind="stable")]
    return bk.stats[rows], idx[rows], bk.lines[idx < 0]


def split_replicates(va: np.ndarray, vb: np.ndarray, T: int) -> dict[str, np.ndarray]:
    """The four-player Shapley split (gain_decomposition, RETRY_PLAYERS) on every paired bootstrap replicate at
    once; nan where a replicate leaves p_dC or p_dW undefined."""
    from numerics.reproduce import METRIC_KEYS, RETRY_PLAYERS, gain_decomposition

    a, b = ({k: v[:, i] for i, k in enumerate(METRIC_KEYS)} for v in (va, vb))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        g = gain_decomposition(a, b, T, RETRY_PLAYERS)
    undefined = np.isnan(a["p_dC"]) | np.isnan(a["p_dW"]) | np.isnan(b["p_dC"]) | np.isnan(b["p_dW"])
    return {k: np.where(undefined, np.nan, np.broadcast_to(g[k], undefined.shape)) for k in SPLIT_KEYS}


def _share(sampling, decision):
    """dsproof.pooling.decision_share on arrays: decision / (|sampling| + |decision|)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        size = np.abs(sampling) + np.abs(decision)
        return np.where(size > 0, decision / np.where(size > 0, size, 1), np.nan)


def analyse_run(spec: RunSpec, files: dict, T: int, id_buckets: list, reps: int, seed: int,
                ci_level: float = 0.95) -> RunAnalysis:
    """One run as the proxy pipeline builds it (numerics.reproduce.pipeline): per bucket and model metrics and
    bootstrap CIs, and for a pair the paired differences at the Bonferroni level and the gain splits; returned as a
    RunAnalysis whose ``data`` is a results.json-style dict."""
    from numerics.reproduce import RETRY_PLAYERS, bootstrap_ci, diff_level, gain_decomposition, metrics
    from numerics.reproduce.bootstrap import difference_ci, paired_replicates, percentiles

    roles = [r for r in (*ROLES, "model") if r in spec.files]
    first = BEFORE if spec.paired else roles[0]
    seen = []
    for r in [first] + [r for r in roles if r != first]:
        seen += [b for b in files[r].buckets if b not in seen]
    buckets = _bucket_sort(seen)
    for i, r in enumerate(roles):  # a prompt is in one bucket across the run's files
        for r2 in roles[i + 1:]:
            for b, bk in files[r].buckets.items():
                for b2, bk2 in files[r2].buckets.items():
                    if b2 != b and (both := bk.prompts.keys() & bk2.prompts.keys()):
                        pid = min(both)
                        raise DecomposeError(f"{spec.files[r2]}: prompt {pid!r} is in bucket {b2!r} here and in "
                                             f"bucket {b!r} in {spec.files[r]}: the files of a run must agree")
    ood = [b for b in buckets if b not in id_buckets]
    ids = list(id_buckets)  # the Bonferroni level counts every in-distribution bucket, as the proxy's preset does
    preset = dict(name="decompose", description=spec.label, seed=seed, T=T, bootstrap=reps, id_digits=ids,
                  ood_digits=ood)
    data = dict(status="ok", description=spec.label, preset=preset, models={r: {} for r in roles}, diffs={},
                gains={}, gains_retry={})
    run = RunAnalysis(spec, seed, files, data, counts={r: {} for r in roles}, unpaired={r: [] for r in roles})
    for b in buckets:
        present = [r for r in roles if b in files[r].buckets]
        if spec.paired and len(present) < len(roles):
            for r in present:  # the bucket is missing from a file of the run: nothing in it is paired
                run.unpaired[r] += files[r].buckets[b].lines.tolist()
            continue
        keep: dict[str, int] = {}
        for pid in files[first].buckets[b].prompts:
            if all(pid in files[r].buckets[b].prompts for r in roles):
                keep[pid] = len(keep)
        if not keep:
            for r in roles:
                run.unpaired[r] += files[r].buckets[b].lines.tolist()
            continue
        sel = {}
        for r in roles:
            st, cl, dropped = _select(files[r].buckets[b], keep)
            sel[r] = (st, cl)
            run.unpaired[r] += dropped.tolist()
        single = all(len(sel[r][1]) == len(keep) for r in roles)
        if not single:
            run.clustered.add(b)
        n = str(b)
        off = bucket_seed(b)
        for r in roles:
            st, cl = sel[r]
            run.data["models"][r][n] = dict(
                metrics=metrics(st, T),
                ci=bootstrap_ci(st, T, reps, seed + 100 + off, clusters=None if single else cl))
            attempts = 1 + st[:, 6]
            run.counts[r][n] = dict(prompts=len(keep), responses=len(st), mean_attempts=float(attempts.mean()),
                                    capped_share=float(((st[:, 2] + st[:, 4]) < attempts).mean()),
                                    pass_defined=bool((st[:, 9] > 0).any()))
        if not spec.paired:
            continue
        (sa, ca), (sb, cb) = sel[BEFORE], sel[AFTER]
        va, vb = paired_replicates(sa, sb, T, reps, seed + 200 + off, None if single else (ca, cb))
        data["diffs"][n] = difference_ci(sa, sb, T, va, vb, level=diff_level(ids))
        a, m = data["models"][BEFORE][n]["metrics"], data["models"][AFTER][n]["metrics"]
        if not any(math.isnan(a[k]) or math.isnan(m[k]) for k in ("p_dC", "p_dW")):
            data["gains"][n] = gain_decomposition(a, m, T)
            g = data["gains_retry"][n] = gain_decomposition(a, m, T, RETRY_PLAYERS)
            reps_ = split_replicates(va, vb, T)
            reps_["decision share"] = _share(reps_["sampling"], reps_["decision"])
            point = dict(g, **{"decision share": float(_share(np.array(g["sampling"]), np.array(g["decision"])))})
            run.split_reps[n] = reps_
            run.splits[n] = {k: (point[k], *map(float, percentiles(v, ci_level))) for k, v in reps_.items()}
            run.splits[n]["undefined"] = int(np.isnan(reps_["total"]).sum())
    return run


# -------------------------------------------------------------------------------------------------- the reading
@dataclass
class Reading:
    """The runs read by the sec4-empirical rule: the pooling summary, the two statements with their verdicts, and
    the pooled decision share's bootstrap CI over prompts."""

    summary: object
    statements: list
    evidence: object
    share_ci: tuple[float, float] | None
    share_undefined: int


def read_runs(runs: list[RunAnalysis], description: str, ci_level: float = 0.95) -> Reading:
    """dsproof.pooling's summary of the runs (each a seed) and sec4_statements' verdicts, inside the stated setting
    (the generations are the setting they test)."""
    from . import pooling, verdict
    from .claims.empirical import sec4_statements, summary_values
    from .model import record
    from numerics.reproduce.bootstrap import percentiles

    sm = pooling.summarise("generations", "dsproof decompose", [(r.spec.label, r.data) for r in runs], [],
                           label="generations")
    values = summary_values(sm)
    ev = record(EVIDENCE_ID, "numeric", f"dsproof decompose on {description}", values)
    statements = sec4_statements([(sm, EVIDENCE_ID, True)], model=f"{description}; each run read as a seed")
    for st in statements:
        verdict.evaluate(st, {EVIDENCE_ID: ev})
    share_ci, undefined = None, 0
    pooled = [(c.seed, str(c.n)) for c in sm.pooled]
    if pooled:
        by_seed = {r.seed: r for r in runs}
        s = sum(by_seed[seed].split_reps[n]["sampling"] for seed, n in pooled)
        d = sum(by_seed[seed].split_reps[n]["decision"] for seed, n in pooled)
        share = _share(s, d)
        undefined = int(np.isnan(share).sum())
        share_ci = tuple(map(float, percentiles(share, ci_level)))
    return Reading(sm, statements, ev, share_ci, undefined)


def why(st, summary) -> list[str]:
    """Each condition of a statement's threshold on its (one) outcome: met, not met, or undetermined and why."""
    o = next(o for o in st.outcomes if o.inside)
    out = []
    for c in st.threshold.conditions:
        fig = o.values.get(c.key)
        state = c.holds(o.values)
        word = {True: "met", False: "not met", None: "undetermined"}[state]
        text = f"{c.text()}: {fig.text() if fig else '-'} ({word}"
        if state is None and not summary.pooled:
            text += ": no cell pooled"
        elif state is None and len(summary.seeds) == 1:
            text += ": one run, and leaving it out leaves nothing; give several runs, each read as a seed"
        elif state is None:
            text += ": leaving some run out leaves no pooled cell"
        out.append(text + ")")
    return out


# ------------------------------------------------------------------------------------------------ the whole job
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
                                 f"{', '.join(map(str, _bucket_sort(buckets)))})")
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
                    ood_buckets=[b for b in _bucket_sort(buckets) if b not in id_list],
                    markers=list(opts.markers), regex=list(opts.regexes), tags=list(opts.tags),
                    stop_tags=list(opts.stop_tags), answer_regex=opts.answer_regex, fields=dict(opts.keys),
                    strict=opts.strict, precision=f"probabilities and gains at {PLACES} decimals in the tables, "
                    f"{JSON_PLACES} in the JSON; shares in whole percent")
    examples = {p: [G.show(e) for e in f.examples] for p, f in files.items() if show}
    return Decomposition(settings, runs, reading, notes, examples)


# ------------------------------------------------------------------------------------------------------ outputs
def _num(x, places=PLACES, sign=False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:+.{places}f}" if sign else f"{x:.{places}f}"


def _ci(est, lo, hi, sign=False) -> str:
    if est is None or math.isnan(est):
        return "-"
    return f"{_num(est, sign=sign)} [{_num(lo, sign=sign)}, {_num(hi, sign=sign)}]"


def _pct(x) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.0%}"


def _pct_ci(est, lo, hi) -> str:
    return "-" if est is None or math.isnan(est) else f"{_pct(est)} [{_pct(lo)}, {_pct(hi)}]"


def text_table(head: list[str], rows: list[list[str]]) -> str:
    """A Markdown pipe table with its columns aligned (readable in a terminal, pastable into a paper's source)."""
    cells = [[str(c).replace("|", "\\|") for c in r] for r in [head] + rows]
    w = [max(len(r[i]) for r in cells) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"  # noqa: E731
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (x + 2) for x in w) + "|"] + [line(r) for r in cells[1:]])


def model_rows(dec: Decomposition) -> tuple[list[str], list[list[str]]]:
    """Per run, model and bucket: prompts, responses, the metrics with their CIs, mean attempts, capped share."""
    head = ["run", "model", "bucket", "split", "prompts", "responses", *(c for _, c in TABLE_METRICS),
            "mean attempts", "capped"]
    rows = []
    for run in dec.runs:
        ood = {str(b) for b in run.data["preset"]["ood_digits"]}
        for role, per in run.data["models"].items():
            for n, v in per.items():
                m, ci, c = v["metrics"], v["ci"], run.counts[role][n]
                rows.append([run.spec.label, ROLE_LABELS[role], n, "OOD" if n in ood else "ID", str(c["prompts"]),
                             str(c["responses"]), *(_ci(m[k], *ci[k]) for k, _ in TABLE_METRICS),
                             f"{c['mean_attempts']:.2f}", _pct(c["capped_share"])])
    return _one_run(dec, head, rows)


def _one_run(dec: Decomposition, head: list, rows: list) -> tuple[list, list]:
    """Without the run column where there is one run."""
    if len(dec.runs) > 1:
        return head, rows
    return head[1:], [r[1:] for r in rows]


def gain_rows(dec: Decomposition) -> tuple[list[str], list[list[str]]]:
    """Per run and bucket: the gain RL - SFT-reflect (Bonferroni CI), its split (95% CIs), the decision share and
    whether the pooling rule pools the cell (or why not)."""
    from . import pooling

    head = ["run", "bucket", "split", "gain (accuracy)", "predicted gain", "sampling", "decision", "p_dC part",
            "p_dW part", "decision share", "pooled"]
    rows = []
    for run in dec.runs:
        cells = {str(c.n): c for c in pooling.comparable_cells(run.data)}
        ood = {str(b) for b in run.data["preset"]["ood_digits"]}
        for n, d in run.data["diffs"].items():
            sp = run.splits.get(n)
            part = (lambda k: _ci(*sp[k], sign=True)) if sp else (lambda k: "-")  # noqa: E731
            c = cells.get(n)
            rows.append([run.spec.label, n, "OOD" if n in ood else "ID", _ci(*d["accuracy"], sign=True),
                         part("total"), part("sampling"), part("decision"), part("p_dC"), part("p_dW"),
                         _pct_ci(*sp["decision share"]) if sp else "-",
                         "OOD" if c is None else "yes" if c.excluded is None else f"no: {c.excluded}"])
    return _one_run(dec, head, rows)


def reading_lines(dec: Decomposition) -> list[str]:
    """The pooled reading and each statement's verdict with its conditions."""
    from . import pooling

    rd = dec.reading
    sm = rd.summary
    votes = sm.votes()
    rng = sm.loso_range()
    parts = sm.parts() if sm.pooled else {}
    lines = [f"cells pooled: {len(sm.pooled)} of {len(sm.cells)}"
             + (f" ({', '.join(f'run {c.seed} bucket {c.n}' for c in sm.pooled)})" if sm.pooled else "")
             + ("; excluded: " + ", ".join(f"{k} {v}" for k, v in sm.excluded.items()) if sm.excluded else ""),
             f"pooled decision share: {pooling.fmt_share(sm.share)}"
             + (f" [{_pct(rd.share_ci[0])}, {_pct(rd.share_ci[1])}] (95% bootstrap CI over prompts"
                + (f", {rd.share_undefined} replicates undefined" if rd.share_undefined else "") + ")"
                if rd.share_ci else ""),
             "leaving one run out: " + (f"{rng[0]:.0%} to {rng[1]:.0%}" if rng else "-")
             + f"; runs voting decision {votes['decision']}, sampling {votes['sampling']}, no comparable gain "
               f"{votes['no comparable gain']}",
             ("the decision part: p_dC " + _num(parts["p_dC"], sign=True) + ", p_dW " + _num(parts["p_dW"], sign=True)
              + "; the sampling part: p_s " + _num(parts["p_s"], sign=True) + ", p_retry "
              + _num(parts["p_retry"], sign=True)) if parts else "the decision part: - (no cell pooled)"]
    for st in rd.statements:
        lines.append(f"{st.id}: {st.verdict.upper()}: {st.threshold.text}")
        lines += ["    " + w for w in why(st, sm)]
    return lines


def exclusion_rows(dec: Decomposition) -> tuple[list[str], list[list[str]]]:
    """Every file: lines read, responses kept, and each reason a response was left out, with its count and lines."""
    head = ["file", "lines", "kept", "left out", "reason", "lines left out"]
    rows = []
    done = set()
    for run in dec.runs:
        for role, path in run.spec.files.items():
            f = run.files[role]
            unpaired = sorted(run.unpaired.get(role, []))
            reasons = dict(sorted(f.excluded.items())) | ({NOT_PAIRED: unpaired} if unpaired else {})
            if path in done and not unpaired:
                continue
            done.add(path)
            kept = f.episodes - len(unpaired)
            if not reasons:
                rows.append([path, str(f.lines), str(kept), "0", "-", "-"])
            for reason, lines in reasons.items():
                shown = ", ".join(map(str, lines[:8])) + (f", ... ({len(lines)})" if len(lines) > 8 else "")
                rows.append([path, str(f.lines), str(kept), str(len(lines)), reason, shown])
    return head, rows


def to_text(dec: Decomposition) -> str:
    s = dec.settings
    out = [f"dsproof decompose: {len(dec.runs)} run(s), budget T = {s['T']}"
           + (" (--budget)" if s["budget"] is not None else " (the most attempts of any response)")
           + f", {s['bootstrap']} bootstrap resamples over prompts (seed {s['seed']}); {s['precision']}",
           "in distribution: " + ", ".join(map(str, s["id_buckets"]))
           + (f" (gain CIs at the Bonferroni level {1 - 0.05 / len(s['id_buckets']):.2%})" if dec.reading else "")
           + "; out of distribution: " + (", ".join(map(str, s["ood_buckets"])) or "none")]
    for path, shown in dec.examples.items():
        out += ["", f"{path}, as read (attempts in {{{{ }}}}, decisions in [[ ]]):"] + ["  " + x for x in shown]
    out += ["", "Per bucket and model: estimate [95% bootstrap CI over prompts]; p_dC, p_dW pooled over every decision "
            "taken (visit-weighted); predicted: §4.2 at budget T and T -> oo", text_table(*model_rows(dec))]
    if dec.reading:
        out += ["", "RL - SFT-reflect per bucket: the accuracy gain [paired CI at the Bonferroni level]; the Shapley "
                "split of the predicted gain over p_s, p_retry, p_dC, p_dW [95% CIs, same replicates]: sampling = "
                "p_s + p_retry, decision = p_dC + p_dW; decision share = decision / (|sampling| + |decision|)",
                text_table(*gain_rows(dec)), "", "The sec4-empirical reading (dsproof.pooling, dsproof.verdict; "
                "each run a seed):"] + reading_lines(dec)
    out += ["", "Responses read and left out:", text_table(*exclusion_rows(dec))]
    if dec.notes:
        out += ["", "Notes:"] + [f"- {n}" for n in dec.notes]
    return "\n".join(out) + "\n"


def _clean(x):
    """JSON-ready: floats at JSON_PLACES decimals, nan -> null, tuples -> lists, numpy scalars -> Python."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float):
        return None if not math.isfinite(x) else round(x, JSON_PLACES) + 0.0
    return x


def to_json(dec: Decomposition) -> dict:
    """The whole result: settings, per run its files (what was read and left out), its results-style dict, counts
    and gain splits; the reading with the statements and their verdicts; notes."""
    from . import pooling

    runs = []
    for run in dec.runs:
        files = {}
        for role, path in run.spec.files.items():
            f = run.files[role]
            files[role] = dict(path=path, lines=f.lines, responses=f.episodes, attempts=f.attempts,
                               decision_spans=f.decisions_found, responses_without_decision=f.no_decision,
                               truncated=f.truncated, capped=f.capped, attempts_without_answer=f.unanswered,
                               graded_by=sorted(f.graded_by), excluded=dict(sorted(f.excluded.items())),
                               not_paired=sorted(run.unpaired.get(role, [])))
        cells = [dict(bucket=str(c.n), pooled=c.excluded is None, excluded=c.excluded)
                 for c in pooling.comparable_cells(run.data)] if run.spec.paired else []
        runs.append(dict(label=run.spec.label, seed=run.seed, files=files, results=run.data, counts=run.counts,
                         splits=run.splits, cells=cells))
    out = dict(command="dsproof decompose", settings=dec.settings, runs=runs, notes=dec.notes)
    if dec.reading:
        rd, sm = dec.reading, dec.reading.summary
        out["reading"] = dict(
            pooling_rule=pooling.POOLING_RULE, cells_pooled=len(sm.pooled), cells=len(sm.cells),
            pooled=[dict(run=c.seed, bucket=str(c.n)) for c in sm.pooled], excluded=sm.excluded,
            decision_share=sm.share, decision_share_ci=rd.share_ci, decision_share_ci_undefined=rd.share_undefined,
            leave_one_run_out={str(k): v for k, v in sm.loso.items()}, votes=sm.votes(),
            parts=sm.parts() if sm.pooled else None,
            values={k: v.to_json() for k, v in rd.evidence.values.items()},
            statements=[dict(id=st.id, words=st.words, threshold=st.threshold.text, verdict=st.verdict,
                             conditions=why(st, sm)) for st in rd.statements])
    return _clean(out)


# ------------------------------------------------------------------------------------------------------ figures
COLOURS = {"sft": "C0", "sft-reflect": "C2", "rl": "C3", "model": "C1"}
PART_COLOURS = (("p_s", "#9ecae1"), ("p_retry", "#3182bd"), ("p_dC", "#fdae6b"), ("p_dW", "#e6550d"))


def figure_calibration(dec: Decomposition):
    """§4.2 calibration: predicted accuracy (budget T, filled; T -> oo, open) against observed, every run, model and
    bucket, with 95% bootstrap CIs over prompts; the dotted line is predicted = observed."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.8))
    label_points = len(dec.runs) == 1
    for run in dec.runs:
        for role, per in run.data["models"].items():
            for n, v in per.items():
                m, ci = v["metrics"], v["ci"]
                for key, fill in (("predicted_T", None), ("predicted_inf", "none")):
                    if math.isnan(m[key]):
                        continue
                    ax.errorbar(m["accuracy"], m[key], xerr=[[max(m["accuracy"] - ci["accuracy"][0], 0)],
                                                             [max(ci["accuracy"][1] - m["accuracy"], 0)]],
                                yerr=[[max(m[key] - ci[key][0], 0)], [max(ci[key][1] - m[key], 0)]], fmt="o",
                                ms=4, capsize=2, lw=0.8, color=COLOURS[role], mfc=fill,
                                label=f"{ROLE_LABELS[role]}, " + ("T = %d" % dec.settings["T"] if fill is None
                                                                   else "T -> oo"))
                if label_points and not math.isnan(m["predicted_T"]):
                    ax.annotate(n, (m["accuracy"], m["predicted_T"]), fontsize=7, xytext=(3, 3),
                                textcoords="offset points")
    h, lab = ax.get_legend_handles_labels()
    uniq = dict(zip(lab, h))
    ax.legend(uniq.values(), uniq.keys(), fontsize=7, ncol=2, loc="upper left")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("observed accuracy")
    ax.set_ylabel("§4.2 predicted accuracy")
    ax.set_title("predicted against observed, per bucket", fontsize=10)
    fig.tight_layout()
    return fig


def figure_gain_split(dec: Decomposition):
    """RL's gain over SFT-reflect per bucket and run: the Shapley split of the predicted gain (bars: p_s and
    p_retry, the sampling part, in blues; p_dC and p_dW, the decision part, in oranges; stacked above and below 0)
    and the observed gain with its paired CI at the Bonferroni level (black); faded bars: cells the pooling rule
    does not pool."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from . import pooling

    cols = []
    for run in dec.runs:
        pooled = {str(c.n): c.excluded is None for c in pooling.comparable_cells(run.data)}
        for n, d in run.data["diffs"].items():
            cols.append((n, run, d, run.data["gains_retry"].get(n), pooled.get(n)))
    buckets = list(dict.fromkeys(n for n, *_ in cols))
    per = max(1, len(dec.runs))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.32 * len(cols) + 1.5 * len(buckets)), 4.2))
    x, ticks = 0.0, []
    for b in buckets:
        start = x
        for n, run, d, g, pooled in [c for c in cols if c[0] == b]:
            alpha = 1.0 if pooled else 0.35
            if g:
                up = down = 0.0
                for k, colour in PART_COLOURS:
                    v = g[k]
                    base = up if v >= 0 else down
                    ax.bar(x, v, bottom=base, width=0.8, color=colour, alpha=alpha, lw=0)
                    if v >= 0:
                        up += v
                    else:
                        down += v
            est, lo, hi = d["accuracy"]
            ax.errorbar(x, est, yerr=[[max(est - lo, 0)], [max(hi - est, 0)]], fmt="o", color="k", ms=3, capsize=2,
                        lw=0.8)
            x += 1
        ticks.append(((start + x - 1) / 2, b))
        x += 0.8
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks([t for t, _ in ticks], [f"bucket {b}" + (f"\n({per} runs)" if per > 1 else "") for _, b in ticks])
    ax.set_ylabel("accuracy gain, RL - SFT-reflect")
    handles = [Patch(color=c, label=f"{k} ({'sampling' if k in ('p_s', 'p_retry') else 'decision'})")
               for k, c in PART_COLOURS]
    handles.append(Line2D([], [], color="k", marker="o", ms=3, lw=0.8, label="observed gain (Bonferroni CI)"))
    ax.legend(handles=handles, fontsize=7, loc="best")
    ax.set_title("the gain split (faded: not pooled)", fontsize=10)
    fig.tight_layout()
    return fig


def write_outputs(dec: Decomposition, out: Path) -> list[Path]:
    """out/decompose.{txt,json,html} and the two figures beside them (PNG, no timestamp or version inside)."""
    import jinja2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import pooling

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    figs = {"calibration.png": (figure_calibration, figure_calibration.__doc__)}
    if dec.reading:
        figs["gain_split.png"] = (figure_gain_split, figure_gain_split.__doc__)
    for name, (fn, _) in figs.items():
        fig = fn(dec)
        fig.savefig(out / name, dpi=90, metadata={"Software": None})
        plt.close(fig)
        written.append(out / name)
    text = to_text(dec)
    (out / "decompose.txt").write_text(text)
    (out / "decompose.json").write_text(json.dumps(to_json(dec), indent=1) + "\n")
    env = jinja2.Environment(loader=jinja2.PackageLoader("dsproof", "templates"), autoescape=True,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    page = env.get_template("decompose.html.j2").render(
        dec=dec, settings=dec.settings, model_table=model_rows(dec), gain_table=gain_rows(dec) if dec.reading else None,
        reading=reading_lines(dec) if dec.reading else None, statements=dec.reading.statements if dec.reading else [],
        why=lambda st: why(st, dec.reading.summary), exclusions=exclusion_rows(dec), notes=dec.notes,
        figures=[(name, " ".join(doc.split())) for name, (_, doc) in figs.items()], rule=pooling.POOLING_RULE,
        examples=dec.examples)
    (out / "decompose.html").write_text(page)
    return written + [out / "decompose.txt", out / "decompose.json", out / "decompose.html"]


# ---------------------------------------------------------------------------------------------------------- CLI
def _field(text: str) -> tuple[str, str]:
    import argparse

    from numerics.generations import FIELDS

    name, sep, key = text.partition("=")
    if not sep or name not in FIELDS or not key:
        raise argparse.ArgumentTypeError(f"expected FIELD=KEY with FIELD one of {', '.join(FIELDS)}, got {text!r}")
    return name, key


def add_parser(sub) -> None:
    """Register ``dsproof decompose`` on the subparsers ``sub`` of dsproof.cli."""
    import argparse

    from .cli import _positive_int, _rollout_options, _seed

    text = ("§4's analysis on anyone's multi-attempt generations (JSONL, one response a line: prompt_id, bucket, "
            "response, answer): per bucket accuracy, p_s, p_dC, p_dW (visit-weighted), the §4.2 prediction, mean "
            "attempts and capped share with bootstrap CIs over prompts; with --compare (or run folders) RL's gain "
            "over SFT-reflect split into sampling and decision parts, read by the sec4-empirical pooling and "
            "verdict rule.")
    p = sub.add_parser("decompose", help=text, description=text, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("generations", nargs="*", metavar="GENERATIONS",
                   help="a generations file (.jsonl or .jsonl.gz): one model; with --compare the SFT-reflect model. "
                        "Or run folders, each holding sft-reflect.jsonl, rl.jsonl and optionally sft.jsonl (.gz too): "
                        "one run each, read as a seed")
    p.add_argument("--compare", default=None, metavar="RL.jsonl", help="the RL model's generations on the same prompts")
    p.add_argument("--sft", default=None, metavar="SFT.jsonl",
                   help="with --compare: SFT without reflection, for condition (2) of the pooling rule")
    p.add_argument("--budget", type=_positive_int, default=None,
                   help="the attempt budget T: a response reaching T attempts is capped (its last attempt has no "
                        "decision); more is excluded (None: T = the most attempts of any response, nothing capped but "
                        "truncated responses)")
    p.add_argument("--id-buckets", nargs="+", default=None, metavar="BUCKET",
                   help="the in-distribution buckets: the Bonferroni level of the gain CIs and the pooling use them "
                        "(None: every bucket)")
    p.add_argument("--field", nargs="+", type=_field, default=[], metavar="FIELD=KEY", dest="fields",
                   help="read a field from another key, dotted for a nested one, e.g. prompt_id=uid response=output "
                        "answer=reward_model.ground_truth")
    p.add_argument("--answer-regex", default=None,
                   help="an attempt's answer is the last match (its first group, if any); None: the last number, "
                        "numerics.generations.DEFAULT_ANSWER_REGEX")
    _rollout_options(p)
    p.add_argument("--stop-tags", nargs="+", default=None,
                   help="decision spans meaning STOP (None: '<stop>' '[STOP]'); every other span is a RESAMPLE")
    p.add_argument("--bootstrap", type=_positive_int, default=1000, help="bootstrap resamples")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the first run's bootstrap (run i: seed + i)")
    p.add_argument("--strict", action="store_true",
                   help="a response that cannot be read as attempts and decisions is an error, not an exclusion")
    p.add_argument("--show", type=_seed, default=0, metavar="N",
                   help="print the first N responses of each file as read (attempts, answers, decisions)")
    p.add_argument("--json", action="store_true", help="print the JSON instead of the tables")
    p.add_argument("--out", default=None, help="also write OUT/decompose.{txt,json,html}, calibration.png, "
                                               "gain_split.png")
    p.set_defaults(fn=cmd_decompose)


def cmd_decompose(args) -> int:
    import sys

    from numerics import generations as G

    try:
        specs = run_specs(args.generations, args.compare, args.sft)
        kw = dict(budget=args.budget, keys=tuple(args.fields), strict=args.strict,
                  regexes=tuple(args.regex), tags=tuple(args.tags))
        if args.markers is not None:
            kw["markers"] = tuple(args.markers)
        if args.answer_regex is not None:
            kw["answer_regex"] = args.answer_regex
        if args.stop_tags is not None:
            kw["stop_tags"] = tuple(args.stop_tags)
        opts = G.Options(**kw)
        ids = None
        if args.id_buckets:
            ids = [G.bucket_key(b, "--id-buckets", "bucket") for b in args.id_buckets]
        dec = decompose(specs, opts, ids, args.bootstrap, args.seed, show=args.show)
    except (DecomposeError, G.GenerationsError, ValueError) as exc:
        print(f"dsproof decompose: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(to_json(dec), indent=1))
    else:
        print(to_text(dec), end="")
    if args.out:
        paths = write_outputs(dec, Path(args.out))
        print(f"wrote {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0
