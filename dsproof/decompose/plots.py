"""``dsproof decompose``'s two figures: the §4.2 calibration (predicted against observed accuracy) and the gain split
per bucket and run."""

from __future__ import annotations

import math

from .inputs import ROLE_LABELS
from .pipeline import Decomposition

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

    from .. import pooling

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
