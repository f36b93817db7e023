"""Claims as data: figures stored as values, evidence rows that are checks or records, and statements that carry the
paper's words, the setting it states, the quantity tested, a threshold written as a predicate and one outcome per
setting.  :mod:`dsproof.verdict` derives every verdict from these by one rule; :mod:`dsproof.render` writes the
prose from them.  Nothing here holds a verdict word written by hand.

Precision.  A figure is rounded when it is made, to the precision it states (significant digits, decimals, a bound
for round-off-level quantities), and it is stored and compared at that precision: the ledger a machine writes, and
every verdict drawn from it, do not depend on the last bits of its floating-point arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

# ------------------------------------------------------------------------------------------------------ figures
#: how a figure is stored and printed: 'exact' (an integer, a boolean, a string, or a symbolic expression as
#: text), 'sig<k>' (k significant digits), 'dec<k>' (k decimals), 'signed<k>' (k decimals with a sign), 'pct<k>'
#: (a fraction printed as a percentage with k decimals), 'lt' (a round-off-level quantity printed as a bound:
#: the value stored is the bound), 'count' (k of n, stored as [k, n]), 'table' (columns and rows of text)
FORMATS = ("exact", "lt", "count", "table") + tuple(f"{k}{d}" for k in ("sig", "dec", "signed", "pct")
                                                    for d in range(0, 7))


def _round_sig(x: float, digits: int) -> float:
    return float(f"{x:.{digits}g}") if math.isfinite(x) else x


@dataclass(frozen=True)
class Figure:
    """A value at its stated precision.  Make one with :func:`exact`, :func:`sig`, :func:`dec`, :func:`signed`,
    :func:`pct`, :func:`bound`, :func:`count` or :func:`table`."""

    value: Any
    fmt: str = "exact"

    def __post_init__(self):
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown figure format {self.fmt!r}; expected one of {FORMATS}")

    def text(self) -> str:
        """The figure as printed."""
        v, f = self.value, self.fmt
        if f == "exact":
            return "yes" if v is True else "no" if v is False else str(v)
        if f == "lt":
            return f"< {v:g}"
        if f == "count":
            return f"{v[0]}/{v[1]}"
        if f == "table":
            return f"table of {len(v['rows'])} rows"
        if isinstance(v, float) and math.isnan(v):
            return "-"
        kind, d = f[:-1], int(f[-1])
        if kind == "sig":
            if v == 0:
                return "0"
            if 1e-4 <= abs(v) < 10 ** max(d, 6):
                decimals = max(d - 1 - math.floor(math.log10(abs(v))), 0)
                return f"{v:,.{decimals}f}" if abs(v) >= 1e4 else f"{v:.{decimals}f}"
            return f"{v:.{max(d - 1, 0)}e}"
        if kind == "dec":
            return f"{v:.{d}f}"
        if kind == "signed":
            return f"{v:+.{d}f}"
        return f"{100 * v:.{d}f}%"  # pct

    def number(self) -> float:
        """The value a comparison uses (a bound's value is its bound: conservative for < and <=)."""
        if self.fmt in ("count", "table"):
            raise TypeError(f"a {self.fmt} figure has no single number")
        return self.value

    def to_json(self):
        return {"value": self.value, "fmt": self.fmt}

    @classmethod
    def from_json(cls, d) -> "Figure":
        v = d["value"]
        return cls(tuple(v) if d["fmt"] == "count" else v, d["fmt"])


def _scalar(x):
    """numpy / torch / sympy scalars -> Python int, float, bool or str."""
    if isinstance(x, (bool, int, float, str)) or x is None:
        return x
    if hasattr(x, "item"):
        return x.item()
    import sympy as sp

    if isinstance(x, sp.Basic):
        if x.is_Integer:
            return int(x)
        if x.is_Number:
            return float(x)
        return str(x)
    return x


def exact(x) -> Figure:
    """An integer, a boolean, a string or a symbolic expression (printed as text; 0 stays the integer 0)."""
    x = _scalar(x)
    if isinstance(x, float):
        if x != int(x):
            raise ValueError(f"exact() takes integers, booleans and text; round {x!r} with sig() or dec()")
        x = int(x)
    return Figure(x, "exact")


def sig(x, digits: int = 3) -> Figure:
    return Figure(_round_sig(float(_scalar(x)), digits), f"sig{digits}")


def dec(x, places: int = 2) -> Figure:
    x = float(_scalar(x))
    return Figure(round(x, places) + 0.0 if math.isfinite(x) else x, f"dec{places}")


def signed(x, places: int = 3) -> Figure:
    x = float(_scalar(x))
    return Figure(round(x, places) + 0.0 if math.isfinite(x) else x, f"signed{places}")


def pct(x, places: int = 0) -> Figure:
    x = float(_scalar(x))
    return Figure(round(x, places + 2) + 0.0 if math.isfinite(x) else x, f"pct{places}")


def bound(x, ub: float = 1e-6) -> Figure:
    """A round-off-level quantity: stored and printed as '< ub' when it is below ``ub`` (its last digits change
    from machine to machine), otherwise at two significant digits (then it is no longer round-off, and a check
    on it should fail)."""
    x = float(_scalar(x))
    return Figure(float(ub), "lt") if abs(x) < ub else sig(x, 2)


def count(k: int, n: int) -> Figure:
    return Figure((int(k), int(n)), "count")


def table(columns: Iterable[str], rows: Iterable[Iterable]) -> Figure:
    """A table (per-run, per-seed and per-recipe tables): its cells are figures (text cells become exact ones)."""
    cells = [[(c if isinstance(c, Figure) else exact(str(c))).to_json() for c in r] for r in rows]
    return Figure({"columns": [str(c) for c in columns], "rows": cells}, "table")


def table_rows(fig: Figure) -> list[list[Figure]]:
    """A table figure's cells as figures."""
    return [[Figure.from_json(c) for c in r] for r in fig.value["rows"]]


def spread(prefix: str, values, places: int = 2) -> dict[str, Figure]:
    """A distribution over draws or settings: its median and 5-95% range, three figures named after ``prefix``."""
    import numpy as np

    lo, med, hi = np.percentile(np.asarray(values, float), [5, 50, 95])
    return {f"{prefix} median": dec(med, places), f"{prefix} 5%": dec(lo, places), f"{prefix} 95%": dec(hi, places)}


# --------------------------------------------------------------------------------------------------- predicates
OPS = ("==", "!=", "<", "<=", ">", ">=", "in")


@dataclass(frozen=True)
class Condition:
    """``values[key] <op> ref``: one comparison on a named figure (``ref`` a number, text, or for ``in`` a list)."""

    key: str
    op: str
    ref: Any

    def __post_init__(self):
        if self.op not in OPS:
            raise ValueError(f"unknown operator {self.op!r}; expected one of {OPS}")

    def holds(self, values: dict[str, Figure]) -> bool | None:
        """Whether it holds on ``values``; None when the figure is missing or not a number where one is needed."""
        fig = values.get(self.key)
        if fig is None:
            return None
        if self.op == "in":
            return fig.value in self.ref
        v = fig.value[0] if fig.fmt == "count" else fig.value
        if fig.fmt == "lt" and self.op not in ("<", "<="):
            raise ValueError(f"{self.key} is a bound (< {fig.value:g}): it can only be compared with < or <=")
        if self.op in ("==", "!="):
            return (v == self.ref) if self.op == "==" else (v != self.ref)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or (isinstance(v, float) and math.isnan(v)):
            return None
        if fig.fmt == "lt":  # x < bound: x < ref certainly when bound <= ref
            return fig.value <= self.ref
        return {"<": v < self.ref, "<=": v <= self.ref, ">": v > self.ref, ">=": v >= self.ref}[self.op]

    def text(self) -> str:
        ref = "{" + ", ".join(map(str, self.ref)) + "}" if self.op == "in" else self.ref
        return f"{self.key} {self.op} {ref}"

    def to_json(self):
        return [self.key, self.op, list(self.ref) if self.op == "in" else self.ref]

    @classmethod
    def from_json(cls, d) -> "Condition":
        return cls(d[0], d[1], tuple(d[2]) if d[1] == "in" else d[2])


def conditions_hold(conditions: tuple[Condition, ...], values: dict[str, Figure]) -> bool | None:
    """All conditions hold (True), one fails (False), or one cannot be evaluated and none fails (None)."""
    results = [c.holds(values) for c in conditions]
    if False in results:
        return False
    return None if None in results else True


@dataclass(frozen=True)
class Threshold:
    """A statement's threshold: the conditions its quantity must meet (all of them), and the same in words."""

    text: str
    conditions: tuple[Condition, ...]

    def to_json(self):
        return {"text": self.text, "conditions": [c.to_json() for c in self.conditions]}

    @classmethod
    def from_json(cls, d) -> "Threshold":
        return cls(d["text"], tuple(Condition.from_json(c) for c in d["conditions"]))


def threshold(text: str, *conditions: tuple) -> Threshold:
    """``threshold("grows like L", ("power", "==", 1), ("log power", "==", 0))``."""
    return Threshold(text, tuple(Condition(*c) for c in conditions))


# ------------------------------------------------------------------------------------------------------ evidence
#: how far an evidence row reaches, strongest first: a theorem checked by Coq's kernel; a symbolic proof for every
#: T and L (sympy); an induction (sympy: symbolic base case and step); a check on some instances; a number at a
#: stated point
SCOPES = ("machine-checked", "general proof", "proof by induction", "instances", "numeric")
#: the scopes that make a statement 'proved'
GENERAL_SCOPES = SCOPES[:3]
#: how a row was computed
KINDS = ("coq", "symbolic", "autograd", "enumeration", "monte-carlo", "numeric", "skipped")


@dataclass
class Evidence:
    """One row of a claim's evidence.  A *check* compares its values with its own independent derivation and can
    fail: ``passed`` is computed from ``check`` (conditions on ``values``).  A *record* reports values (a map, a
    measurement, an input) and is shown as such: ``passed`` is None."""

    id: str
    kind: str
    what: str
    values: dict[str, Figure]
    check: tuple[Condition, ...] | None = None
    scope: str = "numeric"
    passed: bool | None = field(default=None, init=False)
    note: str = ""  # e.g. the Coq theorem's axioms, or why a row was skipped

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"evidence kind must be one of {KINDS}, got {self.kind!r}")
        if self.scope not in SCOPES:
            raise ValueError(f"evidence scope must be one of {SCOPES}, got {self.scope!r}")
        if self.check is not None:
            ok = conditions_hold(self.check, self.values)
            self.passed = bool(ok)  # a check that cannot be evaluated has not passed

    @property
    def role(self) -> str:
        return "record" if self.check is None else "check"

    def to_json(self):
        return {"id": self.id, "kind": self.kind, "role": self.role, "scope": self.scope, "what": self.what,
                "values": {k: v.to_json() for k, v in self.values.items()},
                "check": None if self.check is None else [c.to_json() for c in self.check],
                "passed": self.passed, "note": self.note}

    @classmethod
    def from_json(cls, d) -> "Evidence":
        ev = cls(d["id"], d["kind"], d["what"], {k: Figure.from_json(v) for k, v in d["values"].items()},
                 None if d["check"] is None else tuple(Condition.from_json(c) for c in d["check"]), d["scope"],
                 note=d.get("note", ""))
        return ev


