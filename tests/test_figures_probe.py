"""Every figure of `dsproof probe` (its table and its --json) against an independent computation: each stage's
gradient by autograd through a separate forward (the loss restricted to the stage's tokens, d loss / d logp held
fixed), the full gradient by a plain backward, and the norms, cross-term, cosine, ratio and per-group norms
recomputed from those; the table's text parsed back; the CLI's JSON against the same computation.
Inventory: tests/figure_inventory.py."""

from __future__ import annotations

import json
import math
import re

import pytest
import torch

from dsproof import cli
from numerics import objectives
from numerics.models import build_model, self_correction_batch, with_logps
from numerics.probe import GROUPS, attribute, param_group, token_logprobs
from numerics.tolerances import tolerance

RTOL, ATOL = tolerance(torch.float64)
OBJECTIVE = objectives.surrogate(loss_agg_mode="seq-mean-token-mean")  # per-sequence weights: stages weigh unequally


@pytest.fixture(scope="module")
def probed():
    model = build_model("qwen2")  # untied LM head: all five parameter groups appear
    batch = with_logps(model, self_correction_batch(model.config.vocab_size, attempt=5))
    return model, batch, attribute(model, batch, OBJECTIVE)


def _independent(model, batch):
    """Per stage: autograd of sum_t w_t 1[stage_t] logp_t(theta) through a fresh forward, w = d loss / d logp;
    and the plain backward of the loss."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    w = objectives.token_weights(OBJECTIVE, token_logprobs(model, batch).detach(), batch.token_batch())
    grads = {}
    for name, code in (("sampling", 1), ("decision", 2)):
        restricted = (w * (batch.stage == code) * token_logprobs(model, batch)).sum()
        grads[name] = torch.autograd.grad(restricted, params)
    full = torch.autograd.grad(OBJECTIVE(token_logprobs(model, batch), batch.token_batch()), params)
    return named, grads, full


def _flat(gs):
    return torch.cat([g.reshape(-1) for g in gs])


def test_probe_figures_equal_a_separate_forward(probed):
    """norms (sampling, decision, total), <g_s, g_d>, cosine, ratio and the per-group norms; and the identity
    ||g||^2 = ||g_s||^2 + ||g_d||^2 + 2 <g_s, g_d> with g from a plain backward."""
    model, batch, r = probed
    named, grads, full = _independent(model, batch)
    gs, gd, g = _flat(grads["sampling"]), _flat(grads["decision"]), _flat(full)
    ns, nd, inner = gs.norm().item(), gd.norm().item(), (gs @ gd).item()
    assert g.norm().item() ** 2 == pytest.approx(ns ** 2 + nd ** 2 + 2 * inner, rel=RTOL)
    want = dict(sampling=ns, decision=nd, total=g.norm().item(), ratio=ns / nd, inner=inner,
                cosine=inner / (ns * nd))
    got = dict(r.norms, ratio=r.ratio, inner=r.inner, cosine=r.cosine)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=RTOL, abs=ATOL), k
    assert abs(r.cosine) > 1e-3 and r.ratio != pytest.approx(1, abs=0.05)  # not a point where errors cancel
    per = {}
    for (name, _), a, b in zip(named, grads["sampling"], grads["decision"]):
        acc = per.setdefault(param_group(name), [0.0, 0.0])
        acc[0] += a.pow(2).sum().item()
        acc[1] += b.pow(2).sum().item()
    assert set(r.groups) == set(per) == set(GROUPS)
    for grp, (a2, b2) in per.items():
        assert (r.groups[grp]["sampling"], r.groups[grp]["decision"]) == pytest.approx(
            (math.sqrt(a2), math.sqrt(b2)), rel=RTOL, abs=ATOL), grp


def test_probe_table_prints_the_attribution(probed):
    """The text table, parsed back: per group and overall the two norms and their ratio, the token counts and
    their ratio, the cross-term, cosine and ||g|| (at the printed precision)."""
    _, batch, r = probed
    rows = {line.split()[0]: [float(x) for x in line.split()[1:]] for line in r.table().splitlines()[1:-1]}
    norm, ratio = dict(rel=1e-4), dict(abs=0.0051)  # printed as %.4e and %.2f
    for grp, v in r.groups.items():
        assert rows[grp][:2] == pytest.approx([v["sampling"], v["decision"]], **norm), grp
        assert rows[grp][2] == pytest.approx(v["sampling"] / v["decision"], **ratio), grp
    assert rows["all"][:2] == pytest.approx([r.norms["sampling"], r.norms["decision"]], **norm)
    assert rows["all"][2] == pytest.approx(r.ratio, **ratio)
    n_s, n_d = int((batch.stage == 1).sum()), int((batch.stage == 2).sum())
    assert rows["tokens"] == pytest.approx([n_s, n_d, n_s / n_d], **ratio)
    inner, cosine, total = map(float, re.fullmatch(r"cross-term <g_s, g_d> = (\S+), cosine = (\S+), \|\|g\|\| = (\S+)",
                                                   r.table().splitlines()[-1]).groups())
    assert inner == pytest.approx(r.inner, **norm)
    assert cosine == pytest.approx(r.cosine, abs=5.1e-5)
    assert total == pytest.approx(r.norms["total"], **norm)


def test_probe_json_is_the_attribution_of_the_same_model(capsys):
    """`dsproof probe --json`: each objective's result equals attribute() on the same random init and batch,
    under the right objective's name; `parameters` is the model's parameter count."""
    argv = ["probe", "--arch", "gpt2", "--batch", "2", "--attempt", "3", "--json", "--quiet"]
    assert cli.main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    model = build_model("gpt2")
    batch = with_logps(model, self_correction_batch(model.config.vocab_size, B=2, attempt=3, dtype=torch.float32))
    assert data["parameters"] == sum(p.numel() for p in model.parameters())
    assert [(o["name"], o["options"]) for o in data["objectives"]] == [
        (name, json.loads(json.dumps(objectives.get(name, **opts).options))) for name, opts in cli.PROBE_OBJECTIVES]
    ratios = set()
    for o, (name, opts) in zip(data["objectives"], cli.PROBE_OBJECTIVES):
        r = attribute(model, batch, objectives.get(name, **opts))
        want = dict(norms=r.norms, ratio=r.ratio, inner=r.inner, cosine=r.cosine, groups=r.groups, tokens=r.tokens)
        assert _close(o["result"], want), name
        ratios.add(round(o["result"]["ratio"], 6))
    assert len(ratios) == len(cli.PROBE_OBJECTIVES)  # distinct per objective: a mixed-up order shows


def _close(a, b):
    if isinstance(a, dict):
        return set(a) == set(b) and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=RTOL, abs=ATOL)
    return a == b
