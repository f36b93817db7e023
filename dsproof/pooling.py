"""The §4 pooling rule and its typed summary: which (seed, digit count) cells of saved runs compare SFT-reflect with RL
meaningfully, the decision part's share of RL's gain pooled over them, per seed and leaving one seed out.  The
sec4-empirical claim reads the proxies through it, and ``dsproof decompose`` reads anyone's generations through it:
one rule, one implementation.

A run is read from its results.json dict (numerics.reproduce.storage): ``models[m][n]`` with ``metrics`` and ``ci``
for m in sft, sft-reflect, rl; ``diffs[n]['accuracy']`` (RL - SFT-reflect, paired CI); ``gains_retry[n]`` (the
Shapley split over p_s, p_retry, p_dC, p_dW) and ``gains[n]`` (the §4.2 three-way split); ``preset``'s ``seed``,
``id_digits`` and ``ood_digits``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from numerics.reproduce import PRESETS
from numerics.reproduce.storage import OUT, PREFERENCE, RECIPE_FIELDS, recipe_name, recipe_value, same_settings, \
    saved_runs

#: the two proxies, side by side: the attempt format, its label, and the preset-name suffix of its saved runs
FORMATS = (("answer", "answer-only", ""), ("cot", "chain of thought", "-cot"))
POOLING_RULE = ("a cell (one seed, one in-distribution digit count) is pooled when (1) the gain split exists (p_dC "
                "and p_dW defined for SFT-reflect and RL), (2) reflection-SFT did not lower first-attempt accuracy: "
                "the 95% CIs of p_s do not put SFT-reflect below SFT (where they do, RL can gain by undoing "
                "the damage the reflection demonstrations did, which is a property of how the demonstrations were "
                "built and not the paper's mechanism), and (3) RL's accuracy gain over SFT-reflect is significant "
                "(paired bootstrap CI at 1 - 0.05/k, Bonferroni over the k in-distribution digit counts, excludes "
                "0: with no gain there is nothing to attribute)")
#: why a cell is not pooled (POOLING_RULE's conditions 1-3)
NO_SPLIT, LOWERED_PS, NOT_SIGNIFICANT = ("no gain split (a decision rate undefined)", "reflection-SFT lowered p_s",
                                         "RL's gain not significant")
VOTES = ("decision", "sampling", "no comparable gain")


@dataclass(frozen=True)
class Cell:
    """One (seed, digit count) comparison SFT-reflect -> RL: the accuracy gain (estimate, CI), its Shapley split over
    p_s, p_retry, p_dC, p_dW (``split``: with total, sampling and decision; None where a rate is undefined), the §4.2
    three-way split (``split3``) and why it is not pooled (``excluded``; None when it is)."""

    seed: int
    n: int | str
    gain: tuple[float, float, float]
    split: dict | None
    split3: dict | None
    excluded: str | None


def decision_share(sampling: float, decision: float) -> float:
    """decision / (|sampling| + |decision|): the decision part's share of the gain (nan when both are 0)."""
    size = abs(sampling) + abs(decision)
    return decision / size if size > 0 else float("nan")


def comparable_cells(data: dict) -> list[Cell]:
    """Every in-distribution cell of one run with its SFT-reflect -> RL gain, its gain split and whether it is pooled
    (POOLING_RULE).  Without an 'sft' model condition (2) is not checked."""
    ood = {str(n) for n in data["preset"]["ood_digits"]}
    cells = []
    for n, d in data["diffs"].items():
        if str(n) in ood:
            continue
        est, lo, hi = d["accuracy"]
        g = data.get("gains_retry", {}).get(n)
        lowered = False
        if "sft" in data["models"]:
            sft_ci, refl_ci = (data["models"][m][n]["ci"]["p_s"] for m in ("sft", "sft-reflect"))
            lowered = refl_ci[1] < sft_ci[0]
        why = NO_SPLIT if not g else LOWERED_PS if lowered else NOT_SIGNIFICANT if not lo > 0 else None
        cells.append(Cell(data["preset"]["seed"], int(n) if str(n).lstrip("-").isdigit() else n, (est, lo, hi), g,
                          data.get("gains", {}).get(n), why))
    return cells


def pooled(cells) -> list[Cell]:
    return [c for c in cells if c.excluded is None]


def pooled_share(cells) -> float:
    """The decision part's share of the summed gain split over the pooled cells (nan when none is pooled)."""
    p = pooled(cells)
    return decision_share(sum(c.split["sampling"] for c in p), sum(c.split["decision"] for c in p))


def seed_verdict(cells) -> str:
    """One seed's reading: 'decision' / 'sampling' (which part carries most of its pooled gain) or 'no comparable
    gain' (no cell pooled)."""
    share = pooled_share(cells)
    return "no comparable gain" if math.isnan(share) else ("decision" if share > 0.5 else "sampling")


