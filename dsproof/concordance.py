"""Which Coq theorems (formal/) establish which statements of the ledger: the concordance, and the machine-checked
evidence rows read from the build's record.

A row's theorem, statement and axioms are read from ``formal/audit.json``, which the build writes
(``python -m dsproof.formal --update``) and which tests/test_formal.py and ``dsproof report`` check against a fresh
build: the ledger never depends on whether the machine that writes it has Coq.  A theorem tagged 'exact' proves the
statement's outcome, so the outcome cites its row and rests on it ('machine-checked'); 'weaker' and 'conditional'
theorems are shown beside the statement, with the gap, and cited by nothing.
"""

from __future__ import annotations

import functools

from .model import check, exact

#: statement id -> [(theorem, tag, the gap between the theorem and the paper's statement)]; theorem names are
#: relative to the DSProof prefix; tag: 'exact' (the theorem is the statement's outcome), 'weaker' (it proves less:
#: a step, or a related identity), 'conditional' (it proves it under hypotheses the statement does not make).  A key
#: 'statement[choice=value]' names the outcome of one setting of an open choice (its cell).
CONCORDANCE: dict[str, list[tuple[str, str, str]]] = {
    "lemma-3.1/factorisation": [
        ("Factorisation.lemma_3_1_factorisation", "exact",
         "any process (any stage mask, shapes depending on the history), any policy, any budget T; with the decision "
         "count corrected to T (T-1 and no STOP when the budget caps), where the paper's index k=0..T counts T+1")],
    "cor-3.1/score-split": [
        ("Factorisation.corollary_3_1_score_split", "exact",
         "partial derivatives along each coordinate of one shared theta; token probabilities positive and "
         "differentiable")],
    "cor-3.1/policy-gradient": [
        ("Surrogate.theorem_3_1_surrogate_gradient", "exact",
         "with the advantage A the reward R: the gradient of J splits into E[R g_S] + E[R g_D]")],
    "cross-terms/norm": [
        ("Factorisation.corollary_3_1_norm_identity", "weaker",
         "proves the decomposition with the cross-term, which the correction uses; that the cross-term is nonzero "
         "is the numeric evidence")],
    "thm-3.1/gamma-1": [
        ("Surrogate.theorem_3_1_surrogate_gradient", "exact",
         "gamma = 1, the trajectory-level unclipped surrogate at theta = theta_old, any advantage function A: the "
         "gradient identity, not the Q form"),
        ("Surrogate.theorem_3_1_baseline_per_stage", "conditional",
         "a constant baseline's contribution vanishes for each stage separately, given per-prefix normalisation "
         "(the autoregressive tree)")],
    "calibration-4.2/limit": [
        ("Calibration.calibration_limit", "exact", "f_T defined as a sum over the process's trajectories; |b| < 1"),
        ("Calibration.calibration_closed_form", "weaker", "the finite-budget closed form, a step to the limit"),
        ("Calibration.calibration_budget_sign", "weaker",
         "the sign condition of the note: f_T < f_oo iff p_dC + p_dW > 1")],
    "thm-3.2/gradient[scaling=fixed-logits]": [
        ("KLLimit.theorem_3_2_kl_ratio_limit", "exact",
         "the toy process at token level, every budget T >= 2, any policy and reference logits with q != q_ref: the "
         "ratio of the KL's derivatives converges to a finite positive limit, so it does not grow like L"),
        ("KLLimit.theorem_3_2_kl_ratio_limit_T2", "weaker", "T = 2: the limit in closed form"),
        ("KLLimit.theorem_3_2_kl_gradient_scaling", "weaker",
         "each derivative of the KL is O(L): the sampling one, and the decision one through the future KL")],
    "thm-3.2/gradient[scaling=fixed-p_s-ref]": [
        ("KLFixedPs.theorem_3_2_kl_ratio_limit_fixed_ps_ref", "exact",
         "every T >= 2, q^L = p_s held and the reference's per-token accuracy held: a finite limit")],
    "thm-3.2/gradient[scaling=fixed-p_s]": [
        ("KLFixedPs.theorem_3_2_kl_ratio_limit_fixed_ps", "exact",
         "every T >= 2, q^L = p_s held and a fixed logit displacement from the reference (outside the stated "
         "setting: per-token KL ~ 1/L): a finite limit, given a nonzero limiting decision gradient")],
}

