"""The small data model every derivation returns: a labelled symbolic term.

A :class:`Term` is one piece of a derived gradient (or of a second-order quantity), labelled with the
stage it belongs to -- ``sampling`` (pi_sample), ``decision`` (pi_d) or ``cross`` (a quantity that mixes
the two stages, e.g. an inner product or a mixed second derivative) -- and with the paper equation it
comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal

import sympy as sp

Stage = Literal["sampling", "decision", "cross", "total"]
STAGES: tuple[str, ...] = ("sampling", "decision", "cross", "total")


@dataclass(frozen=True)
class Term:
    """One labelled symbolic term.

    Attributes:
        name: short identifier, e.g. ``"dJ/dtheta_s"``.
        expr: the sympy expression.
        stage: ``sampling`` | ``decision`` | ``cross`` | ``total``.
        source: the paper reference it instantiates, e.g. ``"Corollary 3.1"``.
        note: one sentence on what it means.
    """

    name: str
    expr: sp.Expr
    stage: Stage
    source: str
    note: str = ""
    symbols: tuple = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"Term.stage must be one of {STAGES}, got {self.stage!r}")

    def latex(self) -> str:
        return sp.latex(self.expr)


def by_stage(terms: Iterable[Term], stage: Stage) -> list[Term]:
    """The terms of one stage."""
    return [t for t in terms if t.stage == stage]
