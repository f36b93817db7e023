"""The machine-checked part (formal/, Coq 8.16 + Coquelicot): build, audit, coqchk, and the audit's own teeth.

Without coqc on PATH the Coq tests skip and say why; DSPROOF_REQUIRE_COQ=1 (set by CI) turns the skip into a
failure.  The break-on-purpose tests work on temporary copies of formal/, never on the real one.  The tests that
run Coq are marked slow; the project's conftest keeps this file in one pytest-xdist group (one worker builds).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dsproof import formal

REPO = Path(__file__).resolve().parent.parent
#: the headline theorems the ledger refers to (issue 24); formal/headline.txt may add more, never fewer
LEDGER_NAMES = (
    "DSProof.Factorisation.lemma_3_1_factorisation",
    "DSProof.Factorisation.corollary_3_1_score_split",
    "DSProof.Factorisation.corollary_3_1_norm_identity",
    "DSProof.Surrogate.theorem_3_1_surrogate_gradient",
    "DSProof.Surrogate.theorem_3_1_baseline_per_stage",
    "DSProof.Calibration.calibration_closed_form",
    "DSProof.Calibration.calibration_limit",
    "DSProof.Calibration.calibration_budget_sign",
    "DSProof.KLLimit.theorem_3_2_kl_ratio_limit",
    "DSProof.KLLimit.theorem_3_2_kl_ratio_limit_T2",
    "DSProof.KLFixedPs.theorem_3_2_kl_ratio_limit_fixed_ps_ref",
    "DSProof.KLFixedPs.theorem_3_2_kl_ratio_limit_fixed_ps",
)


def _need_coq():
    if formal.coq_version() is None or shutil.which("coq_makefile") is None or shutil.which("coqchk") is None:
        if os.environ.get("DSPROOF_REQUIRE_COQ") == "1":
            pytest.fail("DSPROOF_REQUIRE_COQ=1 but coqc / coq_makefile / coqchk not on PATH")
        pytest.skip("coqc not on PATH (apt-get install coq libcoq-coquelicot; .ci/run installs it)")


def _copy_sources(dst: Path) -> Path:
    """A copy of formal/ without its build products (the committed files only)."""
    ignore = shutil.ignore_patterns("*.vo", "*.vok", "*.vos", "*.glob", "*.aux", ".*.aux", "Makefile.coq*",
                                    ".Makefile.coq.d", ".lia.cache", ".nia.cache")
    target = dst / "formal"
    shutil.copytree(formal.FORMAL_DIR, target, ignore=ignore)
    return target


def _copy_built(dst: Path) -> Path:
    """A copy of the built formal/ (products and their times kept): a build there remakes only the files an edit
    touches and their dependents."""
    target = dst / "formal"
    shutil.copytree(formal.FORMAL_DIR, target, ignore=shutil.ignore_patterns(".lia.cache", ".nia.cache"))
    return target


@pytest.fixture(scope="module")
def built():
    """formal/ built in place (its products are git-ignored) and audited once; None without Coq (each test then
    skips, or fails, in its body through _need_coq: a fixture's pytest.fail would read as an error, not a failure)."""
    if formal.coq_version() is None or shutil.which("coq_makefile") is None:
        return None
    import time

    t0 = time.perf_counter()
    formal.build()
    t1 = time.perf_counter()
    theorems = formal.audit()
    t2 = time.perf_counter()
    print(f"\nformal: build {t1 - t0:.1f} s, audit {t2 - t1:.1f} s")
    return theorems


# --------------------------------------------------------------------------------------------- without Coq
def test_headline_list_names_every_ledger_theorem():
    assert formal.HEADLINE == formal._read_headline(formal.FORMAL_DIR)
    assert set(LEDGER_NAMES) <= set(formal.HEADLINE)
    assert len(set(formal.HEADLINE)) == len(formal.HEADLINE)
    defined = formal._defined_names(formal.FORMAL_DIR)
    assert [n for n in formal.HEADLINE if n not in defined] == []


def test_concordance_names_real_statements_cells_and_headline_theorems():
    """Every concordance key is a statement of the committed ledger (and, with [choice=value], one of its inside or
    outside cells); every theorem is a headline theorem; every 'exact' theorem is cited by that statement's
    outcome(s) of the cell, and no outcome cites a Coq row the concordance does not tag 'exact' for it."""
    from dsproof import ledger
    from dsproof.concordance import CONCORDANCE, row_id

    statements = {st.id: st for e in ledger.load(REPO / "reports" / "ledger.json") for st in e.statements}
    exact_rows = {}
    for key, items in CONCORDANCE.items():
        sid, _, cell = key.partition("[")
        assert sid in statements, key
        outcomes = statements[sid].outcomes
        if cell:
            choice, value = cell.rstrip("]").split("=", 1)
            outcomes = [o for o in outcomes if o.setting.get(choice) == value
                        and set(o.setting) <= set(statements[sid].open_choices)]  # not the controls
            assert outcomes, key
        for name, tag, gap in items:
            assert tag in ("exact", "weaker", "conditional") and gap
            assert f"DSProof.{name}" in formal.HEADLINE, name
            if tag == "exact":
                for o in outcomes:
                    assert row_id(name) in o.evidence, (key, name)
                    exact_rows.setdefault(sid, set()).add(row_id(name))
    for sid, st in statements.items():
        cited = {c for o in st.outcomes for c in o.evidence if c.startswith("coq-")}
        assert cited <= exact_rows.get(sid, set()), sid


def test_kl_limit_closed_form_is_the_ledgers_value_at_the_witness():
    """theorem_3_2_kl_ratio_limit_T2's limit, transcribed from its printed statement, evaluated at the witness point
    (policy logits 0.8, 0.5, 0.2; reference 0.5, 0.2, -0.1) equals the ledger's fixed-logits k1 limit at T = 2."""
    import math

    from dsproof import ledger

    stmt = formal.read_statements()["DSProof.KLLimit.theorem_3_2_kl_ratio_limit_T2"]
    formula = ("Finite ((1 + sigmoid tW) * Rabs (kl_tok_dlogit (sigmoid ts) qr) / "
               "(sigmoid tW * (1 - sigmoid tW) * kl_bern (sigmoid ts) qr))")
    assert formula in " ".join(stmt.split())
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    q, qr, pW = sig(0.8), sig(0.5), sig(0.2)
    kl_tok_dlogit = q * (1 - q) * math.log(q * (1 - qr) / (qr * (1 - q)))
    kl_bern = q * math.log(q / qr) + (1 - q) * math.log((1 - q) / (1 - qr))
    limit = (1 + pW) * abs(kl_tok_dlogit) / (pW * (1 - pW) * kl_bern)
    st = next(s for e in ledger.load(REPO / "reports" / "ledger.json") for s in e.statements
              if s.id == "thm-3.2/gradient")
    o = next(o for o in st.outcomes if o.setting == {"scaling": "fixed-logits"})
    assert o.values["coefficient"].value == pytest.approx(limit, rel=1e-3)
    assert o.values["L power"].value == 0


def test_sources_have_no_admitted_axiom_or_parameter():
    assert formal.source_problems() == []


def test_source_scan_catches_each_forbidden_form(tmp_path):
    (tmp_path / "Bad.v").write_text(
        "(* Admitted in a comment is fine, (* nested *) Axiom too *)\n"
        "Definition s := \"Parameter in a string is fine\".\n"
        "Axiom ax : False.\nParameter p : nat.\nLemma l : True. Proof. admit. Admitted.\n"
        "Variable v : nat.\nSection S. Variable w : nat. Hypothesis H : w = w. End S.\nHypothesis H2 : True.\n")
    problems = formal.source_problems(tmp_path)
    found = sorted(re.findall(r"'(\w+)'|(\w+) outside a Section", "\n".join(problems)))
    kinds = sorted(a or b for a, b in found)
    assert kinds == ["Admitted", "Axiom", "Hypothesis", "Parameter", "Variable", "admit"], problems


def test_committed_record_covers_the_headline_with_allowed_axioms_only():
    """What a machine without Coq shows: the committed audit has every headline theorem, only allowed axioms, and
    the statements of formal/statements.txt."""
    record = formal.load_record()
    assert set(record) == set(formal.HEADLINE)
    committed = formal.read_statements()
    for name, thm in record.items():
        assert thm.file == f"formal/{name.split('.')[1]}.v"
        assert set(thm.axioms) <= formal.ALLOWED_AXIOMS, (name, thm.axioms)
        assert thm.statement == committed[name]
    assert formal.audit_problems(record) == []


def test_record_is_deterministic_json(tmp_path):
    record = formal.load_record()
    target = _copy_sources(tmp_path)
    formal.write_record(record, target)
    first = (target / "audit.json").read_text()
    formal.write_record(dict(reversed(list(record.items()))), target)
    assert (target / "audit.json").read_text() == first
    data = json.loads(first)
    assert list(data["theorems"]) == sorted(data["theorems"])
    assert "/work" not in first and set(data) == {"coq", "allowed_axioms", "theorems"}


def test_missing_coq_skips_and_required_coq_fails(tmp_path):
    """Without coqc on PATH a Coq test skips with a reason; with DSPROOF_REQUIRE_COQ=1 it fails."""
    empty = tmp_path / "bin"
    empty.mkdir()
    base = {k: v for k, v in os.environ.items() if k not in ("DSPROOF_REQUIRE_COQ", "PYTEST_XDIST_WORKER")}
    base["PATH"] = str(empty)
    base["PYTHONPATH"] = str(REPO)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", "-rs",
           f"{Path(__file__)}::test_statements_match_committed_file", "-o", "addopts="]
    skipped = subprocess.run(cmd, cwd=REPO, env=base, capture_output=True, text=True, timeout=300)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "1 skipped" in skipped.stdout and "coqc not on PATH" in skipped.stdout
    failed = subprocess.run(cmd, cwd=REPO, env={**base, "DSPROOF_REQUIRE_COQ": "1"}, capture_output=True, text=True,
                            timeout=300)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "1 failed" in failed.stdout and "DSPROOF_REQUIRE_COQ=1" in failed.stdout