@dataclass
class Summary:
    """One proxy's (or one recipe's, or one researcher's) runs read by the pooling rule."""

    fmt: str
    label: str
    preset: str
    runs: list[tuple[str, dict]]
    stale: list[str]
    cells: list[Cell] = field(default_factory=list)
    recipe: dict = field(default_factory=dict)
    folder: str = ""

    @functools.cached_property
    def seeds(self) -> list[int]:
        return sorted({d["preset"]["seed"] for _, d in self.runs})

    def seed_cells(self, seed) -> list[Cell]:
        return [c for c in self.cells if c.seed == seed]

    @functools.cached_property
    def verdicts(self) -> dict:
        return {s: seed_verdict(self.seed_cells(s)) for s in self.seeds}

    @property
    def pooled(self) -> list[Cell]:
        return pooled(self.cells)

    @functools.cached_property
    def share(self) -> float:
        return pooled_share(self.cells)

    @functools.cached_property
    def loso(self) -> dict:
        """seed -> the pooled decision share of every other seed's cells."""
        return {s: pooled_share([c for c in self.cells if c.seed != s]) for s in self.seeds}

    @functools.cached_property
    def excluded(self) -> dict:
        return {why: sum(c.excluded == why for c in self.cells)
                for why in sorted({c.excluded for c in self.cells if c.excluded})}

    def parts(self) -> dict[str, float]:
        """The pooled cells' summed Shapley split: total, sampling, decision, and p_s, p_retry, p_dC, p_dW."""
        keys = ("total", "sampling", "decision", "p_s", "p_retry", "p_dC", "p_dW")
        return {k: float(sum(c.split[k] for c in self.pooled)) for k in keys}

    def decision_parts(self) -> tuple[float, float]:
        """The decision part's two halves: p_dC (stopping after a correct attempt), p_dW (resampling after a wrong
        one)."""
        p = self.parts()
        return p["p_dC"], p["p_dW"]

    def votes(self) -> dict[str, int]:
        return {v: list(self.verdicts.values()).count(v) for v in VOTES}

    def loso_range(self) -> tuple[float, float] | None:
        vals = [v for v in self.loso.values() if not math.isnan(v)]
        return (min(vals), max(vals)) if vals else None

    def robustly_decision(self) -> bool:
        """The decision part carries most of the pooled gain, with every seed left out in turn, and in more seeds
        than the sampling part does."""
        if math.isnan(self.share) or self.share <= 0.5:
            return False
        votes = self.votes()
        return all(not math.isnan(v) and v > 0.5 for v in self.loso.values()) and votes["decision"] > votes["sampling"]

    def by_resampling(self) -> bool:
        """The paper's mechanism: robustly decision, and within the decision part p_dW (resampling when wrong)
        carries more of the pooled gain than p_dC (stopping when right)."""
        if not self.robustly_decision():
            return False
        d_c, d_w = self.decision_parts()
        return d_w > d_c


def summarise(fmt: str, name: str, runs: list[tuple[str, dict]], stale: list[tuple[str, dict]], label: str = "",
              **extra) -> Summary:
    """The pooled reading of the runs of preset ``name`` (attempt format ``fmt``), with the stale ones listed."""
    cells = [c for _, d in runs for c in comparable_cells(d)]
    return Summary(fmt, label or dict((f, lab) for f, lab, _ in FORMATS).get(fmt, fmt), name, runs,
                   [lab for lab, _ in stale], cells, **extra)


def format_runs(fmt: str, out: Path | None = None) -> tuple[str, list[tuple[str, dict]]] | None:
    """The saved runs under ``out`` (default OUT) of the most informative preset (PREFERENCE) in attempt format
    ``fmt``: its default-seed folder and every <preset>-seed<N> folder, sorted by seed."""
    root = OUT if out is None else Path(out)
    suffix = dict((f, x) for f, _, x in FORMATS)[fmt]
    for base in PREFERENCE:
        name = base + suffix
        if runs := saved_runs(root, name):
            return name, runs
    return None


def proxy_summary(fmt: str, out: Path | None = None) -> Summary | None:
    """One proxy's summary (None when it has no runs)."""
    found = format_runs(fmt, out)
    if found is None:
        return None
    name, runs = found
    return summarise(fmt, name, *same_settings(runs, name))


