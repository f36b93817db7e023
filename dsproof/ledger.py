"""The claims registry and the ledger.

paper claim -> ``Claim`` (id, the paper's item, a check function) -> the check derives with theory/, evaluates with
numerics/, and returns :class:`Result`: the claim's statements (:class:`dsproof.model.Statement`, each with its
outcomes) and its evidence rows -> :func:`run_claim` applies the one verdict rule (:mod:`dsproof.verdict`) ->
``Entry`` -> ledger JSON -> Markdown, HTML, notebooks and the README table (:mod:`dsproof.render`).  One registry;
the CLI, the report and the README all read it.

``Entry.status`` says whether dsproof's own computation is consistent: every check row passed ('ok'), one did not
('inconsistent': a bug in dsproof, and the CLI exits 1) or the check function raised ('error').  A paper claim can
fail with every check passed: that is a finding.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import verdict as rule
from .model import Evidence, Statement


@dataclass
class Result:
    """What a claim's check returns: its statements and the evidence rows their outcomes cite."""

    statements: list[Statement]
    evidence: list[Evidence]


@dataclass
class Claim:
    id: str
    paper_ref: str
    check: Callable[[], Result] = field(repr=False)
    notebook: str = ""


REGISTRY: dict[str, Claim] = {}


def claim(id: str, paper_ref: str, notebook: str = ""):
    """Decorator registering a check function as the evidence for one paper claim."""

    def wrap(fn: Callable[[], Result]) -> Callable[[], Result]:
        if id in REGISTRY:
            raise ValueError(f"claim id {id!r} registered twice")
        REGISTRY[id] = Claim(id, paper_ref, fn, notebook)
        return fn

    return wrap


#: the ledger's order: paper order by part
CLAIM_MODULES = ("claims.core", "claims.objectives", "claims.values", "claims.training", "claims.empirical")


def load_all() -> dict[str, Claim]:
    """Import every module that registers claims; the claims in CLAIM_MODULES order (then any others), whatever
    order the modules happened to be imported in."""
    import importlib

    for m in CLAIM_MODULES:
        importlib.import_module(f"{__package__}.{m}")
    rank = {f"{__package__}.{m}": i for i, m in enumerate(CLAIM_MODULES)}
    return dict(sorted(REGISTRY.items(), key=lambda kv: rank.get(kv[1].check.__module__, len(rank))))


@dataclass
class Entry:
    id: str
    paper_ref: str
    statements: list[Statement]
    evidence: list[Evidence]
    verdict: str
    status: str  # ok | inconsistent (a check row failed) | error (the check raised)
    seconds: float = 0.0  # this run's wall time: for the terminal only, never written (see RUN_ONLY_FIELDS)
    notebook: str = ""
    error: str = ""

    def statement(self, sid: str) -> Statement:
        return next(s for s in self.statements if s.id == sid)

    def row(self, eid: str) -> Evidence:
        return next(e for e in self.evidence if e.id == eid)

    def to_json(self):
        return {"id": self.id, "paper_ref": self.paper_ref, "verdict": self.verdict, "status": self.status,
                "notebook": self.notebook, "error": self.error,
                "statements": [s.to_json() for s in self.statements],
                "evidence": [e.to_json() for e in self.evidence]}

    @classmethod
    def from_json(cls, d) -> "Entry":
        return cls(d["id"], d["paper_ref"], [Statement.from_json(s) for s in d["statements"]],
                   [Evidence.from_json(e) for e in d["evidence"]], d["verdict"], d["status"], 0.0, d["notebook"],
                   d["error"])


def assemble(c: Claim, result: Result, seconds: float = 0.0) -> Entry:
    """The entry of a claim from its check's result: every statement evaluated by the rule, the claim's verdict
    from its statements', the status from its check rows."""
    ids = [e.id for e in result.evidence]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{c.id}: evidence ids repeat: {sorted(i for i in ids if ids.count(i) > 1)}")
    sids = [s.id for s in result.statements]
    if len(set(sids)) != len(sids) or not all(s.startswith(c.id + "/") for s in sids):
        raise ValueError(f"{c.id}: statement ids must be unique and start with '{c.id}/': {sids}")
    by_id = {e.id: e for e in result.evidence}
    for st in result.statements:
        rule.evaluate(st, by_id)
    status = "ok" if all(e.passed is not False for e in result.evidence) else "inconsistent"
    return Entry(c.id, c.paper_ref, result.statements, result.evidence,
                 rule.claim_verdict(s.verdict for s in result.statements), status, seconds, c.notebook)


def run_claim(c: Claim) -> Entry:
    t0 = time.perf_counter()
    try:
        return assemble(c, c.check(), time.perf_counter() - t0)
    except Exception as exc:  # reported in the ledger, and the CLI exits non-zero
        return Entry(c.id, c.paper_ref, [], [], "open", "error", time.perf_counter() - t0, c.notebook,
                     f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")


def to_json(entries: list[Entry]) -> str:
    return json.dumps({"rule": rule.RULE, "verdicts": rule.MEANING, "claims": [e.to_json() for e in entries]},
                      indent=1, ensure_ascii=False) + "\n"


def load(path: Path) -> list[Entry]:
    """Entries from a ledger.json written by :func:`write`."""
    return [Entry.from_json(c) for c in json.loads(Path(path).read_text())["claims"]]


def merge(old: list[Entry], new: list[Entry], order: list[str]) -> list[Entry]:
    """The ledger after re-running some claims: ``new`` replaces the entries of the same id in ``old``, the others
    are kept, all in ``order`` (the registry's); entries whose id is not in ``order`` (claims no longer
    registered) are dropped."""
    by_id = {e.id: e for e in old} | {e.id: e for e in new}
    return [by_id[i] for i in order if i in by_id]


def write(entries: list[Entry], out_dir: Path) -> tuple[Path, Path]:
    from . import render

    out_dir.mkdir(parents=True, exist_ok=True)
    pj, pm = out_dir / "ledger.json", out_dir / "ledger.md"
    pj.write_text(to_json(entries))
    pm.write_text(render.ledger_markdown(entries))
    return pj, pm