# --------------------------------------------------------------------------------------------- with Coq
@pytest.mark.slow
def test_audit_every_headline_present_with_allowed_axioms_only(built):
    _need_coq()
    assert list(built) == list(formal.HEADLINE)
    for name, thm in built.items():
        assert set(thm.axioms) <= formal.ALLOWED_AXIOMS, (name, thm.axioms)
        # a general statement quantifies; a witness fixes its point with lets, then quantifies the rest
        assert thm.statement.startswith("let " if ".witness_" in name else "forall"), (name, thm.statement)
        if ".witness_" in name:
            assert "forall" in thm.statement, name
    assert formal.audit_problems(built) == []


@pytest.mark.slow
def test_statements_match_committed_file(built):
    _need_coq()
    committed = formal.read_statements()
    assert {n: t.statement for n, t in built.items()} == {n: committed[n] for n in built}
    assert set(committed) == set(formal.HEADLINE)


@pytest.mark.slow
def test_committed_record_equals_fresh_audit(built):
    _need_coq()
    assert formal.load_record() == built


@pytest.mark.slow
def test_coqchk_passes(built):
    _need_coq()
    import time

    t0 = time.perf_counter()
    formal.coqchk()
    print(f"\nformal: coqchk {time.perf_counter() - t0:.1f} s")


