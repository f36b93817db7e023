"""A §4 run's figures, its table.md, and ``dsproof reproduce``'s orchestration: run a preset, save it under
reports/reproduce/<run>/ (numerics.reproduce.storage), draw its figures, and rewrite the pooled summaries
(dsproof.pooling)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from numerics.reproduce import RunResult, results_table
from numerics.reproduce import run as run_preset
from numerics.reproduce.storage import OUT, default_out, load_run, resolve_preset, run_folder, save

from . import pooling
from .render import markdown_table

MODEL_COLOURS = {"base": "C7", "sft": "C0", "sft-reflect": "C2", "rl": "C3"}


#: the metrics figure's panels: metric key, panel title (what the probability is of)
METRIC_PANELS = (("accuracy", "accuracy: final answer correct"), ("p_s", "p_s: first attempt correct"),
                 ("pass_at_T", "pass@T: some attempt correct"), ("p_retry", "p_retry: an attempt after the first correct"),
                 ("p_dC", "p_dC: STOP after a correct attempt"), ("p_dW", "p_dW: RESAMPLE after a wrong attempt"))


def figure_metrics(res: RunResult) -> plt.Figure:
    """Accuracy, p_s, pass@T, p_retry, p_dC and p_dW against the number of digits n for every model (base, SFT,
    SFT with reflection, RL), with 95% bootstrap CIs over prompts; the shaded digit counts are out of distribution.
    One panel per metric, two rows of three."""
    fig, axes = plt.subplots(2, 3, figsize=(12, 7.2), sharex=True, sharey=True)
    for ax, (k, title) in zip(axes.flat, METRIC_PANELS):
        for name, per_n in res.models.items():
            ns = sorted(per_n)
            m = np.array([per_n[n]["metrics"][k] for n in ns])
            lo = np.array([per_n[n]["ci"][k][0] for n in ns])
            hi = np.array([per_n[n]["ci"][k][1] for n in ns])
            ax.errorbar(ns, m, yerr=[np.maximum(m - lo, 0), np.maximum(hi - m, 0)], fmt="o-", capsize=3,
                        label=name, color=MODEL_COLOURS.get(name))
        for n in res.preset["ood_digits"]:
            ax.axvspan(n - 0.5, n + 0.5, color="grey", alpha=0.12, lw=0)
        ax.set_title(title, fontsize=12)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xticks(sorted({n for per_n in res.models.values() for n in per_n}))
        ax.tick_params(labelsize=11, labelbottom=True, labelleft=True)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("digits n (grey: out of distribution)", fontsize=11)
    for ax in axes[:, 0]:
        ax.set_ylabel("probability", fontsize=11)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=11, frameon=False)
    fig.suptitle(f"{res.preset['a']} x n-digit multiplication, budget T = {res.preset['T']}, seed "
                 f"{res.preset['seed']}", fontsize=12)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def figure_calibration(res: RunResult) -> plt.Figure:
    """Predicted accuracy (budget T) vs observed, every model and digit count, with CIs: the §4.2 formula (one
    accuracy p_s for every attempt, filled) and the same with the retries' own accuracy p_retry (open)."""
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    for key, fill, tag in (("predicted_T", None, "§4.2"), ("predicted_T_retry", "none", "with p_retry")):
        for name, per_n in res.models.items():
            for n, v in per_n.items():
                m, ci = v["metrics"], v["ci"]
                if math.isnan(m.get(key, math.nan)):
                    continue
                ax.errorbar(m["accuracy"], m[key],
                            xerr=[[max(m["accuracy"] - ci["accuracy"][0], 0)],
                                  [max(ci["accuracy"][1] - m["accuracy"], 0)]],
                            yerr=[[max(m[key] - ci[key][0], 0)], [max(ci[key][1] - m[key], 0)]],
                            fmt="o", capsize=2, color=MODEL_COLOURS.get(name), mfc=fill, label=f"{name}, {tag}")
    h, lab = ax.get_legend_handles_labels()
    uniq = dict(zip(lab, h))
    ax.legend(uniq.values(), uniq.keys(), fontsize=7, ncol=2)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlabel("observed accuracy")
    ax.set_ylabel(f"predicted accuracy (budget T = {res.preset['T']})")
    fig.tight_layout()
    return fig


