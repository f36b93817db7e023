"""The figure of §4's empirical claim (dsproof.claims.empirical): the decision share of the pooled gain on the
small-scale proxies' saved runs."""

from __future__ import annotations

import functools
import math

import matplotlib.pyplot as plt
import numpy as np

from ..model import pct
from .style import SIZE, legend, styled


# =============================================================================================== §4 empirical
@functools.lru_cache(maxsize=None)
def _sec4_summaries() -> tuple:
    from .. import pooling

    sums = [pooling.proxy_summary(f) for f, _, _ in pooling.FORMATS] + [pooling.confirmatory_summary()]
    return tuple(s for s in sums if s is not None and s.seeds)


def _sec4_label(sm) -> str:
    short = {"answer-only": "answer-only (control)", "chain of thought": "chain of thought",
             "chain of thought, confirmatory recipe": "CoT, confirmatory"}.get(sm.label, sm.label)
    return f"{short}\n{sm.preset}\nseeds {min(sm.seeds)}-{max(sm.seeds)}"


@styled
def sec4_shares() -> plt.Figure:
    from .. import pooling

    sums = _sec4_summaries()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=SIZE, gridspec_kw=dict(width_ratios=(1.5, 1)))
    none_y = -0.15
    for i, sm in enumerate(sums):
        ctl = "control|" if sm.fmt == "answer" and "confirmatory" not in sm.label else ""
        shares = [pooling.pooled_share(sm.seed_cells(s)) for s in sm.seeds]
        has = [not math.isnan(v) for v in shares]
        jitter = np.linspace(-0.18, 0.18, len(sm.seeds))
        ax.plot(i + jitter[has], np.array(shares)[has], "o", color="C0", ms=4, gid=f"{ctl}seeds|{sm.preset}",
                label="one seed's pooled cells" if i == 0 else None)
        ax.plot(i + jitter[~np.array(has)], np.full(sum(not h for h in has), none_y), "x", color="0.5", ms=4,
                gid=f"{ctl}no pooled cell|{sm.preset}", label="seed with no pooled cell" if i == 0 else None)
        if not math.isnan(sm.share):
            lo, hi = sm.loso_range()
            ax.fill_between([i - 0.3, i + 0.3], lo, hi, color="C1", alpha=0.3, lw=0, gid=f"{ctl}loso|{sm.preset}",
                            label="leave one seed out" if i == 0 else None)
            ax.hlines(sm.share, i - 0.3, i + 0.3, color="C1", lw=2, gid=f"{ctl}pooled|{sm.preset}",
                      label="pooled share" if i == 0 else None)
            ax.annotate(f"{pct(sm.share).text()} (LOSO >= {pct(lo).text()})", (i, hi), xytext=(0, 4),
                        textcoords="offset points", ha="center", fontsize=6.5,
                        gid=f"deciding|pooled decision share|{sm.preset}")
            dC, dW = sm.decision_parts()
            bx.bar(i - 0.18, dC, width=0.36, color="C2", gid=f"{ctl}p_dC part|{sm.preset}",
                   label="p_dC part (stop when right)" if i == 0 else None)
            bx.bar(i + 0.18, dW, width=0.36, color="C3", gid=f"{ctl}p_dW part|{sm.preset}",
                   label="p_dW part (resample when wrong)" if i == 0 else None)
        else:
            ax.annotate("no pooled cell", (i, 0.25), ha="center", fontsize=6.5, color="0.4")
            bx.annotate("no pooled\ncell", (i, 0.0), xytext=(0, 3), textcoords="offset points", ha="center",
                        fontsize=6.5, color="0.4")
        ax.annotate(f"{len(sm.pooled)} of {len(sm.cells)} cells", (i, none_y), xytext=(0, -11),
                    textcoords="offset points", ha="center", fontsize=6, color="0.4")
    ax.axhline(0.5, color="k", ls="--", lw=0.8, label="half (the threshold)")
    ax.set_ylim(none_y - 0.15, 1.1)
    ax.set_yticks([none_y, 0, 0.25, 0.5, 0.75, 1.0], ["none", "0", "25%", "50%", "75%", "100%"])
    ax.set_ylabel("decision share of RL's gain")
    ax.set_title("Decision part's share of the pooled gain (proxies)")
    bx.axhline(0, color="k", lw=0.6)
    bx.set_ylabel("pooled predicted gain")
    bx.set_title("Its two halves")
    for a in (ax, bx):
        a.set_xticks(range(len(sums)), [_sec4_label(sm) for sm in sums], fontsize=5.5)
        a.set_xlim(-0.5, len(sums) - 0.5)
    legend(ax, loc="upper center", fontsize=5.5)
    legend(bx, loc="upper center", fontsize=5.5)
    fig.tight_layout(w_pad=0.5)
    return fig
