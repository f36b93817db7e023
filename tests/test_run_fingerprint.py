"""The committed §4 runs reproduce: the first base-training steps of the cheapest committed runs (cpu and cpu-cot,
seed 0), re-run here, equal the fingerprint their results.json recorded, bit for bit (losses and the weights'
digest).  A code change that alters a run's random draws or arithmetic, or a machine whose CPU kernels round
differently (numerics.reproduce.provenance), fails here instead of silently leaving committed results that the
code no longer gives.  Plus: the run's in-line fingerprint is the one the standalone re-run computes, runs that share
a base phase share its fingerprint, and the mismatch messages."""

from __future__ import annotations

import dataclasses
import json

import pytest

from numerics import reproduce
from numerics.reproduce import provenance, storage

#: the committed runs re-run here: the cheapest configuration of each attempt format (seed 0)
CHEAPEST = ("cpu", "cpu-cot")
#: the preset fields the base phase reads (with the seed): runs equal in these share the base phase and its fingerprint
BASE_FIELDS = ("a", "id_digits", "attempt_format", "hidden", "layers", "heads", "base_steps", "batch", "lr", "seed",
               "device", "matmul_precision")


def _preset(d: dict) -> reproduce.Preset:
    """The Preset a results.json's ``preset`` dict describes."""
    names = {f.name for f in dataclasses.fields(reproduce.Preset)}
    return reproduce.Preset(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in names})


def _committed(folder: str) -> dict:
    path = storage.OUT / folder / "results.json"
    if not path.exists():
        pytest.skip(f"no committed run {folder}")
    return json.loads(path.read_text())


def _where(d: dict, here: dict) -> str:
    keys = ("torch", "transformers", "numpy", "cpu capability", "cpu vendor", "cpu model", "code commit")
    return ("recorded with " + ", ".join(f"{k} {d.get('environment', {}).get(k, '?')}" for k in keys)
            + "; here " + ", ".join(f"{k} {here[k]}" for k in keys))


@pytest.mark.parametrize("folder", CHEAPEST)
def test_committed_run_reproduces_its_fingerprint(folder):
    """Re-run the first FINGERPRINT_STEPS base steps of a committed run: the losses and the weights' digest must
    equal the recorded ones exactly.  If this fails, the committed runs no longer reproduce with this code on this
    machine: find the change (a code change: git log numerics/; the same code with other kernels: compare the
    environments in the message), then fix the code or re-run the committed runs (docs/details.md)."""
    d = _committed(folder)
    assert d.get("fingerprint"), f"{folder}/results.json records no fingerprint (made before runs recorded one)"
    here = provenance.environment(d["preset"]["device"])
    kernels = ("torch", "cpu capability", "cpu vendor", "cpu model")
    other = [k for k in kernels if d["environment"].get(k) != here[k]]
    if other:
        pytest.skip(f"{folder} was recorded on other kernels or another processor ({_where(d, here)}): bit-for-bit "
                    "equality is not expected across CPU kernel paths, so this machine cannot decide whether the code "
                    "still reproduces it")
    got = reproduce.fingerprint(_preset(d["preset"]))
    why = provenance.fingerprint_mismatch(d["fingerprint"], got)
    assert why is None, f"committed run {folder} does not reproduce: {why} ({_where(d, here)})"


def test_committed_runs_record_their_making_and_share_base_fingerprints():
    """Every committed run records its environment and fingerprint, and runs with the same base phase (recipes of one
    proxy and seed) have the same fingerprint: runs made with other code or kernels are not mixed in one pool."""
    runs = sorted(storage.OUT.glob("*/results.json"))
    if not runs:
        pytest.skip("no committed run")
    groups: dict[tuple, dict[str, list[str]]] = {}
    for path in runs:
        d = json.loads(path.read_text())
        assert d.get("environment") and d.get("fingerprint"), f"{path.parent.name}: no environment / fingerprint"
        key = tuple(json.dumps(d["preset"].get(k)) for k in BASE_FIELDS)
        groups.setdefault(key, {}).setdefault(json.dumps(d["fingerprint"], sort_keys=True), []).append(path.parent.name)
    split = [list(g.values()) for g in groups.values() if len(g) > 1]
    assert not split, f"runs sharing a base phase with different fingerprints: {split}"


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
