"""The probe on a researcher's own rollouts: a local Qwen2 checkpoint and a BPE tokenizer trained on the spot
(numerics.rollout_example, no network), a JSONL file, the whole path through the CLI."""

import json
import os
import re
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from dsproof.cli import ROLLOUT_OBJECTIVES, main
from numerics import objectives
from numerics import rollout_example, rollouts
from numerics.objectives import DECISION, SAMPLING
from numerics.probe import param_group, token_logprobs
from numerics.tolerances import tolerance

#: the decision marker of each example line, marked by hand (line 5 has none)
HAND_MARKED = {1: "Let me recompute", 2: "I'll go back and check", 3: "I made a mistake", 4: "Let me check again",
               6: "Wait, that's wrong", 7: "Let me double-check", 8: "Let me recompute"}


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    paths = rollout_example.build(tmp_path_factory.mktemp("rollouts"))
    model, tok = rollouts.load_checkpoint(paths["sft"])
    items, skipped = rollouts.encode_all(tok, rollouts.read_rollouts(paths["rollouts"]), rollouts.Segmenter(),
                                         rollouts.context_length(model))
    return paths, model, tok, items, skipped


def _objective(key):
    name, opts = ROLLOUT_OBJECTIVES[key]
    return objectives.get(name, **opts)


def _with_ref(items):
    """The rollouts with a fixed ref_logp per response token (for the kl objectives)."""
    out = []
    for e in items:
        f = rollouts.Encoded(**{**e.__dict__})
        f.ref_logp = [-2.0 - 0.1 * (k % 5) for k in range(len(e.offsets))]
        out.append(f)
    return out