#: the reflection-recipe sweep: one factor at a time around each CPU preset's default recipe, on RECIPE_SEEDS
RECIPES = {"cpu": (dict(wrong_source="answer-error"), dict(reflect_frac=0.25), dict(reflect_frac=0.75),
                   dict(wrong_attempt_loss="masked"), dict(reflect_steps_factor=2.0)),
           "cpu-cot": (dict(wrong_source="work-error"), dict(wrong_source="answer-error"), dict(reflect_frac=0.25),
                       dict(reflect_frac=0.75), dict(wrong_attempt_loss="masked"), dict(reflect_steps_factor=2.0),
                       dict(wrong_attempt_loss="masked", reflect_steps_factor=2.0))}
RECIPE_SEEDS = (0, 1, 2, 3)
#: the confirmatory run: the chain-of-thought recipe that seeds 0-3 of the sweep showed free of the reflection-SFT
#: artefact -- the wrong attempt masked, SFT-reflect at twice SFT's steps -- on fresh seeds; declared before those
#: seeds were run
CONFIRMATORY = dict(preset="cpu-cot", recipe=dict(wrong_attempt_loss="masked", reflect_steps_factor=2.0),
                    seeds=tuple(range(4, 12)))


def recipe_summaries(out: Path | None = None) -> list[Summary]:
    """One summary per (preset, recipe) of RECIPES, each preset's default recipe first, over its saved runs with
    seeds in RECIPE_SEEDS made with the current settings (a recipe with no such run is left out)."""
    root = OUT if out is None else Path(out)
    sums = []
    for name, variants in RECIPES.items():
        for recipe in ({}, *variants):
            stem = recipe_name(name, **recipe)
            runs = [r for r in saved_runs(root, stem) if r[1]["preset"]["seed"] in RECIPE_SEEDS]
            sm = summarise(PRESETS[name].attempt_format, name, *same_settings(runs, name, **recipe), recipe=recipe,
                           folder=stem)
            if sm.seeds:
                sums.append(sm)
    return sums


def confirmatory_summary(out: Path | None = None) -> Summary | None:
    """The CONFIRMATORY recipe's runs on its seeds (None when none is saved), labelled as such."""
    name, recipe = CONFIRMATORY["preset"], CONFIRMATORY["recipe"]
    runs = [r for r in saved_runs(OUT if out is None else Path(out), recipe_name(name, **recipe))
            if r[1]["preset"]["seed"] in CONFIRMATORY["seeds"]]
    if not runs:
        return None
    sm = summarise(PRESETS[name].attempt_format, name, *same_settings(runs, name, **recipe))
    sm.label += ", confirmatory recipe"
    sm.preset = recipe_name(name, **recipe)
    return sm


def fmt_share(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.0%}"


def seeds_rows(summaries: list[Summary]) -> tuple[list[str], list[list[str]]]:
    """One row per seed, the summaries side by side (pooled cells, their summed predicted gain, the decision part's
    share, the seed's verdict), then the pooled and leave-one-seed-out rows."""
    seeds = sorted({s for sm in summaries for s in sm.seeds})
    head = ["seed"] + [f"{sm.label} ({sm.preset}): {k}" for sm in summaries
                       for k in ("cells pooled", "predicted gain", "decision share", "verdict")]
    rows = []
    for s in seeds:
        row = [str(s)]
        for sm in summaries:
            if s not in sm.seeds:
                row += ["not run"] * 4
                continue
            cs = sm.seed_cells(s)
            p = pooled(cs)
            row += [f"{len(p)} of {len(cs)}" + (" (" + ", ".join(f"n={c.n}" for c in p) + ")" if p else ""),
                    f"{sum(c.split['total'] for c in p):+.3f}" if p else "-", fmt_share(pooled_share(cs)),
                    sm.verdicts[s]]
        rows.append(row)
    row = ["pooled"]
    for sm in summaries:
        p = sm.pooled
        row += [f"{len(p)} of {len(sm.cells)}", f"{sum(c.split['total'] for c in p):+.3f}" if p else "-",
                fmt_share(sm.share),
                "excluded: " + (", ".join(f"{k} {v}" for k, v in sm.excluded.items()) or "none")]
    rows.append(row)
    row = ["leave one seed out"]
    for sm in summaries:
        rng = sm.loso_range()
        row += ["", "", f"{rng[0]:.0%} to {rng[1]:.0%}" if rng else "-",
                f"{sum(not math.isnan(v) for v in sm.loso.values())} of {len(sm.loso)} leave-outs have a pooled cell"]
    rows.append(row)
    return head, rows


def ps_change(runs: list[tuple[str, dict]]) -> float:
    """Mean over the runs' in-distribution digit counts of p_s(SFT-reflect) - p_s(SFT): what the reflection
    demonstrations did to first-attempt accuracy."""
    diffs = [d["models"]["sft-reflect"][n]["metrics"]["p_s"] - d["models"]["sft"][n]["metrics"]["p_s"]
             for _, d in runs for n in d["models"]["sft"] if int(n) in d["preset"]["id_digits"]]
    return float(np.mean(diffs))


