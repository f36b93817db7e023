"""The figure inventory (tests/figure_inventory.py) is complete: every figure of reports/ledger.json, of
reports/reproduce/*/results.json, of `dsproof probe` (table and --json) and every expression a notebook displays has
a row (or is a listed gap); every row matches a figure and names a test that exists."""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

from dsproof import cli

from . import figure_inventory as inventory

ROOT = Path(__file__).resolve().parent.parent
RUNS = sorted(p.parent for p in (ROOT / "reports" / "reproduce").glob("*/results.json"))
WILDCARD = {"models": 2, "gains": 1, "gains_retry": 1, "diffs": 1, "final_losses": 1, "seconds": 1, "preset": 1,
            "groups": 1, "options": 1, "skipped": 1}  # these hold names or counts as keys: that many levels below become *


def _paths(node, prefix="", star=0):
    """Leaf paths of a JSON document: dict keys joined by '.', list items as '[]'; the keys named in WILDCARD
    replaced by '*' for as many levels as it says."""
    if isinstance(node, dict):
        for k, v in node.items():
            key = "*" if star else k
            yield from _paths(v, f"{prefix}.{key}" if prefix else key, max(star - 1, 0) or WILDCARD.get(k, 0))
    elif isinstance(node, list):
        for v in node:
            yield from _paths(v, prefix + "[]", star)
    else:
        yield prefix


def _missing(found, table):
    return sorted(set(found) - set(table) - set(inventory.GAPS))


def test_every_row_names_an_existing_test_and_a_kind():
    tables = [inventory.LEDGER, inventory.RESULTS, inventory.PROBE, inventory.ROLLOUTS, inventory.NOTEBOOKS]
    for table in tables:
        for key, (node, kind) in table.items():
            assert kind in inventory.KINDS, f"{key}: unknown kind {kind!r}; use one of inventory.KINDS"
            path, _, name = node.partition("::")
            module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
            assert callable(getattr(module, name, None)) and name.startswith("test_"), f"{key}: no test {node}"
            assert key not in inventory.GAPS, f"{key} is both inventoried and listed as a gap"


def _ledger_keys():
    claims = json.loads((ROOT / "reports" / "ledger.json").read_text())["claims"]
    keys = {}
    for claim in claims:
        for ev in claim["evidence"]:
            rows = [k for k in [*inventory.LEDGER, *inventory.GAPS]
                    if isinstance(k, tuple) and k[0] == claim["id"] and ev["id"].startswith(k[1])]
            keys[(claim["id"], ev["id"])] = max(rows, key=lambda k: len(k[1])) if rows else None
    return keys


def test_every_ledger_figure_has_a_row():
    keys = _ledger_keys()
    missing = [k for k, row in keys.items() if row is None]
    assert not missing, "ledger evidence without a row in tests/figure_inventory.py LEDGER:\n" + "\n".join(
        f"  {k!r}" for k in missing)
    stale = set(inventory.LEDGER) - set(keys.values())
    stale |= {k for k in inventory.GAPS if isinstance(k, tuple) and k[0] in {c for c, _ in keys}
              and k not in set(keys.values())}
    assert not stale, f"inventory rows that match no ledger evidence: {sorted(stale)}"


@pytest.mark.skipif(not RUNS, reason="no reports/reproduce/*/results.json committed")
def test_every_results_field_has_a_row():
    found = {p for run in RUNS for p in _paths(json.loads((run / "results.json").read_text()))}
    assert not _missing(found, inventory.RESULTS), \
        f"results.json fields without a row in RESULTS: {_missing(found, inventory.RESULTS)}"
    stale = set(inventory.RESULTS) - found
    assert not stale, f"RESULTS rows that match no results.json field: {sorted(stale)}"


