"""The machine-checked part of dsproof: the Coq library in ``formal/`` (Coq 8.16 + Coquelicot 3.2).

What "proved" means here: the Coq kernel checked the proof of a stated theorem, and the theorem rests on no axiom
outside :data:`ALLOWED_AXIOMS` (the standard library's classical reals).  This module builds the library, audits
every headline theorem (its printed statement, ``Check``, and its axioms, ``Print Assumptions``) in one coqc run,
compares the statements with the committed ``formal/statements.txt`` (a weakened statement that kept its name
shows up as a diff), scans the sources for ``Admitted`` and friends, and runs ``coqchk`` on the compiled
library.  ``formal/audit.json`` keeps the last audit, so that a machine without Coq can still show the rows
(marked as not rebuilt).

Command line: ``python -m dsproof.formal [--update]``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: <repo>/formal
FORMAL_DIR = Path(__file__).resolve().parent.parent / "formal"

#: the only axioms a headline theorem may rest on: the standard library's classical reals (Coq 8.16's
#: ``Reals`` is built on them; Coquelicot adds no axiom of its own) and functional extensionality
ALLOWED_AXIOMS = frozenset({
    "Coq.Reals.ClassicalDedekindReals.sig_forall_dec",
    "Coq.Reals.ClassicalDedekindReals.sig_not_dec",
    "Coq.Logic.FunctionalExtensionality.functional_extensionality_dep",
    "Coq.Logic.Classical_Prop.classic",
})

#: the committed files (relative to the formal directory)
HEADLINE_FILE = "headline.txt"
STATEMENTS_FILE = "statements.txt"
RECORD_FILE = "audit.json"
#: logical prefix of the library (``-Q . DSProof`` in _CoqProject)
PREFIX = "DSProof"

#: keywords that must not occur in the project's own sources (outside comments and strings)
FORBIDDEN = ("Admitted", "admit", "Axiom", "Axioms", "Parameter", "Parameters", "Conjecture")
#: declarations allowed only inside a Section (where they are discharged as hypotheses of the theorems)
SECTION_ONLY = ("Variable", "Variables", "Hypothesis", "Hypotheses", "Context")


class FormalError(Exception):
    """The build, the audit or coqchk failed (a coqc error, a timeout, unparsable output); the message names the file
    and quotes the tool's message."""

    def __init__(self, message: str, file: str | None = None):
        super().__init__(f"{file}: {message}" if file else message)
        self.file = file


@dataclass(frozen=True)
class Theorem:
    name: str  # fully qualified, e.g. DSProof.Factorisation.lemma_3_1_factorisation
    file: str  # relative to the repository, e.g. formal/Factorisation.v
    statement: str  # the type Coq prints for it (Check @name), whitespace-normalised
    axioms: tuple[str, ...]  # Print Assumptions, fully qualified where allowed, sorted


def _read_headline(formal_dir: Path) -> tuple[str, ...]:
    path = Path(formal_dir) / HEADLINE_FILE
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return tuple(names)


#: every headline theorem, qualified, from formal/headline.txt (empty if the file is absent, e.g. outside a checkout)
HEADLINE: tuple[str, ...] = _read_headline(FORMAL_DIR) if (FORMAL_DIR / HEADLINE_FILE).exists() else ()


