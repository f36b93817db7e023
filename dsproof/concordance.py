"""Which Coq theorems (formal/) establish which statements: the concordance, and the machine-checked evidence rows
read from the build."""

from __future__ import annotations

#: statement id -> [(qualified Coq theorem, tag, the gap to the paper's statement)]; tag: 'exact' (the theorem is
#: the statement), 'weaker' (it proves less), 'conditional' (it proves it under extra hypotheses)
CONCORDANCE: dict[str, list[tuple[str, str, str]]] = {}


def coq_rows(claim_id: str):
    """(the machine-checked evidence rows of a claim's statements, statement id -> ids of its rows)."""
    return [], {}


def formal_section(entries) -> dict:
    """The report's machine-checked section: a summary line and one row per theorem of the concordance."""
    return dict(summary="No statement is machine-checked yet.", theorems=[])