# ------------------------------------------------------------------------------------------- segmentation
def test_segmentation_matches_hand_marked_spans(example):
    _, _, tok, items, skipped = example
    assert skipped == {5: "no decision span"}
    assert [e.line for e in items] == sorted(HAND_MARKED)
    for e in items:
        resp = e.stage[e.n_prompt:]
        dec = [k for k, s in enumerate(resp) if s == DECISION]
        assert dec == list(range(dec[0], dec[-1] + 1)), f"line {e.line}: decision tokens not contiguous"
        covered = "".join(e.response[a:b] for a, b in (e.offsets[k] for k in dec))
        assert covered.strip() == HAND_MARKED[e.line], f"line {e.line}: {covered!r}"
        assert all(s == SAMPLING for k, s in enumerate(resp) if k not in dec)
        assert tok.decode(e.ids[e.n_prompt:]) == e.response  # the response tokens are the response, nothing lost
        prompt = rollout_example.PROMPTS[(e.line - 1) // 2]
        assert tok.decode(e.ids[:e.n_prompt]) == f"<|user|> {prompt} <|end|> <|assistant|> "  # the chat template
        assert rollouts.highlight(e).count("[[") == 1


def test_rewards_become_group_normalised_advantages(tmp_path):
    rows = [dict(prompt="p", response="r", reward=x, group=g) for x, g in ((1.0, "a"), (0.0, "a"), (3.0, "b"),
                                                                          (1.0, "b"), (2.0, "b"))]
    rows.append(dict(prompt="p", response="r", reward=0.5))  # no group: the reward as is
    rows.append(dict(prompt="p", response="r", advantage=-0.25, group="a"))  # an advantage is kept as given
    got = [r.advantage for r in rollouts.read_rollouts(rollout_example.write_rollouts(tmp_path / "g.jsonl", rows))]
    sa, sb = 0.5 ** 0.5, 1.0  # sample standard deviations of (1, 0) and (3, 1, 2)
    assert got == pytest.approx([0.5 / (sa + 1e-6), -0.5 / (sa + 1e-6), 1 / (sb + 1e-6), -1 / (sb + 1e-6), 0.0, 0.5,
                                 -0.25], rel=1e-12)


def test_regex_and_tags(example):
    _, _, tok, _, _ = example
    r = rollouts.Rollout(1, "What is 7 times 8?", "7 times 8 is 54 <resample> 7 times 8 is 56 <stop>", 1.0)
    e = rollouts.encode(tok, r, rollouts.Segmenter(markers=(), tags=("<stop>", "<resample>")), None)
    assert rollouts.highlight(e) == "7 times 8 is 54 [[<resample>]] 7 times 8 is 56 [[<stop>]]"
    r = rollouts.Rollout(1, "What is 7 times 8?", "7 times 8 is 54. Let me recompute: 56.", 1.0)
    e = rollouts.encode(tok, r, rollouts.Segmenter(markers=(), regexes=(r"Let me \w+",)), None)
    assert rollouts.highlight(e) == "7 times 8 is 54.[[ Let me recompute]]: 56."
    assert rollouts.Segmenter(markers=("ab", "bc")).spans("xabcx ab") == [(1, 4), (6, 8)]  # overlaps merged
    with pytest.raises(ValueError, match="bad regular expression"):
        rollouts.Segmenter(regexes=("(",))


def test_segment_command(example, capsys):
    paths = example[0]
    assert main(["segment", "--checkpoint", str(paths["sft"]), "--rollouts", str(paths["rollouts"]),
                 "--limit", "2"]) == 0
    out, err = capsys.readouterr()
    assert "12 times 13 is 146.[[ Let me recompute]]." in out and "7 rollouts segmented, 1 skipped" in out
    assert "skipped line 5" in err


def test_segment_with_user_markers_and_regex(example, capsys):
    """--markers replaces the default list; --regex adds patterns: line 5 (no default marker) is kept, line 4
    (neither pattern) is skipped."""
    paths = example[0]
    assert main(["segment", "--checkpoint", str(paths["sft"]), "--rollouts", str(paths["rollouts"]), "--markers",
                 "the answer is", "--regex", r"\b9\d\b", "--limit", "8"]) == 0
    out = capsys.readouterr().out
    assert "25 times 4 is 100.[[ The answer is]] 100." in out  # case-insensitive
    assert "Let me recompute" in out and "[[ Let me recompute]]" not in out  # the defaults are replaced
    assert "25 times 4 is [[90]]. Wait, that's wrong." in out and "7 rollouts segmented, 1 skipped" in out
    assert "line 4:" not in out and "line 5:" in out


# ------------------------------------------------------------------------------------------- bad files
@pytest.mark.parametrize("line, message", [
    ('{"prompt": "a", "reward": 1}', "line 2: missing field 'response'"),
    ('{"response": "a", "reward": 1}', "line 2: missing field 'prompt'"),
    ('{"prompt": "a", "response": "  ", "reward": 1}', "line 2: field 'response' is empty"),
    ('{"prompt": "a", "response": "b"}', "line 2: missing field 'reward' or 'advantage'"),
    ('{"prompt": "a", "response": "b", "reward": "high"}', "line 2: field 'reward' must be a finite number"),
    ('{"prompt": "a", "response": "b", "reward": 1', "line 2: not valid JSON"),
    ('{"prompt": "a", "response": "7 times 8 is 56. Let me recompute.", "reward": 1, "old_logp": [0.1]}',
     "line 2: field 'old_logp' has 1 entries, the response has"),
    ('{"prompt": "a", "response": "' + "Let me recompute. " * 40 + '", "reward": 1}',
     "line 2: prompt \\+ response is .* tokens, longer than the model's context \\(128\\)"),
], ids=["no-response", "no-prompt", "empty", "no-reward", "bad-reward", "bad-json", "logp-length", "too-long"])
def test_bad_files_name_line_and_field(example, tmp_path, capsys, line, message):
    paths = example[0]
    good = json.dumps(rollout_example.rollout_rows()[0])
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good + "\n" + line + "\n")
    assert main(["probe", "--checkpoint", str(paths["sft"]), "--rollouts", str(bad), "--quiet"]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("dsproof")]  # not the loading bar
    assert len(err) == 1 and err[0].startswith(f"dsproof probe: {bad}: line 2: ")
    assert re.search(message, err[0]), err


def test_cli_argument_errors(example, tmp_path, capsys):
    paths = example[0]
    assert main(["probe", "--rollouts", str(paths["rollouts"])]) == 2
    assert "--rollouts needs --checkpoint" in capsys.readouterr().err
    assert main(["probe", "--compare", str(paths["rl"])]) == 2
    assert "--compare needs --rollouts" in capsys.readouterr().err
    none = rollout_example.write_rollouts(tmp_path / "none.jsonl", [rollout_example.rollout_rows()[4]])
    assert main(["probe", "--checkpoint", str(paths["sft"]), "--rollouts", str(none), "--quiet"]) == 2
    assert "every rollout was skipped" in capsys.readouterr().err
    assert main(["probe", "--checkpoint", str(paths["sft"]), "--rollouts", str(paths["rollouts"]), "--objective",
                 "kl-k3", "--quiet"]) == 2
    assert "need ref_logp" in capsys.readouterr().err