# ----------------------------------------------------------------------------------------------------- helpers
def coq_version() -> str | None:
    """The version of coqc on PATH (e.g. '8.16.1'), None when there is none."""
    coqc = shutil.which("coqc")
    if coqc is None:
        return None
    try:
        out = subprocess.run([coqc, "--print-version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.split()[0] if out.split() else None


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _project_files(formal_dir: Path) -> list[str]:
    """The .v files listed in _CoqProject, in order."""
    files = []
    for line in (Path(formal_dir) / "_CoqProject").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.endswith(".v") and not line.startswith("-"):
            files.append(line)
    return files


def _module_of(name: str) -> str:
    """DSProof.Factorisation.lemma_3_1_factorisation -> Factorisation."""
    parts = name.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise FormalError(f"headline name {name!r} is not of the form {PREFIX}.<File>.<theorem>", HEADLINE_FILE)
    return parts[1]


def _file_of(name: str, formal_dir: Path) -> str:
    return f"{Path(formal_dir).name}/{_module_of(name)}.v"


def _strip_comments(src: str) -> str:
    """Coq source without (nested) comments and string literals (each replaced by a space)."""
    out, i, depth, n = [], 0, 0, len(src)
    while i < n:
        if src.startswith("(*", i):
            depth += 1
            i += 2
        elif depth and src.startswith("*)", i):
            depth -= 1
            i += 2
            if not depth:
                out.append(" ")
        elif depth:
            i += 1
        elif src[i] == '"':
            j = src.find('"', i + 1)
            while j != -1 and src.startswith('""', j):  # "" is an escaped quote in Coq strings
                j = src.find('"', j + 2)
            i = n if j == -1 else j + 1
            out.append(" ")
        else:
            out.append(src[i])
            i += 1
    return "".join(out)


def source_problems(formal_dir: Path = FORMAL_DIR) -> list[str]:
    """A text scan of every .v file: Admitted / admit / Axiom / Parameter / Conjecture anywhere (outside comments),
    Variable / Hypothesis / Context outside a Section.  Belt and braces beside Print Assumptions."""
    problems = []
    for path in sorted(Path(formal_dir).glob("*.v")):
        code = _strip_comments(path.read_text())
        rel = f"{Path(formal_dir).name}/{path.name}"
        for m in re.finditer(r"\b(" + "|".join(FORBIDDEN) + r")\b", code):
            line = code.count("\n", 0, m.start()) + 1
            problems.append(f"{rel}:{line}: forbidden keyword {m.group(1)!r}")
        stack: list[tuple[str, str]] = []  # open Sections / Modules
        for m in re.finditer(r"(?:^|(?<=[\s.]))(Section|Module(?:\s+Type)?|End|" + "|".join(SECTION_ONLY)
                             + r")\b\s*([\w']*)", code):
            kind, ident = m.group(1), m.group(2)
            if kind == "Section":
                stack.append(("Section", ident))
            elif kind.startswith("Module"):
                if not re.match(r"\s*:=", code[m.end():]):  # `Module M := N.` opens nothing
                    stack.append(("Module", ident))
            elif kind == "End":
                for k in range(len(stack) - 1, -1, -1):
                    if stack[k][1] == ident:
                        del stack[k:]
                        break
            elif not any(k == "Section" for k, _ in stack):
                line = code.count("\n", 0, m.start()) + 1
                problems.append(f"{rel}:{line}: {kind} outside a Section (an assumption of the whole library)")
    return problems


# ----------------------------------------------------------------------------------------------------- build
def _coq_message(output: str) -> str:
    """The coqc error in make's output: from the first 'File "...", line' to the end, trimmed."""
    m = re.search(r'File "[^"]*", line \d+.*', output, re.S)
    text = m.group(0) if m else output
    return "\n".join(line for line in text.strip().splitlines()[-40:])


def build(timeout_s: int = 300, formal_dir: Path = FORMAL_DIR) -> None:
    """``make -C formal`` with every coqc call under ``timeout timeout_s``; raises FormalError naming the failing
    file (a coqc error with its message, or the timeout)."""
    formal_dir = Path(formal_dir)
    missing = [tool for tool in ("coqc", "coq_makefile", "make") if shutil.which(tool) is None]
    if missing:
        raise FormalError(f"{' / '.join(missing)} not on PATH (apt-get install make coq libcoq-coquelicot)")
    n_files = max(1, len(_project_files(formal_dir)))
    cmd = ["make", "-C", str(formal_dir), f"TIMEOUT={int(timeout_s)}"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s * (n_files + 1) + 120)
    except subprocess.TimeoutExpired as exc:
        raise FormalError(f"make did not finish within {timeout_s * (n_files + 1) + 120} s") from exc
    if proc.returncode == 0:
        return
    output = proc.stdout + proc.stderr
    compiling = re.findall(r"COQC (\S+\.v)", output)
    failed = re.search(r"\*\*\* \[\S*?:\d+: (\S+?)\.vo\] Error (\d+)", output)
    file = f"{formal_dir.name}/{failed.group(1)}.v" if failed else (
        f"{formal_dir.name}/{compiling[-1]}" if compiling else None)
    if failed and failed.group(2) in ("124", "137"):
        raise FormalError(f"coqc timed out after {timeout_s} s (each file builds under `timeout {timeout_s}`)", file)
    raise FormalError(f"build failed (make exit {proc.returncode}):\n{_coq_message(output)}", file)


# ----------------------------------------------------------------------------------------------------- audit
def _defined_names(formal_dir: Path) -> set[str]:
    """Qualified names of the theorems / lemmas defined in the project files (a text scan)."""
    names = set()
    for rel in _project_files(formal_dir):
        path = Path(formal_dir) / rel
        if not path.exists():
            continue
        code = _strip_comments(path.read_text())
        for m in re.finditer(r"\b(?:Theorem|Lemma|Corollary|Proposition|Fact|Remark)\s+([\w']+)", code):
            names.add(f"{PREFIX}.{path.stem}.{m.group(1)}")
    return names


def _short_form(fqn: str) -> str:
    """Coq.Reals.ClassicalDedekindReals.sig_forall_dec -> ClassicalDedekindReals.sig_forall_dec (how Print
    Assumptions prints it)."""
    return ".".join(fqn.split(".")[-2:])


def _parse_assumptions(text: str) -> list[str]:
    if "Closed under the global context" in text:
        return []
    names = []
    for line in text.splitlines():
        if line and not line[0].isspace() and " : " in line:
            names.append(line.split(" : ", 1)[0].strip())
    if not names and text.strip() and not text.strip().endswith(":"):
        raise FormalError(f"cannot parse Print Assumptions output: {text[:300]!r}")
    return names


def _parse_check(text: str) -> str:
    """'name\\n     : type' -> 'type' (whitespace-normalised)."""
    m = re.match(r"\s*\S+\s*\n?\s*:\s(.*)", text, re.S)
    if not m:
        raise FormalError(f"cannot parse Check output: {text[:300]!r}")
    return _normalise(m.group(1))


def audit(formal_dir: Path = FORMAL_DIR, headline: tuple[str, ...] | None = None,
          timeout_s: int = 600) -> dict[str, Theorem]:
    """After :func:`build`: for every headline name defined in the sources, its printed statement (``Check @name``)
    and its axioms (``Print Assumptions``), from ONE coqc run over a generated file (in a temporary directory).
    Names missing from the sources are left out (``audit_problems`` reports them)."""
    formal_dir = Path(formal_dir).resolve()
    headline = _read_headline(formal_dir) if headline is None else tuple(headline)
    if shutil.which("coqc") is None:
        raise FormalError("coqc not on PATH")
    defined = _defined_names(formal_dir)
    present = [name for name in headline if name in defined]
    modules = [Path(f).stem for f in _project_files(formal_dir)]
    allowed = sorted(ALLOWED_AXIOMS)
    lines = [
        "From Coq Require Import Reals List.",
        "From Coquelicot Require Import Coquelicot.",
        f"From {PREFIX} Require Import {' '.join(modules)}.",
        "Import ListNotations.",
        "Open Scope R_scope.",
        "Set Printing Width 100000.",
        "Set Printing Coercions.",  # shows e.g. the Finite of an is_lim_seq limit
    ]
    lines += [f'Redirect "locate_{k}" Locate {_short_form(q)}.' for k, q in enumerate(allowed)]
    for k, name in enumerate(present):
        lines.append(f'Redirect "check_{k}" Check @{name}.')
        lines.append(f'Redirect "assume_{k}" Print Assumptions {name}.')
    with tempfile.TemporaryDirectory(prefix="dsproof-audit-") as tmp:
        tmp = Path(tmp)
        (tmp / "Audit.v").write_text("\n".join(lines) + "\n")
        cmd = ["coqc", "-Q", str(formal_dir), PREFIX, "-w", "-ambiguous-paths", "Audit.v"]
        try:
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise FormalError(f"the audit run did not finish within {timeout_s} s", "Audit.v") from exc
        if proc.returncode != 0:
            raise FormalError(f"the audit run failed:\n{_coq_message(proc.stdout + proc.stderr)}", "Audit.v")
        # the short names Print Assumptions prints, resolved (in the same environment) to the allowed constants
        resolved = {}
        for k, q in enumerate(allowed):
            out = (tmp / f"locate_{k}.out").read_text() if (tmp / f"locate_{k}.out").exists() else ""
            if re.search(r"\bConstant " + re.escape(q) + r"\b", out):
                resolved[_short_form(q)] = q
        theorems = {}
        for k, name in enumerate(present):
            statement = _parse_check((tmp / f"check_{k}.out").read_text())
            printed = _parse_assumptions((tmp / f"assume_{k}.out").read_text())
            axioms = tuple(sorted(resolved.get(p, p) for p in printed))
            theorems[name] = Theorem(name, _file_of(name, formal_dir), statement, axioms)
    return theorems


def read_statements(formal_dir: Path = FORMAL_DIR) -> dict[str, str]:
    """formal/statements.txt: 'name : statement' a line."""
    path = Path(formal_dir) / STATEMENTS_FILE
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, statement = line.partition(" : ")
        out[name.strip()] = _normalise(statement)
    return out


def write_statements(theorems: dict[str, Theorem], formal_dir: Path = FORMAL_DIR) -> None:
    headline = _read_headline(formal_dir)
    order = [n for n in headline if n in theorems] + sorted(set(theorems) - set(headline))
    text = ("# The printed statement (Check @name, whitespace-normalised) of each headline theorem, one a line.\n"
            "# A changed statement is a diff here; regenerate with `python -m dsproof.formal --update` only after\n"
            "# reviewing that the change is intended.\n")
    text += "".join(f"{n} : {theorems[n].statement}\n" for n in order)
    (Path(formal_dir) / STATEMENTS_FILE).write_text(text)


def audit_problems(theorems: dict[str, Theorem], formal_dir: Path = FORMAL_DIR,
                   headline: tuple[str, ...] | None = None) -> list[str]:
    """Everything wrong with an audit: a headline theorem missing, an axiom outside ALLOWED_AXIOMS, a statement that
    differs from formal/statements.txt (or is missing there), and the source scan (:func:`source_problems`)."""
    formal_dir = Path(formal_dir)
    headline = _read_headline(formal_dir) if headline is None else tuple(headline)
    problems = [f"{n}: headline theorem not found in the sources / audit" for n in headline if n not in theorems]
    committed = read_statements(formal_dir)
    for name in headline:
        thm = theorems.get(name)
        if thm is None:
            continue
        bad = [a for a in thm.axioms if a not in ALLOWED_AXIOMS]
        if bad:
            problems.append(f"{name}: rests on axioms outside the allowed list: {', '.join(bad)}")
        if name not in committed:
            problems.append(f"{name}: no committed statement in {STATEMENTS_FILE}")
        elif committed[name] != thm.statement:
            problems.append(f"{name}: statement differs from {STATEMENTS_FILE}:\n"
                            f"  committed: {committed[name]}\n  built:     {thm.statement}")
    for name in sorted(set(committed) - set(headline)):
        problems.append(f"{name}: in {STATEMENTS_FILE} but not a headline theorem")
    return problems + source_problems(formal_dir)


# ----------------------------------------------------------------------------------------------------- coqchk
def coqchk(timeout_s: int = 600, formal_dir: Path = FORMAL_DIR) -> None:
    """The independent checker over every compiled module of the library; raises FormalError when it fails or when
    its context summary lists an axiom outside ALLOWED_AXIOMS."""
    formal_dir = Path(formal_dir)
    if shutil.which("coqchk") is None:
        raise FormalError("coqchk not on PATH")
    modules = [f"{PREFIX}.{Path(f).stem}" for f in _project_files(formal_dir)]
    cmd = ["coqchk", "-silent", "-o", "-Q", str(formal_dir), PREFIX, *modules]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise FormalError(f"coqchk did not finish within {timeout_s} s") from exc
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise FormalError(f"coqchk failed (exit {proc.returncode}):\n{output.strip()[-3000:]}")
    m = re.search(r"\* Axioms:\s*\n(.*?)\n\s*\n", output, re.S)
    axioms = [] if m is None or "<none>" in m.group(1) else m.group(1).split()
    bad = [a for a in axioms if a not in ALLOWED_AXIOMS]
    if bad:
        raise FormalError(f"coqchk: the library rests on axioms outside the allowed list: {', '.join(bad)}")


# ----------------------------------------------------------------------------------------------------- record
def write_record(theorems: dict[str, Theorem], formal_dir: Path = FORMAL_DIR) -> None:
    """formal/audit.json: the audit, deterministic (sorted keys, no timings, paths relative to the repository)."""
    record = {
        "coq": coq_version(),
        "allowed_axioms": sorted(ALLOWED_AXIOMS),
        "theorems": {n: {"file": t.file, "statement": t.statement, "axioms": list(t.axioms)}
                     for n, t in sorted(theorems.items())},
    }
    (Path(formal_dir) / RECORD_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def load_record(formal_dir: Path = FORMAL_DIR) -> dict[str, Theorem]:
    """The committed audit (formal/audit.json) as {name: Theorem}; {} when there is none."""
    path = Path(formal_dir) / RECORD_FILE
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {n: Theorem(n, t["file"], t["statement"], tuple(t["axioms"])) for n, t in data["theorems"].items()}


# ----------------------------------------------------------------------------------------------------- CLI
def _table(theorems: dict[str, Theorem], headline: tuple[str, ...], committed: dict[str, str],
           rebuilt: bool) -> str:
    rows = [("theorem", "file", "axioms", "statement")]
    for name in headline:
        t = theorems.get(name)
        if t is None:
            rows.append((name, "-", "-", "MISSING"))
            continue
        extra = [a for a in t.axioms if a not in ALLOWED_AXIOMS]
        ax = f"{len(t.axioms)} allowed" if not extra else "NOT ALLOWED: " + ", ".join(extra)
        match = "matches" if committed.get(name) == t.statement else "DIFFERS"
        if not rebuilt:
            match += " (not rebuilt)"
        rows.append((name.split(".", 1)[1], t.file, ax, match))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dsproof.formal",
                                     description="Build formal/, audit its headline theorems, run coqchk.")
    parser.add_argument("--update", action="store_true",
                        help="rewrite formal/statements.txt and formal/audit.json from the build")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per coqc call (default 300)")
    parser.add_argument("--no-coqchk", action="store_true", help="skip coqchk (about a minute)")
    args = parser.parse_args(argv)
    headline = _read_headline(FORMAL_DIR)
    version = coq_version()
    if version is None:
        record = load_record()
        print("coqc not on PATH: nothing rebuilt; the committed audit (formal/audit.json) follows.")
        print(_table(record, headline, read_statements(), rebuilt=False))
        return 2
    try:
        build(args.timeout)
        theorems = audit()
        if args.update:
            write_statements(theorems)
            write_record(theorems)
        problems = audit_problems(theorems)
        if not args.no_coqchk:
            try:
                coqchk()
            except FormalError as exc:
                problems.append(str(exc))
        if load_record() != theorems:
            problems.append(f"formal/{RECORD_FILE} differs from this audit (python -m dsproof.formal --update)")
    except FormalError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"Coq {version}; {len(theorems)} of {len(headline)} headline theorems audited"
          + ("; coqchk passed" if not args.no_coqchk and not any("coqchk" in p for p in problems) else ""))
    print(_table(theorems, headline, read_statements(), rebuilt=True))
    if problems:
        print("\nPROBLEMS:", file=sys.stderr)
        for p in problems:
            print(f"- {p}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