def recipes_rows(sums: list[Summary]) -> tuple[list[str], list[list[str]]]:
    """One row per (proxy, recipe): its recipe fields (the varied ones in bold), seeds, the mean p_s change from SFT
    to SFT-reflect, cells pooled and why the others are not, the pooled predicted gain and decision share, the
    decision part's p_dC and p_dW halves, and the per-seed verdicts."""
    head = ["proxy", *(column for _, column, _ in RECIPE_FIELDS.values()), "seeds", "p_s SFT-reflect - SFT (mean)",
            "cells pooled", f"excluded: {LOWERED_PS}", f"excluded: {NOT_SIGNIFICANT}", f"excluded: {NO_SPLIT}",
            "pooled predicted gain", "pooled decision share", "decision part: p_dC, p_dW", "per-seed verdicts"]
    rows = []
    for sm in sums:
        recipe = {k: getattr(PRESETS[sm.preset], k) for k in RECIPE_FIELDS} | sm.recipe
        p = sm.pooled
        votes = sm.votes()
        rows.append([f"{sm.label} ({sm.preset})",
                     *(cell.format(f"**{recipe_value(recipe[k])}**" if k in sm.recipe else recipe_value(recipe[k]))
                       for k, (_, _, cell) in RECIPE_FIELDS.items()),
                     ", ".join(map(str, sm.seeds)), f"{ps_change(sm.runs):+.3f}", f"{len(p)} of {len(sm.cells)}",
                     *(str(sm.excluded.get(why, 0)) for why in (LOWERED_PS, NOT_SIGNIFICANT, NO_SPLIT)),
                     f"{sm.parts()['total']:+.3f}" if p else "-", fmt_share(sm.share),
                     "{:+.3f}, {:+.3f}".format(*sm.decision_parts()) if p else "-",
                     ", ".join(f"{v} {n}" for v, n in votes.items() if n)])
    return head, rows


RECIPES_NOTE = ("Each recipe varies one factor (in bold; the chain-of-thought proxy's last recipe two) of the default "
                "(the base model's own wrong first attempts, half the demonstrations reflecting, SFT trained on every "
                "demonstrated token, SFT-reflect as many steps as SFT); seeds " + ", ".join(map(str, RECIPE_SEEDS))
                + " of each. Wrong first attempts: 'own', the base model's errors; 'work-error', a synthetic error in "
                "one partial product carried through the chain of thought (wrong where its work is wrong, and "
                "consistent with it); 'answer-error', synthetic wrong answer digits (in the chain of thought the work "
                "stays correct, so the answer contradicts it). Loss on the wrong attempt: 'trained', SFT's targets "
                "include the wrong attempt's tokens (so it also teaches opening wrong); 'masked', the wrong attempt is "
                "context only and the loss covers RESAMPLE, the correct attempt and STOP. SFT-reflect steps: 2 x "
                "SFT's gives SFT-reflect, at half its demonstrations reflecting, as many correct first-attempt targets "
                "as SFT. Cells are pooled by the same rule as seeds.md; decision share = decision / (|sampling| + "
                "|decision|) of the summed Shapley split over p_s, p_retry, p_dC, p_dW")


def write_seeds_summary(out: Path) -> Path | None:
    """reports/reproduce/seeds.md: the two proxies side by side, per seed, with the pooling rule."""
    from .render import markdown_table

    sums = [s for s in (proxy_summary(f, out) for f, _, _ in FORMATS) if s and s.seeds]
    if not sums:
        return None
    path = Path(out) / "seeds.md"
    path.write_text("# §4 proxies side by side, per seed\n\nSFT-reflect -> RL; 'predicted gain' and 'decision share' "
                    "are the Shapley split over p_s, p_retry, p_dC, p_dW summed over the pooled cells; decision share = "
                    "decision / (|sampling| + |decision|).\n\nPooling rule: " + POOLING_RULE + ".\n\n"
                    + markdown_table(*seeds_rows(sums)) + "\n")
    return path


def write_recipes_summary(out: Path) -> Path | None:
    """reports/reproduce/recipes.md: how the pooled reading moves with the reflection recipe; not written while no
    non-default recipe has been run."""
    from .render import markdown_table

    sums = recipe_summaries(out)
    if not any(sm.recipe for sm in sums):
        return None
    path = Path(out) / "recipes.md"
    path.write_text("# §4 reflection demonstrations: how the reading moves with their recipe\n\n" + RECIPES_NOTE
                    + ".\n\nPooling rule: " + POOLING_RULE + ".\n\n" + markdown_table(*recipes_rows(sums)) + "\n")
    return path
