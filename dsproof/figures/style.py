"""What every figure of the report shares: its size and fonts (STYLE, applied by :func:`styled`), the colours of the
objectives and of the ways of scaling with L, the shaded regime of real attempts, and torch on one thread while a
figure's data is computed."""

from __future__ import annotations

import contextlib
import functools

import matplotlib.pyplot as plt  # no backend forced: Agg without a display, inline in a notebook kernel

#: a card's figure, in inches (save_all writes it at dsproof.figures.DPI)
SIZE = (7.0, 3.2)
#: the regime of real attempts (tokens), shaded wherever L is an axis
REGIME = (1e2, 1e4)
STYLE = {"font.size": 8, "axes.titlesize": 8.5, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
         "legend.fontsize": 6.5, "legend.framealpha": 0.85, "legend.borderaxespad": 0.3, "legend.handlelength": 1.8,
         "lines.linewidth": 1.4, "axes.titlepad": 4}
COLOR = {"surrogate": "k", "kl-k1-reward": "C3", "kl-k2-loss": "C1", "kl-k3-loss": "C4", "sft": "C0", "dft": "C2"}
SCALING_COLOR = {"fixed-logits": "C0", "fixed-p_s": "C1", "fixed-p_s-ref": "C2"}
OUTSIDE = "0.95"  # the face of a panel outside the stated setting


def styled(fn):
    """Draw ``fn``'s figure under STYLE (fonts are fixed when an artist is made, so the whole call is wrapped)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with plt.rc_context(STYLE):
            return fn(*args, **kwargs)

    return wrapped


@contextlib.contextmanager
def one_thread():
    """torch on one thread: the toy model's tensors are tiny, and intra-op threads on a shared 2-core machine make
    the enumerations 10x slower."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def regime(ax, label: bool = True):
    """Shade the regime of real attempts (REGIME) on an axis of L, labelled for the legend unless ``label`` is off."""
    ax.axvspan(*REGIME, color="0.9", zorder=0, lw=0, label="real attempts (L = 10^2..10^4)" if label else None)


def legend(ax, **kw):
    """The axes' legend, at the best place unless ``kw`` says otherwise."""
    ax.legend(**({"loc": "best"} | kw))


def outside(ax, title: str):
    """Grey a panel outside the stated setting (face OUTSIDE, title in grey)."""
    ax.set_facecolor(OUTSIDE)
    ax.set_title(title, color="0.4")