SHORT_AXIOM = {"Coq.Reals.ClassicalDedekindReals.sig_forall_dec": "sig_forall_dec",
               "Coq.Reals.ClassicalDedekindReals.sig_not_dec": "sig_not_dec",
               "Coq.Logic.FunctionalExtensionality.functional_extensionality_dep": "functional_extensionality_dep",
               "Coq.Logic.Classical_Prop.classic": "classic"}


@functools.lru_cache(maxsize=None)
def record():
    """(theorems of formal/audit.json, the committed statements, the allowed axioms), or None without formal/."""
    from . import formal

    if not (formal.FORMAL_DIR / formal.RECORD_FILE).exists():
        return None
    return formal.load_record(), formal.read_statements(), formal.ALLOWED_AXIOMS


def row_id(theorem: str) -> str:
    return "coq-" + theorem.split(".")[-1].replace("_", "-")


def coq_rows(claim_id: str):
    """(the machine-checked evidence rows of a claim's statements, statement id -> ids of the rows its outcomes
    cite: those tagged 'exact')."""
    rec = record()
    if rec is None:
        return [], {}
    theorems, committed, allowed = rec
    rows, cites, seen = [], {}, set()
    for sid, entries in CONCORDANCE.items():
        if not sid.startswith(claim_id + "/"):
            continue
        for name, tag, gap in entries:
            full = f"DSProof.{name}"
            rid = row_id(name)
            if tag == "exact":
                cites.setdefault(sid, []).append(rid)
            if rid in seen:
                continue
            seen.add(rid)
            t = theorems.get(full)
            axioms = t.axioms if t else ()
            values = {"theorem": exact(full), "file": exact(t.file if t else "missing"),
                      "axioms": exact(", ".join(SHORT_AXIOM.get(a, a) for a in axioms) or "none"),
                      "axioms outside the allowed list": exact(sum(a not in allowed for a in axioms)),
                      "statement as committed in formal/statements.txt": exact(t is not None
                                                                             and committed.get(full) == t.statement)}
            rows.append(check(rid, "coq", f"Coq theorem {name} ({tag}: {gap})", values,
                              ("axioms outside the allowed list", "==", 0),
                              ("statement as committed in formal/statements.txt", "==", True),
                              scope="machine-checked"))
    return rows, {k: tuple(v) for k, v in cites.items()}


def formal_section(entries, rebuilt: str = "") -> dict:
    """The report's machine-checked section: a summary line (which statements are kernel-checked, against which
    axioms, and whether the library was rebuilt here) and one row per theorem of the concordance."""
    rec = record()
    if rec is None:
        return dict(summary="No Coq library (formal/) in this checkout.", theorems=[])
    theorems, _, _ = rec
    by_theorem: dict[str, dict] = {}
    for sid, items in CONCORDANCE.items():
        for name, tag, gap in items:
            full = f"DSProof.{name}"
            t = theorems.get(full)
            row = by_theorem.setdefault(full, dict(name=name, file=t.file if t else "missing", tag=tag, gap=gap,
                                                   statement=t.statement if t else "missing", statements=[],
                                                   axioms=", ".join(SHORT_AXIOM.get(a, a) for a in (t.axioms if t
                                                                                                   else ()))))
            row["statements"].append(sid)
    checked = sorted({sid for sid, items in CONCORDANCE.items() if any(tag == "exact" for _, tag, _ in items)})
    summary = (f"{len(checked)} outcomes rest on a Coq theorem checked by the kernel ("
               + ", ".join(checked) + "); each theorem uses only the standard library's classical-reals axioms. "
               + (rebuilt or "The rows come from formal/audit.json; tests/test_formal.py rebuilds the library and "
                  "compares."))
    return dict(summary=summary, theorems=list(by_theorem.values()))