def test_compare_refuses_a_checkpoint_with_another_tokenizer(example, tmp_path, capsys):
    paths = example[0]
    other = rollout_example.save_checkpoint(tmp_path / "other", rollout_example.train_tokenizer(["a b c d"] * 3))
    assert main(["probe", "--checkpoint", str(paths["sft"]), "--rollouts", str(paths["rollouts"]), "--compare",
                 str(other), "--quiet"]) == 2
    assert "its tokenizer differs" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- the figures
def _independent(model, items, objective, pad_id):
    """Stage gradients by a separate backward per stage on the whole file in one batch, through the full logits
    (token_logprobs), and the full gradient by a plain backward of the objective."""
    batch = rollouts.collate(items, pad_id)
    with torch.no_grad():
        batch.old_logp = token_logprobs(model, batch)
    params = [p for p in model.parameters() if p.requires_grad]
    tb = batch.token_batch()
    logp = token_logprobs(model, batch)
    w, = torch.autograd.grad(objective(logp, tb), logp, retain_graph=True)
    out = {}
    for name, code in (("sampling", SAMPLING), ("decision", DECISION)):
        model.zero_grad(set_to_none=True)
        (w.detach() * (batch.stage == code) * logp).sum().backward(retain_graph=True)
        out[name] = [p.grad.clone() for p in params]
    model.zero_grad(set_to_none=True)
    objective(token_logprobs(model, batch), tb).backward()
    out["full"] = [p.grad.clone() for p in params]
    model.zero_grad(set_to_none=True)
    return out


def _flat(gs):
    return torch.cat([g.reshape(-1) for g in gs])


def _ratio(model, items, objective, pad_id):
    ind = _independent(model, items, objective, pad_id)
    return float(_flat(ind["sampling"]).norm() / _flat(ind["decision"]).norm())


@pytest.mark.parametrize("key", ["surrogate", "surrogate-seq", "kl-k3"])  # both normalisers, ref_logp collated
def test_figures_equal_an_independent_per_stage_backward(example, key):
    """Every figure of the table: per-group and total stage norms, ||g||, <g_s, g_d>, cosine, ratio and tokens,
    from micro-batches of 3 against one per-stage backward on the whole file, and ||g|| from a plain backward."""
    _, model, tok, items, _ = example
    items = _with_ref(items)
    obj = _objective(key)
    r = rollouts.probe_rollouts(model, items, obj, micro_batch=3, pad_id=tok.pad_token_id, keep_grads=True)
    ind = _independent(model, items, obj, tok.pad_token_id)
    rtol, atol = tolerance(torch.float64)
    gs, gd, g = _flat(ind["sampling"]), _flat(ind["decision"]), _flat(ind["full"])
    torch.testing.assert_close(_flat(r.grads["sampling"]), gs, rtol=rtol, atol=atol)
    torch.testing.assert_close(_flat(r.grads["decision"]), gd, rtol=rtol, atol=atol)
    torch.testing.assert_close(gs + gd, g, rtol=rtol, atol=atol)
    close = lambda a, b: a == pytest.approx(float(b), rel=1e-9, abs=1e-14)  # noqa: E731
    assert close(r.norms["sampling"], gs.norm()) and close(r.norms["decision"], gd.norm())
    assert close(r.norms["total"], g.norm())  # = sqrt(|g_s|^2 + |g_d|^2 + 2 <g_s, g_d>)
    assert close(r.inner, gs @ gd) and close(r.cosine, (gs @ gd) / (gs.norm() * gd.norm()))
    assert close(r.ratio, gs.norm() / gd.norm())
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    for grp, v in r.groups.items():
        for stage in ("sampling", "decision"):
            ref = sum(float(x.pow(2).sum()) for n, x in zip(names, ind[stage]) if param_group(n) == grp) ** 0.5
            assert close(v[stage], ref), (grp, stage)
    stages = torch.tensor([s for e in items for s in e.stage])
    assert r.tokens == {"sampling": int((stages == SAMPLING).sum()), "decision": int((stages == DECISION).sum())}