def check(id: str, kind: str, what: str, values: dict[str, Figure], *conditions: tuple, scope: str = "numeric",
          note: str = "") -> Evidence:
    """A check row: ``check("autograd", "autograd", "...", {"error/tolerance": bound(e)}, ("error/tolerance",
    "<=", 1))``."""
    if not conditions:
        raise ValueError(f"check {id!r} has no condition: a check must be able to fail (use record())")
    return Evidence(id, kind, what, values, tuple(Condition(*c) for c in conditions), scope, note=note)


def record(id: str, kind: str, what: str, values: dict[str, Figure], scope: str = "numeric",
           note: str = "") -> Evidence:
    return Evidence(id, kind, what, values, None, scope, note=note)


# ------------------------------------------------------------------------------------------------------ outcomes
@dataclass
class Outcome:
    """A statement's quantity in one setting.  ``setting``: the value of each choice the paper leaves open (empty
    when it leaves none); ``inside``: whether the setting lies inside what the paper states (an outcome outside it,
    e.g. a control or a contrast, is shown but never decides); ``values``: the quantity's figures; ``evidence``:
    the ids of the rows that establish them; ``settings``: how many concrete settings the outcome stands for (a map
    reports 'in 85 of 360 settings' as two outcomes); ``met`` and ``scope`` are filled in by the statement."""

    setting: dict[str, str]
    values: dict[str, Figure]
    evidence: tuple[str, ...]
    inside: bool = True
    settings: int = 1
    note: str = ""
    met: bool | None = None
    scope: str = ""

    def label(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.setting.items()) or "the stated setting"

    def to_json(self):
        return {"setting": self.setting, "inside": self.inside, "settings": self.settings,
                "values": {k: v.to_json() for k, v in self.values.items()}, "evidence": list(self.evidence),
                "met": self.met, "scope": self.scope, "note": self.note}

    @classmethod
    def from_json(cls, d) -> "Outcome":
        return cls(d["setting"], {k: Figure.from_json(v) for k, v in d["values"].items()}, tuple(d["evidence"]),
                   d["inside"], d["settings"], d.get("note", ""), d["met"], d["scope"])