@pytest.mark.slow
def test_statement_shapes(built):
    """Spot checks that the printed statements say what their names claim (the Finite of the limit, the
    per-stage pair of the baseline, the derivative of the surrogate at theta_old)."""
    _need_coq()
    s = {n.rsplit(".", 1)[1]: t.statement for n, t in built.items()}
    assert "is_lim_seq (fun T : nat => f_T ps pdC pdW T) (Finite (f_oo ps pdC pdW))" in s["calibration_limit"]
    assert s["theorem_3_1_baseline_per_stage"].endswith(
        "expect M (pi theta) T (fun e : episode Tok => b * score_S pi theta i e) = 0 /\\ "
        "expect M (pi theta) T (fun e : episode Tok => b * score_D pi theta i e) = 0")
    assert "pd i (surrogate pi M T A theta_old) theta_old = " in s["theorem_3_1_surrogate_gradient"]
    assert "f_T ps pdC pdW T < f_oo ps pdC pdW <-> pdC + pdW > 1" in s["calibration_budget_sign"]


@pytest.mark.slow
def test_admitted_lemma_under_a_headline_theorem_is_reported(built, tmp_path):
    """An Admitted lemma used by the headline theorems shows up by name in Print Assumptions (not only in the text
    scan), and audit_problems reports it."""
    _need_coq()
    copy = _copy_built(tmp_path)
    src = (copy / "Factorisation.v").read_text()
    admitted = re.sub(r"(Lemma upd_same .*?Proof\.).*?Qed\.", r"\1 Admitted.", src, count=1, flags=re.S)
    assert admitted != src
    (copy / "Factorisation.v").write_text(admitted)
    formal.build(formal_dir=copy)
    theorems = formal.audit(formal_dir=copy)
    hit = [n for n, t in theorems.items() if any(a.endswith("upd_same") for a in t.axioms)]
    assert "DSProof.Factorisation.corollary_3_1_score_split" in hit
    assert "DSProof.Surrogate.theorem_3_1_surrogate_gradient" in hit
    problems = formal.audit_problems(theorems, formal_dir=copy)
    assert any("outside the allowed list" in p and "upd_same" in p for p in problems)
    assert any("forbidden keyword 'Admitted'" in p for p in problems)


