"""A §4 run's fingerprint (numerics.reproduce.provenance): the run's in-line fingerprint is the one the standalone
re-run of its first base steps computes, and the mismatch messages."""

from __future__ import annotations

import dataclasses

from numerics import reproduce
from numerics.reproduce import provenance, storage


def test_the_run_records_the_fingerprint_its_first_steps_give():
    """A run's in-line fingerprint (taken during its base phase) equals reproduce.fingerprint's standalone re-run of
    the first steps, and a run records its environment; on a tiny preset."""
    tiny = dataclasses.replace(reproduce.PRESETS["smoke"], hidden=16, layers=1, heads=2, base_steps=4, sft_steps=2,
                               rl_steps=1, batch=8, rl_prompts=2, group=2, eval_prompts=4, bootstrap=10, seed=3)
    res, _ = reproduce.run(tiny)
    assert res.fingerprint == reproduce.fingerprint(tiny)
    assert res.fingerprint["base steps"] == 4 and res.fingerprint["base losses"] == res.losses["base"]
    assert res.environment["threads"] == 1 and res.environment["torch"]
    other = reproduce.fingerprint(dataclasses.replace(tiny, seed=4))
    assert provenance.fingerprint_mismatch(res.fingerprint, other).startswith("base loss at step 0")
    d = storage.results_dict(res, [], [])
    assert d["fingerprint"] == res.fingerprint and d["environment"] == res.environment


def test_fingerprint_mismatch_says_what_differs():
    fp = provenance.fingerprint_record([2.5, 2.25, 2.0], "abc", 3)
    assert provenance.fingerprint_mismatch(fp, dict(fp)) is None
    assert provenance.fingerprint_mismatch(fp, {**fp, "base losses": [2.5, 2.2500002, 2.0]}) == \
        "base loss at step 1: recorded 2.25, re-run 2.2500002"
    assert "weights after them do not" in provenance.fingerprint_mismatch(fp, {**fp, "base weights": "abd"})
    assert "cover 3 and 2 steps" in provenance.fingerprint_mismatch(fp, provenance.fingerprint_record([2.5, 2.25], "abc", 2))
