"""The report's figures: one deciding plot per claim (matplotlib).

Each figure computes its data with theory/ and numerics/ through the same public functions the claims use (so
what it draws is the ledger's figures, not a second derivation), marks the claim's deciding numbers at the
ledger's precision, draws the control the verdicts use where there is one, and returns a matplotlib Figure.
:data:`FIGURES` lists them in the ledger's claim order (paper order by part) with their ids, the claims whose card
shows each and a caption in words; :func:`figures_of` gives a claim's figures and :func:`save_all` writes PNGs.
The notebooks call :func:`figure1`, :func:`appendix_c_map`, :func:`ratio_vs_length` and :func:`calibration`.

Every artist that carries a number the tests read back has a gid: 'control...' for the control (a caption must
name it), otherwise the quantity and its setting (e.g. 'k1|fixed-logits').  tests/test_figures_plots.py compares
the plotted data with reports/ledger.json at the ledger's precision.

One module per part of the paper, as dsproof.claims is split: :mod:`.core` (cross-terms, §4.2 calibration, Appendix
C), :mod:`.objectives` (Theorems 3.1 and 3.2, Definition 3.1, Appendix D), :mod:`.values` (Definition 3.1's Phi,
gamma < 1, Lemma 3.2), :mod:`.training` (GRPO groups, §5 feedback, length weighting) and :mod:`.empirical` (§4);
what they share is in :mod:`.style` (size, fonts, colours, axes helpers) and :mod:`.curves` (the closed forms,
evaluated once).  This module holds the registry and re-exports every figure and constant under dsproof.figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt  # no backend forced: Agg without a display, inline in a notebook kernel

from .core import FIG1_SETTINGS, appendix_c_map, calibration, cross_term_cosines, cross_terms, figure1
from .empirical import sec4_shares
from .objectives import clipping_map, discount_credit, k3_loss_ratio, kl_reward_ratio, ratio_vs_length, \
    surrogate_norms
from .style import COLOR, OUTSIDE, REGIME, SCALING_COLOR, SIZE, STYLE
from .training import FEEDBACK_ROUNDS, GRPO_PS, GRPO_T, LW_KEYS, SFT_ROWS, feedback_rounds, grpo_far_ood, \
    length_weighting, length_weighting_counts, length_weighting_counts_from
from .values import DISCOUNT_SCALINGS, PANEL_B_GAMMA, definition_readings, discounted, discounted_gradient, markov_map

#: the dpi save_all writes at (a card's figure is style.SIZE inches)
DPI = 90

__all__ = ["COLOR", "DISCOUNT_SCALINGS", "DPI", "FEEDBACK_ROUNDS", "FIG1_SETTINGS", "FIGURES", "GRPO_PS", "GRPO_T",
           "LW_KEYS", "OUTSIDE", "PANEL_B_GAMMA", "REGIME", "SCALING_COLOR", "SFT_ROWS", "SIZE", "STYLE", "FigureSpec",
           "appendix_c_map", "calibration", "clipping_map", "cross_term_cosines", "cross_terms", "definition_readings",
           "discount_credit", "discounted", "discounted_gradient", "feedback_rounds", "figure1", "figures_of",
           "grpo_far_ood", "k3_loss_ratio", "kl_reward_ratio", "length_weighting", "length_weighting_counts",
           "length_weighting_counts_from", "markov_map", "ratio_vs_length", "save_all", "sec4_shares",
           "surrogate_norms"]


# =============================================================================================== the registry
@dataclass(frozen=True)
class FigureSpec:
    """One figure of the report: ``name`` is its file stem and HTML id; ``claims`` the claim ids whose card shows it;
    ``caption`` what is plotted, which control is drawn and what to look at; ``draw`` makes it (computing its data);
    ``from_ledger`` (where recomputing is slow) makes the same figure with the numbers the ledger records read from
    its entries."""

    name: str
    claims: tuple[str, ...]
    caption: str
    draw: Callable[[], plt.Figure]
    from_ledger: Callable[[list], plt.Figure] | None = None


_SPECS = [
    FigureSpec("cross_terms", ("cross-terms",),
               "The cosine between the sampling and the decision gradient of J when both stages share one parameter "
               "vector, over the ledger's 40 seeded random parameterisations of the toy model (T = 3, L = 2): the "
               "histogram, each draw as a tick, and the 5% and 95% values. The black line at 0 is the threshold (no "
               "cross-term), where disjoint parameters sit exactly. Look at the spread: the cosine takes both signs "
               "and is nonzero at every draw, so ||g||^2 is not the sum of the two stages' squared norms.",
               cross_terms),
    FigureSpec("calibration", ("calibration-4.2",),
               "The §4.2 prediction of accuracy against p_dW (the rate of RESAMPLE after a wrong attempt) at p_s = 0.2"
               " and p_dC = 0.95: the formula with unlimited retries (black) and the exact accuracy with a budget of T"
               " = 1, 2, 4, 8 attempts (dashed). The grey band is the far-out-of-distribution regime the paper reports"
               " for RL. Look at how far the unlimited-retry formula sits above the short budgets there: it is their "
               "limit, not their value.",
               calibration),
    FigureSpec("figure1", ("appC-toy",),
               "Appendix C's Figure 1 reproduced in the three-logit toy model (T = 4, KL weight w = 0.05, the "
               "reference reset every 50 steps): the sampling:decision gradient ratio over training for the KL penalty"
               " and for the surrogate's reward term, the control; dashed: the paper's 2:1. Left one token per attempt"
               " (the paper's model), right eight (a contrast outside it). Look at the KL curve after each reset: with"
               " one token it falls below 2:1, so 'exceeds 2:1 throughout training' depends on the setting.",
               figure1),
    FigureSpec("appendix_c_map", ("appC-toy",),
               "Appendix C mapped over the settings the paper does not report: per reading of the ratio (columns) the "
               "fraction of 18 settings (initial theta_dC, theta_dW, reference period) in each cell of initial theta_s"
               " and KL weight w where the ratio exceeds 2:1 throughout training. Top row: the KL ratio itself; bottom"
               " row: the control, the KL ratio over the surrogate's at the same step. Look at the counts in the "
               "titles: the claim holds in some settings and readings, and against the control in fewer.",
               appendix_c_map),
    FigureSpec("discount_credit", ("thm-3.1",),
               "Theorem 3.1's two Q's with a per-token discount: Q_d(s_k) / Q_sample(first token of attempt k) = "
               "gamma^(-L_k) against the attempt's length, for gamma = 0.99 and 0.999, and 1 at gamma = 1 (GRPO's "
               "choice, where the theorem holds). The marked point is the ledger's value at gamma = 0.99, L_k = 512. "
               "Look at how quickly the decision's Q outgrows the sampling tokens' once gamma < 1.",
               discount_credit),
    FigureSpec("surrogate_norms", ("thm-3.1-norms",),
               "The surrogate's sampling:decision gradient-norm ratio against the attempt length L under the three "
               "ways of scaling the toy model with L (exact closed form, T = 2; dotted: the derived leading order; "
               "grey band: real attempts, 10^2 to 10^4 tokens). With fixed p_s the two p_s scalings coincide (the "
               "surrogate has no reference). Look at the fixed-logits curve: equal advantage coefficients do not make "
               "equal norms, and the ratio grows like L.",
               surrogate_norms),
    FigureSpec("clipping_map", ("thm-3.1-practised",),
               "Token-level clipping as verl runs it (clip 0.2 / 0.28, dual-clip 3, token-mean), over the ledger's 120"
               " random off-policy states of the toy model (T = 3, L = 3): left, per draw the fraction of the sampling"
               " gradient kept against the fraction of the decision gradient kept, coloured by the step scale, with "
               "the diagonal (equal fractions: the threshold); right, per step scale the draws off the diagonal, by "
               "which stage keeps less. Look at the larger steps: clipping keeps different fractions of the two "
               "stages, in either direction.",
               clipping_map),
    FigureSpec("kl_reward_ratio", ("thm-3.2",),
               "Theorem 3.2 with k1 in the reward: the KL's sampling:decision gradient ratio (solid) against the "
               "attempt length L, with the immediate penalties' ratio d^sample / d^decision (dotted) and the "
               "surrogate's gradient ratio, the control (dashed), per scaling; the fixed-p_s panel is greyed, outside "
               "the theorem's comparable per-token KL. Look at the two inside panels: the immediate ratio grows like L"
               " while the gradient ratio levels off at its marked limit, below the control.",
               kl_reward_ratio),
    FigureSpec("k3_loss_ratio", ("thm-3.2-practised",),
               "The KL as the experiments ran it (k3 as a per-token loss, verl low_var_kl): its sampling:decision "
               "ratio divided by the surrogate's in the same model, scaling and L (the control, 1 on the dashed line),"
               " against L. Left, the three scalings; right, fixed p_s with the reference's per-token accuracy set so "
               "the per-token KL tends to 0.474, 0.1, 0.01, 0.001. Dotted: derived leading orders. Look at the right "
               "panel: the ratio grows like L whenever the per-token KL stays positive, with a coefficient that "
               "shrinks with it.",
               k3_loss_ratio),
    FigureSpec("ratio_vs_length", ("def-3.1", "appD-sft-dft"),
               "Every objective's sampling:decision gradient ratio divided by the surrogate's in the same model, "
               "scaled the same way, at the same L (the control, the flat black line at 1), against the attempt length"
               " L; one panel per scaling, closed form at T = 2, derived leading orders dotted, grey band the regime "
               "of real attempts. Look at which curves keep rising: only the per-token KL losses under fixed p_s with "
               "the reference's accuracy held; SFT and DFT stay bounded, and k1 in the reward falls.",
               ratio_vs_length),
    FigureSpec("discounted", ("thm-3.1-discounted", "thm-3.2-discounted"),
               "Discounted returns (gamma < 1) against the attempt length L, with the logits held and with p_s and the"
               " reference's accuracy held. (a) The surrogate's sampling:decision ratio with a per-token discount "
               "gamma = 0.99 or 0.999 divided by its ratio at gamma = 1 (the control, 1). (b) k1 in the reward at "
               "gamma = 0.99, discounted per token (solid) or per stage (dashed); gamma = 0.999 has the same shapes "
               "with the horizon ten times further out. Look at what happens past the horizon 1/(1 - gamma): the "
               "surrogate's balance tilts toward the decisions like 1/L, and the KL ratio grows per token (like L, or "
               "like log L) but levels off per stage, as at gamma = 1.",
               discounted),
    FigureSpec("markov_map", ("lemma-3.2",),
               "The finite-budget formula of §4.2 where the decision depends on the attempt count (p_dW,k = "
               "sigmoid(theta_dW - decay (k - 1)), T = 8, p_dC = 0.8): |prediction - true accuracy| against the decay,"
               " for four theta_dW and two p_s, the formula fed the first decision's p_dW (left) or the pooled, visit-"
               "weighted p_dW a practitioner measures (right). Look at the two scales: at decay 0 both are exact; "
               "otherwise the pooled rate stays within about a percent.",
               markov_map),
    FigureSpec("definition_readings", ("def-3.1-phi",),
               "Definition 3.1 read three ways for one penalty, k1 in the reward (toy model, fixed logits, T = 2), "
               "against the attempt length L: the immediate penalties' ratio (grows like L), the ratio of the expected"
               " Q's (levels off at (1 + p_dW)/p_dW), and the gradient ratio relative to the surrogate, the control "
               "(vanishes); with the surrogate's Q ratio, exactly 1. Look at the labels the readings give: "
               "'unbalanced', 'balanced', and below balanced.",
               definition_readings),
    FigureSpec("grpo_far_ood", ("grpo-groups",),
               "GRPO far out of distribution (toy model, one-token attempts, p_dC = 0.95, p_dW = 0.5, groups of 8, "
               "std-normalised advantages; budgets T = 3, 4) against the first-attempt accuracy p_s: left, the "
               "fraction of groups with any nonzero advantage; right, the expected push on the RESAMPLE-when-wrong "
               "logit, GRPO's kappa dJ/dtheta_dW against the surrogate's own dJ/dtheta_dW (the control, dashed). Dots:"
               " the ledger's points. Look at the left panel: as p_s falls most groups carry no gradient.",
               grpo_far_ood),
    FigureSpec("feedback_rounds", ("sec5-feedback",),
               "Training on the model's own successes against RL, from §4.2's far-out-of-distribution start (toy "
               "model, T = 3, L = 4): first-attempt accuracy p_s over rounds of iterated rejection-sampling fine-"
               "tuning (each a full refit on fresh successes) and over exact RL gradient steps; dashed, where SFT on "
               "one fixed set of its own successes stops (the echo chamber). Right: the rounds and steps to reach p_s "
               "= 0.5, 0.8, 0.9, 0.95. Look at the dashed line: offline, the model stalls far below what both online "
               "procedures reach.",
               feedback_rounds),
    FigureSpec("length_weighting", ("abstract-length-weighting",),
               "Length weighting in training (toy model, T = 4, 216 settings of initial policy, attempt length and KL "
               "weight per protocol): per training protocol, the fraction of settings where the KL restrains theta_s "
               "more than both decision logits and where it leaves theta_dW short of the surrogate's own movement (the"
               " control); below, SFT without and with reflective demonstrations, where theta_dW is left short. Look "
               "at the dashed line, every setting: the KL restrains sampling most in most settings, but leaves pi_d "
               "short only in some, and SFT's shortfall comes from what its demonstrations contain.",
               length_weighting, lambda entries: length_weighting(length_weighting_counts_from(entries))),
    FigureSpec("sec4_shares", ("sec4-empirical",),
               "§4's reading on the small-scale proxies (not the paper's 7B model): per proxy, each seed's decision "
               "share of RL's pooled accuracy gain over SFT-reflect (dots; crosses: seeds with no pooled cell), the "
               "pooled share (line) and its leave-one-seed-out range (band), and the pooled decision gain's two halves"
               " (bars). The answer-only proxy is the control (a wrong answer carries nothing a decision could check)."
               " Look at the bars: where a decision gain appears it comes through p_dC, stopping when right, not "
               "through resampling when wrong.",
               sec4_shares),
]

#: name -> FigureSpec, in the ledger's claim order (paper order by part)
FIGURES: dict[str, FigureSpec] = {s.name: s for s in _SPECS}


def figures_of(claim_id: str) -> list[FigureSpec]:
    """The figures a claim's card shows, in FIGURES order (none for an identity such as lemma-3.1)."""
    return [s for s in FIGURES.values() if claim_id in s.claims]


def save_all(out_dir: Path, names=None, progress=None, entries=None) -> list[tuple[str, Path, str]]:
    """Write each figure as ``out_dir/<name>.png`` (dpi DPI); returns (name, path, caption).  ``entries`` (ledger
    entries): figures with ``from_ledger`` read their recorded numbers from them instead of recomputing."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or FIGURES:
        spec = FIGURES[name]
        fig = spec.from_ledger(entries) if entries is not None and spec.from_ledger else spec.draw()
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=DPI)
        plt.close(fig)
        written.append((name, path, spec.caption))
        if progress:
            progress(name)
    return written
