"""The estimates of one run and the reading of several: per bucket and model the proxy's metrics and bootstrap CIs,
for a pair the paired differences and the gain splits with their bootstrap (:func:`analyse_run`), and the runs read
as seeds by the sec4-empirical pooling and verdict rule (:func:`read_runs`, :func:`why`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .inputs import AFTER, BEFORE, ROLES, DecomposeError, RunSpec, bucket_seed, bucket_sort

#: the gain split's parts (numerics.reproduce.gain_decomposition with RETRY_PLAYERS)
SPLIT_KEYS = ("total", "sampling", "decision", "p_s", "p_retry", "p_dC", "p_dW")
EVIDENCE_ID = "decompose"


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
    buckets = bucket_sort(seen)
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
    from .. import pooling, verdict
    from ..claims.empirical import sec4_statements, summary_values
    from ..model import record
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