@pytest.mark.slow
def test_weakened_statement_shows_as_a_diff(built, tmp_path):
    """A hypothesis added to a headline theorem (its name kept, its proof still going through) is a statement
    diff against formal/statements.txt, and the axiom audit alone would not have seen it."""
    _need_coq()
    copy = _copy_built(tmp_path)
    src = (copy / "Calibration.v").read_text()
    weak = src.replace("  (1 <= T)%nat -> cont_prob ps pdC pdW <> 1 ->\n  f_T ps pdC pdW T =",
                       "  (1 <= T)%nat -> 0 <= ps -> cont_prob ps pdC pdW <> 1 ->\n  f_T ps pdC pdW T =", 1)
    weak = weak.replace("intros ps pdC pdW T HT Hb; destruct T as [|n]; [lia|].\n  rewrite f_T_G, G_closed",
                        "intros ps pdC pdW T HT _ Hb; destruct T as [|n]; [lia|].\n  rewrite f_T_G, G_closed", 1)
    assert weak.count("0 <= ps -> cont_prob") == 1 and "HT _ Hb" in weak
    (copy / "Calibration.v").write_text(weak)
    formal.build(formal_dir=copy)
    theorems = formal.audit(formal_dir=copy)
    name = "DSProof.Calibration.calibration_closed_form"
    assert set(theorems[name].axioms) <= formal.ALLOWED_AXIOMS
    problems = formal.audit_problems(theorems, formal_dir=copy)
    assert [p.splitlines()[0] for p in problems] == [f"{name}: statement differs from statements.txt:"]


@pytest.mark.slow
def test_looping_file_is_stopped_by_the_timeout(tmp_path):
    _need_coq()
    copy = _copy_sources(tmp_path)
    # ~10^12 steps of a binary iteration: small memory, no end in sight
    (copy / "Loop.v").write_text("From Coq Require Import NArith.\n"
                                 "Eval vm_compute in (N.iter 1000000000000%N negb true).\n")
    (copy / "_CoqProject").write_text("-Q . DSProof\nLoop.v\n")
    with pytest.raises(formal.FormalError) as err:
        formal.build(timeout_s=3, formal_dir=copy)
    assert err.value.file == "formal/Loop.v"
    assert "timed out after 3 s" in str(err.value)


@pytest.mark.slow
def test_build_error_names_the_file_and_quotes_coqc(tmp_path):
    _need_coq()
    copy = _copy_sources(tmp_path)
    (copy / "Broken.v").write_text("Lemma broken : 1 = 2.\nProof. reflexivity. Qed.\n")
    (copy / "_CoqProject").write_text("-Q . DSProof\nBroken.v\n")
    with pytest.raises(formal.FormalError) as err:
        formal.build(timeout_s=60, formal_dir=copy)
    assert err.value.file == "formal/Broken.v"
    assert "Broken.v" in str(err.value) and "Error" in str(err.value)