def test_every_probe_figure_has_a_row(capsys):
    """The --json fields of a probe on the tiny GPT-2, and the cells of its printed table."""
    argv = ["probe", "--arch", "gpt2", "--batch", "2", "--attempt", "3", "--quiet"]
    assert cli.main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    found = {p.replace(".random_init.", ".result.") for p in _paths(data)}
    assert cli.main(argv) == 0
    table = capsys.readouterr().out.split("\n== ")[1].splitlines()[1:]
    header = table[0].split()[1:]
    columns = ["sampling", "decision", "ratio"]
    assert header == ["|g_sampling|", "|g_decision|", "ratio"], f"the probe table's columns changed: {header}"
    groups = set(data["objectives"][0]["result"]["groups"])
    for line in table[1:-1]:
        row = line.split()[0]
        found |= {f"table:{'*' if row in groups else row}.{c}" for c in columns}
    found |= {f"table:cross-term.{k}" for k in re.findall(r"(<g_s, g_d>|[^\s,<>]+) = ", table[-1])}
    assert not _missing(found, inventory.PROBE), f"probe figures without a row in PROBE: {_missing(found, inventory.PROBE)}"
    stale = set(inventory.PROBE) - found
    assert not stale, f"PROBE rows that match no probe figure: {sorted(stale)}"


def test_every_rollouts_probe_figure_has_a_row(tmp_path, capsys):
    """`dsproof probe --rollouts --compare` on the example checkpoints (numerics.rollout_example): the --json fields,
    the cells of the printed table and the figures of the comparison line."""
    from numerics import rollout_example

    paths = rollout_example.build(tmp_path)
    argv = ["probe", "--checkpoint", str(paths["sft"]), "--rollouts", str(paths["rollouts"]), "--compare",
            str(paths["rl"]), "--objective", "surrogate", "--bootstrap", "20", "--quiet"]
    assert cli.main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    found = set(_paths(data))
    assert cli.main(argv) == 0
    out = capsys.readouterr().out.split("\n== ")[1].splitlines()[1:]
    groups = set(data["objectives"][0]["result"]["groups"])
    for line in out[1:]:
        row = line.split()[0]
        if row in groups | {"all", "tokens"}:
            found |= {f"table:{'*' if row in groups else row}.{c}" for c in ("sampling", "decision", "ratio")}
    cross = next(line for line in out if line.startswith("cross-term"))
    found |= {f"table:cross-term.{k}" for k in re.findall(r"(<g_s, g_d>|[^\s,<>]+) = ", cross)}
    compare = next(line for line in out if line.startswith("ratio |g_s|/|g_d|"))
    shape = (r"ratio \|g_s\|/\|g_d\|: \S+ \S+, \S+ \S+, difference \S+ \(95% bootstrap CI over \d+ rollouts in \d+ "
             r"resampled units \(GRPO groups, or single rollouts\) \[\S+, \S+\], \d+ resamples(, \d+ undefined: zero "
             r"gradient)?\)")
    assert re.fullmatch(shape, compare), f"the comparison line changed: {compare!r}; update ROLLOUTS"
    found |= {f"compare:{k}" for k in ("ratio", "ratio (compare)", "difference", "ci", "rollouts", "units",
                                       "resamples")} | ({"compare:undefined"} if "undefined" in compare else set())
    assert not _missing(found, inventory.ROLLOUTS), f"without a row in ROLLOUTS: {_missing(found, inventory.ROLLOUTS)}"
    stale = set(inventory.ROLLOUTS) - found
    assert not stale, f"ROLLOUTS rows that match no figure: {sorted(stale)}"


def test_no_figure_is_left_without_a_test():
    """The debt list is paid: every inventoried figure has a test (a new figure comes with its test, not a gap)."""
    assert not inventory.GAPS, f"figures without a test: {sorted(map(str, inventory.GAPS))}"


def test_every_notebook_display_has_a_row():
    found = set()
    for src in sorted((ROOT / "notebooks").glob("*.py")):
        for node in ast.parse(src.read_text()).body:
            if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant):
                found.add((src.stem, ast.unparse(node.value)))
    assert not _missing(found, inventory.NOTEBOOKS), \
        "notebook displays without a row in NOTEBOOKS:\n" + "\n".join(map(repr, _missing(found, inventory.NOTEBOOKS)))
    stale = set(inventory.NOTEBOOKS) - found
    stale |= {k for k in inventory.GAPS if isinstance(k, tuple) and (ROOT / "notebooks" / f"{k[0]}.py").exists()
              and k not in found}
    assert not stale, f"NOTEBOOKS rows that match no notebook display: {sorted(stale)}"