#: where a statement's words come from: 'quoted' (verbatim: the abstract, as ../shared/paper.md gives it),
#: 'summary' (paper.md's summary of the paper's text, with the paper's formulas), 'reconstruction' (dsproof's
#: reading of an implicit step or a reviewer's objection: the paper does not state it in these words),
#: 'unavailable' (only a section title is available: the statement is not assessed)
SOURCES = ("quoted", "summary", "reconstruction", "unavailable")


@dataclass
class Statement:
    """One atomic statement of a paper claim: one quantity the paper asserts something about.

    ``words``/``location``/``source``: what the paper says and where; ``setting``: the setting the paper states;
    ``open_choices``: the choices it leaves open (the keys of each outcome's ``setting``); ``model``: how dsproof
    instantiates the setting; ``quantity``: what is computed (the quantity the statement speaks of);
    ``threshold``: the predicate on it; ``outcomes``: one per setting.  ``verdict`` is filled in by
    :func:`dsproof.verdict.statement_verdict`; ``correction`` is dsproof's proposed statement, allowed only where the
    statement fails or depends on the setting; ``note`` says what else a referee should know (e.g. a slip in the
    paper's notation)."""

    id: str
    location: str
    words: str
    source: str
    setting: str
    open_choices: tuple[str, ...]
    model: str
    quantity: str
    threshold: Threshold
    outcomes: list[Outcome]
    deciding: tuple[str, ...] = ()  # the value keys shown as the deciding figure (default: every value)
    correction: str = ""
    note: str = ""
    verdict: str = ""

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"{self.id}: source must be one of {SOURCES}, got {self.source!r}")
        for o in self.outcomes:  # an outcome outside the stated setting may name other choices (a contrast)
            extra = set(o.setting) - set(self.open_choices) if o.inside else set()
            if extra:
                raise ValueError(f"{self.id}: outcome setting names {sorted(extra)}, which are not among the open "
                                 f"choices {self.open_choices}")

    def to_json(self):
        return {"id": self.id, "location": self.location, "words": self.words, "source": self.source,
                "setting": self.setting, "open_choices": list(self.open_choices), "model": self.model,
                "quantity": self.quantity, "threshold": self.threshold.to_json(),
                "outcomes": [o.to_json() for o in self.outcomes], "deciding": list(self.deciding),
                "verdict": self.verdict, "correction": self.correction, "note": self.note}

    @classmethod
    def from_json(cls, d) -> "Statement":
        return cls(d["id"], d["location"], d["words"], d["source"], d["setting"], tuple(d["open_choices"]),
                   d["model"], d["quantity"], Threshold.from_json(d["threshold"]),
                   [Outcome.from_json(o) for o in d["outcomes"]], tuple(d["deciding"]), d["correction"], d["note"],
                   d["verdict"])
