"""``dsproof decompose``'s outputs: the tables and the reading as text (:func:`to_text`), the whole result as JSON
(:func:`to_json`), and the files :func:`write_outputs` writes (text, JSON, the HTML page and the two figures)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .estimate import why
from .inputs import ROLE_LABELS
from .pipeline import JSON_PLACES, PLACES, Decomposition
from .plots import figure_calibration, figure_gain_split

#: the per-bucket table's metrics: key, column
TABLE_METRICS = (("accuracy", "accuracy"), ("p_s", "p_s"), ("p_dC", "p_dC"), ("p_dW", "p_dW"),
                 ("p_retry", "p_retry"), ("pass_at_T", "pass@T"), ("predicted_T", "predicted (T)"),
                 ("predicted_inf", "predicted (T->oo)"))
NOT_PAIRED = "prompt not in every file of the run"


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
    from .. import pooling

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
    from .. import pooling

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
    from .. import pooling

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


def write_outputs(dec: Decomposition, out: Path) -> list[Path]:
    """out/decompose.{txt,json,html} and the two figures beside them (PNG, no timestamp or version inside)."""
    import jinja2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .. import pooling

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