def test_compare_difference_and_bootstrap_ci(example, capsys):
    """--compare: each checkpoint's ratio, their difference, and the CI: each bootstrap replicate recomputed as
    the ratio difference on the resampled file (rollouts repeated by their counts) with separate per-stage
    backwards, the interval the percentiles of those independent replicates."""
    paths, model, tok, items, _ = example
    other, _ = rollouts.load_checkpoint(paths["rl"])
    n_boot = 5
    assert main(["probe", "--checkpoint", str(paths["sft"]), "--rollouts", str(paths["rollouts"]), "--compare",
                 str(paths["rl"]), "--objective", "surrogate", "--bootstrap", str(n_boot), "--micro-batch", "4",
                 "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["checkpoint"], out["compare"], out["rollouts"]) == (str(paths["sft"]), str(paths["rl"]),
                                                                    str(paths["rollouts"]))
    assert (out["dtype"], out["micro_batch"], out["probed"], list(out["skipped"])) == ("fp64", 4, 7, ["5"])
    for row in out["objectives"]:
        obj = _objective(row["key"])
        assert (row["name"], row["options"]) == (obj.name, json.loads(json.dumps(obj.options)))
        assert (row["bootstrap"], row["ci_level"]) == (n_boot, 0.95)
        for side, m in (("result", model), ("compare", other)):  # each side is the probe of that checkpoint, whose
            # figures test_figures_equal_an_independent_per_stage_backward checks against a per-stage backward
            assert row[side] == rollouts.probe_rollouts(m, items, obj, 4, tok.pad_token_id).to_dict()
        ra, rb = _ratio(model, items, obj, tok.pad_token_id), _ratio(other, items, obj, tok.pad_token_id)
        assert row["result"]["ratio"] == pytest.approx(ra, rel=1e-9)
        assert row["compare"]["ratio"] == pytest.approx(rb, rel=1e-9)
        assert row["difference"] == pytest.approx(rb - ra, rel=1e-8)
        grams = [rollouts.rollout_grams(m, items, obj, tok.pad_token_id) for m in (model, other)]
        boot = rollouts.bootstrap_difference(*grams, n_boot=n_boot, seed=0, unit=rollouts.clusters(items))
        assert row["ci"] == pytest.approx(list(boot["ci"]), rel=1e-12)
        # the resampling unit is the GRPO group: 4 groups of two lines, line 5 skipped (its partner, line 6, alone)
        assert row["bootstrap_clusters"] == boot["clusters"] == 4 and row["bootstrap_rollouts"] == len(items) == 7
        for counts in boot["counts"]:  # a drawn group counts for both its rollouts; 4 groups drawn per replicate
            by_group = {}
            for e, c in zip(items, counts.tolist()):
                by_group.setdefault(e.group, set()).add(c)
            assert all(len(cs) == 1 for cs in by_group.values()), by_group
            assert sum(cs.pop() for cs in by_group.values()) == 4
        reps = []
        for counts in boot["counts"]:
            resampled = [e for e, c in zip(items, counts.long().tolist()) for _ in range(c)]
            if not any(e.advantage for e in resampled):
                reps.append(float("nan"))  # every advantage 0: no gradient, the ratio is undefined
                continue
            reps.append(_ratio(other, resampled, obj, tok.pad_token_id) - _ratio(model, resampled, obj,
                                                                                   tok.pad_token_id))
        reps = torch.tensor(reps, dtype=torch.float64)
        torch.testing.assert_close(boot["replicates"], reps, rtol=1e-8, atol=1e-12, equal_nan=True)
        lo, hi = torch.nanquantile(reps, torch.tensor([0.025, 0.975], dtype=torch.float64)).tolist()
        assert row["ci"] == pytest.approx([lo, hi], rel=1e-8)
        assert row["bootstrap_undefined"] == int(torch.isnan(reps).sum())


def test_bootstrap_subsample_takes_whole_groups_at_random(example):
    """--bootstrap-rollouts N: at most N rollouts, whole GRPO groups, chosen by the seed, kept in file order; a limit
    below one group's size still takes one group."""
    items = example[3]
    assert rollouts.clusters(items) == [0, 0, 1, 1, 2, 3, 3]  # groups by line: {1, 2}, {3, 4}, {6}, {7, 8}
    picks = set()
    for seed in range(12):
        sub = rollouts.bootstrap_subsample(items, 3, seed)
        lines = [e.line for e in sub]
        assert 1 <= len(sub) <= 3 and lines == sorted(lines)
        groups = {e.group for e in sub}
        assert all(sum(e.group == g for e in sub) == sum(e.group == g for e in items) for g in groups)
        picks.add(tuple(lines))
    assert len(picks) > 1, "the subsample does not depend on the seed"
    assert [e.line for e in rollouts.bootstrap_subsample(items, 100)] == [e.line for e in items]
    assert len(rollouts.bootstrap_subsample(items, 1, 0)) in (1, 2)
    with pytest.raises(ValueError, match="unit"):
        grams = rollouts.RolloutGrams(*(torch.eye(3, dtype=torch.float64),) * 3, None)
        rollouts.bootstrap_difference(grams, grams, 4, unit=[0, 1])


def test_probe_table_through_the_cli(example, capsys):
    paths = example[0]
    assert main(["probe", "--checkpoint", str(paths["sft"]), "--rollouts", str(paths["rollouts"]), "--compare",
                 str(paths["rl"]), "--objective", "sft", "--bootstrap", "20", "--bootstrap-rollouts", "2",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "7 rollouts probed, 1 skipped" in out and "== sft" in out and "|g_sampling|" in out
    assert "difference" in out and "95% bootstrap CI over 2 rollouts in 1 resampled units" in out
    # the printed figures are the probe's (checked against a per-stage backward elsewhere) to their printed digits
    model, tok, items = example[1], example[2], example[3]
    other, _ = rollouts.load_checkpoint(paths["rl"])
    obj = _objective("sft")
    a, b = (rollouts.probe_rollouts(m, items, obj, 8, tok.pad_token_id) for m in (model, other))
    assert a.table() in out
    line = re.search(r"ratio \|g_s\|/\|g_d\|: \S+ (\S+), \S+ (\S+), difference (\S+) \(95% bootstrap CI over "
                     r"(\d+) rollouts in (\d+) resampled units .*\[(\S+), (\S+)\], (\d+) resamples", out)
    assert [float(x) for x in line.groups()[:3]] == pytest.approx([a.ratio, b.ratio, b.ratio - a.ratio], abs=5e-5)
    sub = rollouts.bootstrap_subsample(items, 2, 0)
    grams = [rollouts.rollout_grams(m, sub, obj, tok.pad_token_id) for m in (model, other)]
    boot = rollouts.bootstrap_difference(*grams, n_boot=20, seed=0, unit=rollouts.clusters(sub))
    assert [int(line[4]), int(line[5]), int(line[8])] == [len(sub), boot["clusters"], 20]
    assert [float(line[6]), float(line[7])] == pytest.approx(list(boot["ci"]), abs=5e-5)


# ------------------------------------------------------------------------------------------- DDP
def _ddp_worker(rank, world, port, folder, out):
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        model, tok = rollouts.load_checkpoint(os.path.join(folder, "sft"))
        items, _ = rollouts.encode_all(tok, rollouts.read_rollouts(os.path.join(folder, "rollouts.jsonl")),
                                       rollouts.Segmenter(), None)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        r = rollouts.probe_rollouts(ddp, items, _objective("surrogate"), micro_batch=2, pad_id=tok.pad_token_id,
                                    keep_grads=True)
        if rank == 0:
            torch.save({**{k: _flat(v) for k, v in r.grads.items()}, "tokens": r.tokens}, out)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_ddp_two_processes_shard_the_file(example, tmp_path):
    """Each rank probes every other rollout; the summed, share-weighted stage gradients equal one process's."""
    paths, model, tok, items, _ = example
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "ddp.pt"
    mp.spawn(_ddp_worker, args=(2, port, str(paths["sft"].parent), str(out)), nprocs=2, join=True)
    got = torch.load(out)
    r = rollouts.probe_rollouts(model, items, _objective("surrogate"), micro_batch=2, pad_id=tok.pad_token_id,
                                keep_grads=True)
    rtol, atol = tolerance(torch.float64)
    for k in ("sampling", "decision"):
        torch.testing.assert_close(got[k], _flat(r.grads[k]), rtol=rtol, atol=atol)
    assert got["tokens"] == r.tokens


# ------------------------------------------------------------------------------------------- GPU
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_rollouts_probe_on_cuda_in_fp32_and_bf16(example, dtype):
    """`probe --rollouts --device cuda --dtype fp32|bf16`: the example checkpoint loaded on the GPU in that dtype
    gives the stage norms and the ratio of the float64 CPU probe, within the dtype's tolerance (numerics.tolerances),
    with float32 stage accumulators under bf16."""
    paths, model, tok, items, _ = example
    obj = _objective("surrogate")
    exact = rollouts.probe_rollouts(model, items, obj, 4, tok.pad_token_id)
    gpu_model, _ = rollouts.load_checkpoint(paths["sft"], dtype, "cuda")
    r = rollouts.probe_rollouts(gpu_model, items, obj, 4, tok.pad_token_id)
    rtol, atol = tolerance(dtype)
    for k in ("sampling", "decision", "total"):
        assert r.norms[k] == pytest.approx(exact.norms[k], rel=rtol, abs=atol), k
    assert r.ratio == pytest.approx(exact.ratio, rel=2 * rtol)
