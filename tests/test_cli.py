"""The `dsproof` command line: one-line errors with exit code 2 for bad arguments, help texts with defaults,
`check --only` merging into the ledger, and `probe --json` / `--baseline`."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from dsproof import cli, ledger


def _run(argv, capsys):
    """(exit code, stdout, stderr) of `dsproof argv`, whether it returns or exits."""
    try:
        rc = cli.main(argv)
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


BAD = {
    "probe: missing checkpoint": (["probe", "--checkpoint", "/nonexistent/model"], "no such file"),
    "probe: cuda without CUDA": (["probe", "--device", "cuda"], "no CUDA device"),
    "probe: batch 0": (["probe", "--batch", "0"], "positive integer"),
    "probe: batch negative": (["probe", "--batch", "-2"], "positive integer"),
    "probe: batch not an int": (["probe", "--batch", "two"], "positive integer"),
    "probe: attempt 0": (["probe", "--attempt", "0"], "positive integer"),
    "probe: attempt negative": (["probe", "--attempt", "-5"], "positive integer"),
    "probe: baseline seed negative": (["probe", "--baseline-seed", "-1"], "non-negative"),
    "probe: baseline without checkpoint": (["probe", "--baseline"], "--baseline needs --checkpoint"),
    "probe: not a device": (["probe", "--device", "gpu0"], "not a torch device"),
    "reproduce: cuda without CUDA": (["reproduce", "--device", "cuda"], "no CUDA device"),
    "reproduce: h100 preset without CUDA": (["reproduce", "--preset", "h100"], "no CUDA device"),
    "reproduce: negative seed": (["reproduce", "--seed", "-3"], "non-negative"),
    "reproduce: unknown preset": (["reproduce", "--preset", "huge"], "invalid choice"),
    "check: --only without ids": (["check", "--only"], "expected at least one argument"),
    "check: unknown id": (["check", "--only", "nope"], "unknown claim id"),
    "report: missing ledger": (["report", "--ledger", "/nonexistent/ledger.json"], "no such file"),
    "readme: missing ledger": (["readme", "--out", "/nonexistent"], "no such file"),
    "no subcommand": ([], "required"),
}


@pytest.mark.parametrize("argv, message", BAD.values(), ids=BAD.keys())
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.chdir(tmp_path)  # nothing a wrong parse might write lands in the repository
    rc, out, err = _run(argv, capsys)
    assert rc == 2, (rc, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err and out == ""


def _subparsers(parser):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_every_int_option_is_validated():
    """Every int-valued option uses a validating type (a plain `type=int` would let 0 or -1 through)."""
    for name, sub in _subparsers(cli.build_parser()).items():
        for a in sub._actions:
            assert a.type is not int, f"dsproof {name} {a.option_strings}: type=int accepts non-positive values"


def test_help_has_a_description_and_every_default(capsys):
    for name, sub in _subparsers(cli.build_parser()).items():
        rc, out, _ = _run([name, "--help"], capsys)
        assert rc == 0 and sub.description and " ".join(sub.description.split()) in " ".join(out.split()), name
        flat = " ".join(out.split())
        for a in sub._actions:
            if isinstance(a, argparse._HelpAction):
                continue
            assert a.help, f"dsproof {name} {a.option_strings}: no help text"
            assert f"(default: {a.default})" in flat or "%(default)" in a.help, \
                f"dsproof {name} --help does not show the default of {a.option_strings}"


def test_check_only_merges_into_the_existing_ledger(tmp_path, capsys, monkeypatch):
    """`check --only ID` replaces ID's entry and keeps the others, in registry order."""
    ids = ["lemma-3.1", "calibration-4.2"]
    assert cli.main(["check", "--quiet", "--out", str(tmp_path), "--only", *ids]) == 0
    before = ledger.load(tmp_path / "ledger.json")

    from dsproof.model import exact, record

    def changed():
        return ledger.Result([], [record("re-run", "numeric", "re-run", {"x": exact(42)})])

    claim = ledger.load_all()["calibration-4.2"]
    monkeypatch.setitem(ledger.REGISTRY, "calibration-4.2", ledger.Claim(claim.id, claim.paper_ref, changed,
                                                                          claim.notebook))
    assert cli.main(["check", "--quiet", "--out", str(tmp_path), "--only", "calibration-4.2"]) == 0
    after = {e.id: e for e in ledger.load(tmp_path / "ledger.json")}
    order = [i for i in ledger.load_all() if i in after]
    assert list(after) == order and set(after) == set(ids), "merged ledger: wrong claims or not in registry order"
    assert [ev.id for ev in after["calibration-4.2"].evidence] == ["re-run"]
    assert after["lemma-3.1"].to_json() == before[[e.id for e in before].index("lemma-3.1")].to_json()
    assert "kept from the existing ledger" in capsys.readouterr().out


def test_probe_json_and_token_counts(capsys):
    rc, out, _ = _run(["probe", "--arch", "gpt2", "--batch", "2", "--attempt", "4", "--json", "--quiet"], capsys)
    assert rc == 0
    data = json.loads(out)
    assert len(data["objectives"]) == len(cli.PROBE_OBJECTIVES)
    for o in data["objectives"]:
        r = o["result"]
        assert set(r) == {"norms", "ratio", "inner", "cosine", "groups", "tokens"}
        assert set(r["norms"]) == {"sampling", "decision", "total"} and r["ratio"] > 0
        assert r["tokens"]["sampling"] > r["tokens"]["decision"] > 0
        assert all(set(v) == {"sampling", "decision"} for v in r["groups"].values())
    rc, out, _ = _run(["probe", "--arch", "gpt2", "--batch", "2", "--attempt", "4", "--quiet"], capsys)
    assert rc == 0 and out.count("\ntokens ") == len(cli.PROBE_OBJECTIVES)


def test_probe_baseline_beside_a_checkpoint(tmp_path, capsys):
    from numerics.models import build_model

    build_model("gpt2", seed=7).save_pretrained(tmp_path / "ckpt")
    argv = ["probe", "--checkpoint", str(tmp_path / "ckpt"), "--batch", "2", "--attempt", "4", "--quiet"]
    rc, out, _ = _run(argv + ["--baseline", "--json"], capsys)
    assert rc == 0
    for o in json.loads(out)["objectives"]:
        assert o["random_init"]["ratio"] != o["result"]["ratio"]
    rc, out, _ = _run(argv + ["--baseline"], capsys)
    assert rc == 0 and out.count("vs random init of the same config") == len(cli.PROBE_OBJECTIVES)
    rc, out, _ = _run(argv, capsys)
    assert rc == 0 and "random init" not in out