def figure_attribution(res: RunResult) -> plt.Figure:
    """The per-stage gradient attribution ratio during SFT (reflection demos) and RL (surrogate)."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for phase, c in (("sft-reflect", "C2"), ("rl", "C3")):
        rows = [a for a in res.attribution if a["phase"] == phase]
        if rows:
            ax.plot([a["step"] for a in rows], [a["ratio"] for a in rows], "o-", color=c,
                    label=f"{phase} ({rows[0]['objective']})")
    ax.set_yscale("log")
    ax.set_xlabel("optimiser step within the phase")
    ax.set_ylabel("||g_sampling|| / ||g_decision||")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"metrics": figure_metrics, "calibration": figure_calibration, "attribution": figure_attribution}


def draw(res: RunResult, out: Path) -> list[str]:
    """Draw every figure of FIGURES for a run into ``out``; returns the file names."""
    names = []
    for name, fn in FIGURES.items():
        fig = fn(res)
        fig.savefig(out / f"{name}.png", dpi=80)
        plt.close(fig)
        names.append(f"{name}.png")
    return names


def redraw(out: Path = OUT) -> list[Path]:
    """Redraw the figures of every saved run from its results.json (``dsproof report`` calls this, so saved runs
    always use the current figure code)."""
    done = []
    for p in sorted(Path(out).glob("*/results.json")):
        draw(load_run(p), p.parent)
        done.append(p.parent)
    return done


def figure_caption(name: str) -> str:
    """A run figure's caption: the docstring of the function that draws it (FIGURES), so a figure and its caption
    have one home."""
    import inspect

    fn = FIGURES.get(name)
    return " ".join(inspect.getdoc(fn).split()) if fn and fn.__doc__ else ""


def table_markdown(res: RunResult) -> str:
    """table.md: the run's Table-1-like rows."""
    table = results_table(res)
    header = list(table[0])
    return (f"# Reproduction, preset `{res.preset['name']}`\n\n{res.preset['description']}\n\n"
            "Values: estimate [95% bootstrap CI over prompts]; one sampled episode per prompt at temperature 1.\n\n"
            + markdown_table(header, [[r[h] for h in header] for r in table]) + "\n")


def write_run(res: RunResult, models: dict, out: Path) -> Path:
    """Save a run under ``out``: results.json and checkpoints (storage.save), its figures and table.md."""
    out.mkdir(parents=True, exist_ok=True)
    figs = draw(res, out)
    path = save(res, models, out, results_table(res), figs)
    (out / "table.md").write_text(table_markdown(res))
    return path


def reproduce(preset: str, out: Path | None = None, device: str | None = None, progress=None,
              export_generations: bool = False, **overrides) -> Path:
    """Run a named preset (optionally on another device / with field overrides) and save it under
    out/<run folder> (storage.run_folder: the preset, its recipe, -seed<N>); then rewrite out/seeds.md and
    out/recipes.md.  ``out`` defaults to storage.default_out.  With ``export_generations`` the evaluation episodes
    are also written, one file per model, to <run folder>/generations/<model>.jsonl.gz (the format ``dsproof
    decompose`` reads; numerics.generations)."""
    p = resolve_preset(preset, device, **overrides)
    out = default_out(preset) if out is None else out
    res, models = run_preset(p, progress=progress, export_generations=export_generations)
    path = write_run(res, models, Path(out) / run_folder(preset, p))
    if export_generations:
        from numerics.generations import write_jsonl

        for name, lines in res.generations.items():
            write_jsonl(lines, path.parent / "generations" / f"{name}.jsonl.gz")
    pooling.write_seeds_summary(Path(out))
    pooling.write_recipes_summary(Path(out))
    return path
