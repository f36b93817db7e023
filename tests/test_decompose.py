"""`dsproof decompose`: §4's analysis on anyone's generations (numerics.generations, dsproof.decompose).

The truth these tests compare with is computed here, independently of the code under test: the two-stage process
enumerated path by path (``_exact``), hand-counted episode rows, the proxy pipeline's own results."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsproof import decompose as D
from dsproof import pooling
from dsproof.claims.empirical import PROXY_NOTE, sec4_statements, summary_values
from dsproof.cli import main
from numerics import generations as G
from numerics import multiply
from numerics.reproduce import PRESETS, bootstrap, bootstrap_ci, episode_stats, metrics
from tests.strategies import marked_text, two_stage_rates, written_episode

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "reports" / "decompose" / "cpu"


# ----------------------------------------------------------------------------------------------------- helpers
def _exact(p_s: float, p_dC, p_dW, T: int) -> dict:
    """Expectations of the two-stage process with budget T, by enumerating every path (decision rates constant or
    one per attempt index): accuracy, mean attempts, P(capped), and the visit-weighted decision rates (expected
    STOPs after correct / expected decisions after correct; the same for RESAMPLE after wrong)."""
    rate = lambda r, k: r[min(k, len(r) - 1)] if isinstance(r, (tuple, list)) else r  # noqa: E731
    out = dict(accuracy=0.0, attempts=0.0, capped=0.0, visits_C=0.0, stops_C=0.0, visits_W=0.0, resamples_W=0.0)

    def walk(k: int, reach: float):
        for ok, q in ((True, p_s), (False, 1 - p_s)):
            pr = reach * q
            if k + 1 == T:
                out["accuracy"] += pr * ok
                out["attempts"] += pr * (k + 1)
                out["capped"] += pr
                continue
            d = rate(p_dC, k) if ok else rate(p_dW, k)
            stop = d if ok else 1 - d
            out["visits_C" if ok else "visits_W"] += pr
            out["stops_C" if ok else "resamples_W"] += pr * d
            out["accuracy"] += pr * stop * ok
            out["attempts"] += pr * stop * (k + 1)
            walk(k + 1, pr * (1 - stop))

    walk(0, 1.0)
    out["p_dC"] = out["stops_C"] / out["visits_C"] if out["visits_C"] else math.nan
    out["p_dW"] = out["resamples_W"] / out["visits_W"] if out["visits_W"] else math.nan
    return out


def _same(a, b) -> bool:
    """Equal, nan equal to nan (compared as JSON text: every float to its last digit)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _figures(values: dict) -> dict:
    return {k: v.to_json() for k, v in values.items()}


def _write(lines, path: Path) -> str:
    path.write_text("".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines))
    return str(path)


def _read(lines, tmp_path, **opts) -> G.FileGenerations:
    return G.read_generations(_write(lines, tmp_path / "g.jsonl"), G.Options(**opts))


def _run(tmp_path, rates_by_role: dict, T: int, prompts: int, seed: int = 0, **sim) -> D.RunSpec:
    """A run folder simulated from the two-stage process, one file per role."""
    folder = tmp_path / f"run{seed}"
    folder.mkdir(exist_ok=True)
    for i, (role, rates) in enumerate(rates_by_role.items()):
        G.write_jsonl(G.simulate(np.random.default_rng([seed, i]), rates, prompts, T, **sim), folder / f"{role}.jsonl")
    return D.run_specs([str(folder)])[0]


# ------------------------------------------------------------------------------- estimates against the truth
RATES = {2: (0.85, 0.95, 0.2), 4: (0.45, 0.8, 0.6), 6: (0.08, 0.6, 0.45)}


def test_estimates_cover_the_truth_of_the_two_stage_process(tmp_path):
    """1,500 prompts a bucket simulated with chosen (p_s, p_dC, p_dW), budget T = 3: every estimate's CI covers
    the enumerated truth (accuracy, p_s, p_dC, p_dW, the §4.2 predictions at the true rates); the CIs are at the
    Bonferroni level over the checks, so the test has a 5% chance of a false alarm on a fresh seed.  Mean attempts
    and the capped share (no CI) are within 4 standard errors."""
    from theory.calibration import predicted_accuracy_numeric

    T, n = 3, 1500
    path = _write(G.simulate(np.random.default_rng(0), RATES, n, T), tmp_path / "g.jsonl")
    gens = G.read_generations(path, G.Options(budget=T))
    checks = ("accuracy", "p_s", "p_dC", "p_dW", "predicted_T", "predicted_inf")
    level = 1 - 0.05 / (len(checks) * len(RATES))
    for b, (ps, dc, dw) in RATES.items():
        st_ = gens.buckets[b].stats
        assert len(st_) == n and gens.excluded == {}
        m, ci = metrics(st_, T), bootstrap_ci(st_, T, 2000, seed=b, level=level)
        ex = _exact(ps, dc, dw, T)
        truth = dict(accuracy=ex["accuracy"], p_s=ps, p_dC=dc, p_dW=dw,
                     predicted_T=float(predicted_accuracy_numeric(T)(ps, dc, dw)),
                     predicted_inf=float(predicted_accuracy_numeric(None)(ps, dc, dw)))
        assert truth["predicted_T"] == pytest.approx(ex["accuracy"], abs=1e-12)  # the formula is exact here
        for k in checks:
            assert ci[k][0] <= truth[k] <= ci[k][1], (b, k, truth[k], m[k], ci[k])
        attempts = 1 + st_[:, 6]
        capped = (st_[:, 2] + st_[:, 4]) < attempts
        assert abs(attempts.mean() - ex["attempts"]) < 4 * attempts.std() / math.sqrt(n), b
        assert abs(capped.mean() - ex["capped"]) < 4 * math.sqrt(ex["capped"] * (1 - ex["capped"]) / n) + 1e-9, b


def test_decisions_that_depend_on_the_attempt_index_are_visit_weighted(tmp_path):
    """Lemma 3.2's case: p_dW = 0.9 at the first decision and 0.15 at the second (T = 3).  The measured p_dW is the
    visit-weighted rate of the enumeration (its CI covers it), not the first decision's; fed to the §4.2 budget
    formula it predicts the accuracy far better than the first decision's rate does, and the observed accuracy's CI
    covers the true one."""
    from theory.calibration import predicted_accuracy_numeric

    T, ps, dc, dw = 3, 0.3, (0.95, 0.7), (0.9, 0.15)
    ex = _exact(ps, dc, dw, T)
    f = predicted_accuracy_numeric(T)
    assert abs(ex["p_dW"] - dw[0]) > 0.15 and abs(ex["p_dC"] - dc[0]) > 0.01  # the two readings differ
    gens = _read(G.simulate(np.random.default_rng(1), {5: (ps, dc, dw)}, 4000, T), tmp_path, budget=T)
    st_ = gens.buckets[5].stats
    m, ci = metrics(st_, T), bootstrap_ci(st_, T, 1000, seed=0, level=1 - 0.05 / 3)
    for k, truth in (("p_dW", ex["p_dW"]), ("p_dC", ex["p_dC"]), ("accuracy", ex["accuracy"])):
        assert ci[k][0] <= truth <= ci[k][1], (k, truth, m[k], ci[k])
    visit = abs(float(f(ps, ex["p_dC"], ex["p_dW"])) - ex["accuracy"])
    first = abs(float(f(ps, dc[0], dw[0])) - ex["accuracy"])
    assert visit < 0.02 < first, (visit, first)
    assert abs(m["predicted_T"] - m["accuracy"]) < 0.03


def test_cluster_bootstrap_covers_where_the_row_bootstrap_does_not(tmp_path):
    """Several generations per prompt, whose accuracy varies from prompt to prompt (Beta, sd 0.3): over 120 simulated
    files the 95% interval of p_s that resamples prompts with all their generations covers the true mean in about
    95% of files; resampling single generations (as if they were independent) covers it far less often.  With
    one generation per prompt the cluster path gives exactly the row path's interval."""
    from numerics.reproduce.bootstrap import bootstrap_ci as ci_of

    rng = np.random.default_rng(3)
    covered = {"cluster": 0, "rows": 0}
    files = 120
    for i in range(files):
        lines = list(G.simulate(rng, {1: (0.5, 0.9, 0.5)}, 60, 2, per_prompt=6, spread=0.3))
        bk = _read(lines, tmp_path, budget=2).buckets[1]
        for how, cl in (("cluster", bk.prompt_of), ("rows", None)):
            lo, hi = ci_of(bk.stats, 2, 300, seed=i, clusters=cl)["p_s"]
            covered[how] += lo <= 0.5 <= hi
    assert covered["cluster"] / files >= 0.88, covered
    assert covered["rows"] / files <= covered["cluster"] / files - 0.15, covered
    st_ = bk.stats[:60]
    assert json.dumps(ci_of(st_, 2, 300, seed=1, clusters=np.arange(60))) == json.dumps(ci_of(st_, 2, 300, seed=1))


def test_bootstrap_chunks_and_clusters_against_direct_resampling(monkeypatch):
    """The chunked bootstrap draws the same replicates as one (reps, N) draw (results equal to the last bit), and a
    cluster replicate is, by hand, the rows of K prompts drawn with replacement."""
    rng = np.random.default_rng(0)
    st_ = (rng.random((37, 10)) < 0.5).astype(float)
    full = bootstrap_ci(st_, 3, 200, seed=5)
    monkeypatch.setattr(bootstrap, "CHUNK_CELLS", 7 * 37 * 10)  # 7 replicates a chunk
    assert json.dumps(bootstrap_ci(st_, 3, 200, seed=5)) == json.dumps(full)
    order = np.random.default_rng(2).permutation(37)  # rows of a prompt scattered through the file
    for sizes in ([1, 5, 2, 3, 1, 4, 2, 6, 3, 2, 5, 3], [3] * 12):  # unequal, and equal (one gather a chunk)
        n = sum(sizes)
        clusters = np.repeat(np.arange(12), sizes)[order[order < n]]
        st2 = st_[:n]
        got = bootstrap.paired_replicates(st2, st2[:, ::-1].copy(), 3, 50, seed=9, clusters=(clusters, clusters))
        draws = np.random.default_rng(9).integers(0, 12, size=(50, 12))
        for which, stats in zip(got, (st2, st2[:, ::-1])):
            want = np.stack([metrics_array(np.concatenate([stats[clusters == c] for c in d]), 3) for d in draws])
            np.testing.assert_array_equal(which, want)


def metrics_array(stats, T):
    from numerics.reproduce.metrics import metric_array

    return metric_array(stats, T)


# --------------------------------------------------------------------------------- segmentation and grading
@settings(max_examples=40)
@given(data=st.data())
def test_written_responses_read_back_as_the_episodes_they_encode(data, tmp_path_factory):
    """Responses written with reasoning, answers in several notations and the paper's markers in various
    wordings, ending by themselves, with a <stop> tag, truncated or at the budget: read back, each is exactly its
    episode (attempts' grades and decisions), and its row is the proxy's episode_stats row."""
    T = data.draw(st.integers(1, 4), label="budget T")
    eps = data.draw(st.lists(written_episode(T), min_size=1, max_size=8), label="responses")
    lines = [dict(line, prompt_id=i, bucket=7) for i, (line, _, _) in enumerate(eps)]
    gens = _read(lines, tmp_path_factory.mktemp("w"), budget=T)
    assert gens.excluded == {} and gens.episodes == len(eps)
    code = {"STOP": multiply.STOP, "RESAMPLE": multiply.RESAMPLE}
    want = episode_stats(dataclasses.make_dataclass("E", ["correct", "decisions"])(
        [c for _, c, _ in eps], [[code[d] for d in ds] for _, _, ds in eps]))
    np.testing.assert_array_equal(gens.buckets[7].stats, want)


@settings(max_examples=200)
@given(text=marked_text(), regex=st.sampled_from(((), (r"Wait[,!]",), (r"\bre-?check\b", "(?i)again"))))
def test_decision_spans_are_the_segmenters(text, regex):
    """The reader's spans (str.find on ASCII text) are exactly `dsproof segment`'s (numerics.rollouts.Segmenter)
    for the default markers, tags and regexes, in any case, on ASCII and non-ASCII text."""
    from numerics.rollouts import DEFAULT_MARKERS, Segmenter

    tags = ("<stop>", "[STOP]", "<resample>")
    assert G.Spans(DEFAULT_MARKERS, regex, tags).spans(text) == Segmenter(DEFAULT_MARKERS, regex, tags).spans(text)


@settings(max_examples=15)
@given(rates=two_stage_rates(), per_prompt=st.integers(1, 3), T=st.integers(2, 4))
def test_a_file_read_twice_and_two_ways_gives_the_same_rows(rates, per_prompt, T, tmp_path_factory):
    """A simulated file plain and gzipped, and graded by the answer regex or by attempts_correct fields: the same
    rows; every prompt keeps its generations together (prompt_of), and nothing is excluded."""
    tmp = tmp_path_factory.mktemp("g")
    lines = list(G.simulate(np.random.default_rng(0), rates, 20, T, per_prompt=per_prompt))
    plain = G.read_generations(_write(lines, tmp / "a.jsonl"), G.Options(budget=T))
    G.write_jsonl(lines, tmp / "a.jsonl.gz")
    zipped = G.read_generations(tmp / "a.jsonl.gz", G.Options(budget=T))
    opts = G.Options(budget=T)
    graded = []
    for ln in lines:
        parsed = G.parse_response(ln["response"], opts)
        graded.append({k: v for k, v in ln.items() if k != "answer"} | {"attempts_correct": [
            G.same_answer(G.extract_answer(ln["response"][a:b], opts), (ln["answer"],)) for a, b in parsed.attempts]})
    by_field = _read(graded, tmp, budget=T)
    for b in rates:
        for other in (zipped, by_field):
            np.testing.assert_array_equal(plain.buckets[b].stats, other.buckets[b].stats)
        assert np.bincount(plain.buckets[b].prompt_of).tolist() == [per_prompt] * 20
    assert plain.excluded == {} and by_field.graded_by == {"attempts_correct"}


def test_budget_capped_and_truncated_episodes_by_hand(tmp_path):
    """Budget T = 2, rows counted by hand: an attempt that ends the response STOPs; the T-th attempt has no
    decision (capped), even after an explicit <stop>; a truncated response's last attempt has no decision
    either.  Without a budget T is the most attempts of any response and only truncated responses are capped."""
    lines = [{"prompt_id": "a", "bucket": 1, "response": "12", "answer": "12"},  # C, STOP
             {"prompt_id": "b", "bucket": 1, "response": "11 Let me recompute. 12", "answer": "12"},  # W R C (capped)
             {"prompt_id": "c", "bucket": 1, "response": "11 Let me recompute. 12 <stop>", "answer": "12"},  # same
             {"prompt_id": "d", "bucket": 1, "response": "11", "answer": "12", "finish_reason": "length"},  # W, cut
             {"prompt_id": "e", "bucket": 1, "response": "11", "answer": "12", "truncated": False}]  # W, STOP
    gens = _read(lines, tmp_path, budget=2)
    #                       first final dC  S|C dW  R|W later later-C fresh
    want = np.array([[1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
                     [0, 1, 0, 0, 1, 1, 1, 1, 0, 0],
                     [0, 1, 0, 0, 1, 1, 1, 1, 0, 0],
                     [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                     [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]], dtype=float)
    np.testing.assert_array_equal(gens.buckets[1].stats, want)
    assert gens.capped == 3 and gens.truncated == 1
    m = metrics(want, 2)
    assert m["p_dC"] == 1.0 and m["p_dW"] == 2 / 3 and m["accuracy"] == 3 / 5
    free = _read(lines, tmp_path)  # no budget: b and c end by themselves (STOP after their correct retry)
    assert free.capped == 1 and free.buckets[1].stats[1, 2:4].tolist() == [1, 1]
    spec = D.run_specs([_write(lines, tmp_path / "g.jsonl")])
    dec = D.decompose(spec, G.Options(budget=2), reps=50)
    assert dec.runs[0].counts["model"]["1"]["capped_share"] == pytest.approx(3 / 5)
    assert dec.runs[0].counts["model"]["1"]["mean_attempts"] == pytest.approx(7 / 5)


def test_no_markers_reads_one_attempt_and_says_so(tmp_path, capsys):
    """A file in which no response has a decision marker: each response is one attempt and a STOP (so p_dW is 0
    by construction), and the output says that no decision span was found; with markers the model does use the
    same responses read as several attempts."""
    lines = [{"prompt_id": i, "bucket": 1, "response": f"{i} ... Actually, redo: {i + (i % 2)}", "answer": str(i)}
             for i in range(10)]
    path = _write(lines, tmp_path / "g.jsonl")
    assert main(["decompose", path, "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    assert "no decision span in any response" in out and "T = 1" in out
    gens = G.read_generations(path)
    assert gens.decisions_found == 0 and gens.no_decision == 10 and metrics(gens.buckets[1].stats, 1)["p_dW"] == 0
    mine = G.read_generations(path, G.Options(markers=("Actually, redo:",)))
    assert mine.max_attempts == 2 and mine.decisions_found == 10
    with pytest.raises(ValueError, match="nothing can mark a decision"):
        G.Segmenter((), (), ())


# ---------------------------------------------------------------------------------- errors and exclusions
GOOD = {"prompt_id": "p", "bucket": 3, "response": "7", "answer": "7"}
MALFORMED = [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "response"}), "missing field 'response'"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "answer"}), "missing field 'answer' or attempts_correct"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "prompt_id"}), "missing field 'prompt_id'"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "bucket"}), "missing field 'bucket'"),
    (json.dumps(GOOD | {"response": 7}), "field 'response' must be a string"),
    (json.dumps(GOOD | {"bucket": None}), "field 'bucket' must be a number or a label"),
    (json.dumps(GOOD | {"bucket": True}), "field 'bucket' must be a number or a label"),
    (json.dumps(GOOD | {"prompt_id": [1]}), "field 'prompt_id' must be a string or an integer"),
    (json.dumps(GOOD | {"answer": {"x": 1}}), "field 'answer' must be a string, a number or a list"),
    (json.dumps(GOOD | {"attempts_correct": "yes"}), "field 'attempts_correct' must be a list of booleans"),
    (json.dumps(GOOD | {"fresh_correct": [1, 2]}), "field 'fresh_correct' must be a list of booleans"),
    (json.dumps(GOOD | {"truncated": "no"}), "field 'truncated' must be true or false"),
    (json.dumps(GOOD | {"finish_reason": 3}), "field 'finish_reason' must be a string"),
    (json.dumps(GOOD | {"bucket": 4}), "field 'bucket': prompt 'p' is in bucket 4 here and in bucket 3 on line 1"),
]


@pytest.mark.parametrize("bad, message", MALFORMED, ids=[m for _, m in MALFORMED])
def test_a_malformed_line_is_an_error_naming_the_line_and_the_field(tmp_path, capsys, bad, message):
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n" + bad + "\n")
    with pytest.raises(G.GenerationsError) as err:
        G.read_generations(path)
    assert f"{path}: line 3: " in str(err.value) and message in str(err.value), str(err.value)
    assert main(["decompose", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "line 3" in captured.err, captured.err


def test_field_mapping_reads_a_verl_style_dump(tmp_path):
    """--field maps each field to the file's own keys (dotted for nested ones), e.g. a verl validation dump."""
    lines = [{"input": f"q{i}", "output": f"{i} Let me recompute. {i + 1}", "gts": str(i + 1), "step": 3,
              "extra": {"level": "hard" if i % 2 else 1}} for i in range(6)]
    keys = (("prompt_id", "input"), ("response", "output"), ("answer", "gts"), ("bucket", "extra.level"))
    gens = _read(lines, tmp_path, keys=keys)
    assert set(gens.buckets) == {1, "hard"} and gens.episodes == 6 and gens.max_attempts == 2
    assert metrics(gens.buckets[1].stats, 2)["accuracy"] == 1.0
    with pytest.raises(G.GenerationsError, match=r"missing field 'response' .*'input', 'output'.*--field response=KEY"):
        _read(lines, tmp_path, keys=(("prompt_id", "input"), ("bucket", "step")))


EXCLUDED = [("", G.NO_ATTEMPT), ("  ... !", G.NO_ATTEMPT), ("Let me recompute. 7", G.DECISION_FIRST),
            ("6 Let me recompute.", G.RESAMPLE_AT_END), ("7 <stop> 8", G.AFTER_STOP),
            ("6 I made a mistake <stop>", G.STOP_AND_RESAMPLE),
            ("1 Let me recompute. 2 Let me recompute. 3 Let me recompute. 7", G.OVER_BUDGET)]


def test_unreadable_responses_are_excluded_with_their_line_and_reason(tmp_path, capsys):
    """Each way a response can fail to be attempts and decisions is excluded and counted with its line, never
    dropped silently: in the reader, in the table and in the JSON; --strict makes the first of them an error."""
    lines = [GOOD | {"prompt_id": f"ok{i}"} for i in range(3)]
    lines += [GOOD | {"prompt_id": f"x{i}", "response": r} for i, (r, _) in enumerate(EXCLUDED)]
    lines.append(GOOD | {"prompt_id": "g", "response": "6 Let me recompute. 7", "attempts_correct": [True]})
    gens = _read(lines, tmp_path, budget=3)
    want = {}
    for i, (_, reason) in enumerate(EXCLUDED):
        want.setdefault(reason, []).append(4 + i)
    want[G.GRADES_MISMATCH] = [len(lines)]
    assert gens.excluded == want and gens.episodes == 3 and gens.lines == len(lines)
    path = str(tmp_path / "g.jsonl")
    assert main(["decompose", path, "--budget", "3", "--bootstrap", "20", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["runs"][0]["files"]["model"]["excluded"]
    assert got == {k: v for k, v in sorted(want.items())}
    assert main(["decompose", path, "--budget", "3", "--bootstrap", "20"]) == 0
    text = capsys.readouterr().out
    assert all(f"| {reason}" in text for reason in want), text
    with pytest.raises(G.GenerationsError, match=f"line 4: field 'response': {G.NO_ATTEMPT}"):
        _read(lines, tmp_path, budget=3, strict=True)


def test_prompts_missing_from_a_file_of_the_run_are_left_out_and_counted(tmp_path):
    """A pair compares the prompts both files have: the others are listed as left out (per file, with their
    lines); the same prompt in different buckets in the two files is an error."""
    a = [GOOD | {"prompt_id": f"p{i}", "response": f"{i}", "answer": str(i)} for i in range(5)]
    b = [GOOD | {"prompt_id": f"p{i}", "response": f"{i}", "answer": str(i)} for i in range(2, 7)]
    spec = D.run_specs([_write(a, tmp_path / "a.jsonl")], compare=_write(b, tmp_path / "b.jsonl"))
    dec = D.decompose(spec, G.Options(budget=2), reps=50)
    run = dec.runs[0]
    assert run.unpaired == {"sft-reflect": [1, 2], "rl": [4, 5]}
    assert run.counts["rl"]["3"]["prompts"] == 3 and run.data["diffs"]["3"]["accuracy"][0] == 0
    assert any(D.NOT_PAIRED in " ".join(r) for r in D.exclusion_rows(dec)[1])
    b[0]["bucket"] = 4
    with pytest.raises(D.DecomposeError, match="prompt 'p2' is in bucket"):
        D.decompose(D.run_specs([str(tmp_path / "a.jsonl")], compare=_write(b, tmp_path / "b.jsonl")),
                    G.Options(budget=2), reps=50)


@pytest.mark.parametrize("argv, message", [
    (["decompose"], "no generations given"),
    (["decompose", "/no/such/file.jsonl"], "no such file or directory"),
    (["decompose", "{d}", "{f}"], "give files or run folders, not both"),
    (["decompose", "{d}", "--compare", "{f}"], "--compare and --sft go with one file"),
    (["decompose", "{f}", "--sft", "{f}"], "--sft needs --compare"),
    (["decompose", "{e}"], "no sft-reflect.jsonl[.gz] or rl.jsonl[.gz]"),
    (["decompose", "{f}", "--id-buckets", "9"], "--id-buckets 9: no such bucket"),
    (["decompose", "{f}", "--answer-regex", "("], "bad answer regular expression"),
    (["decompose", "{f}", "--field", "answr=x"], "expected FIELD=KEY"),
    (["decompose", "{f}", "--budget", "0"], "must be a positive integer"),
])
def test_bad_command_lines_are_one_line_errors(tmp_path, capsys, argv, message):
    d, e = tmp_path / "run", tmp_path / "empty"
    d.mkdir()
    e.mkdir()
    f = _write([GOOD], d / "sft-reflect.jsonl")
    _write([GOOD], d / "rl.jsonl")
    try:
        code = main([a.format(d=d, e=e, f=f) for a in argv])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


# -------------------------------------------------------------------------------------------- the reading
def test_several_runs_are_read_by_the_ledgers_rule(tmp_path):
    """Three simulated runs where RL gains through p_dW: the pooled reading is dsproof.pooling's on the runs'
    dicts, the statements' verdicts are dsproof.verdict's (holds, holds), and the pooled decision share has a
    bootstrap CI over prompts around it.  One run alone: the leave-one-run-out condition is undetermined and the
    decision-part statement is open, with that reason."""
    before = {3: (0.5, 0.8, 0.2), 5: (0.25, 0.8, 0.1)}
    after = {3: (0.52, 0.95, 0.7), 5: (0.26, 0.95, 0.6)}
    specs = [_run(tmp_path, {"sft": before, "sft-reflect": before, "rl": after}, 3, 400, seed=s) for s in range(3)]
    dec = D.decompose(specs, G.Options(budget=3), reps=300)
    rd = dec.reading
    again = pooling.summarise("generations", "x", [(r.spec.label, json.loads(json.dumps(r.data))) for r in dec.runs],
                              [])
    assert _same(_figures(summary_values(again)), _figures(summary_values(rd.summary)))
    assert [st.verdict for st in rd.statements] == ["holds", "holds"]
    assert rd.share_ci[0] < rd.summary.share < rd.share_ci[1] and rd.summary.share > 0.5
    assert all(r.splits[n]["decision"][1] > 0 for r in dec.runs for n in ("3", "5"))
    one = D.decompose(specs[:1], G.Options(budget=3), reps=300)
    assert [st.verdict for st in one.reading.statements] == ["open", "holds"]
    reasons = D.why(one.reading.statements[0], one.reading.summary)
    assert any("one run, and leaving it out leaves nothing" in w for w in reasons), reasons


def test_no_comparable_gain_leaves_the_statements_open_and_the_ledger_reading_unchanged(tmp_path):
    """Where RL gains nothing (no cell pooled) the statements are open, not failed: no seed voting is no evidence
    either way.  The ledger's proxies (readings outside the stated setting) keep their setting label, note and
    votes."""
    same = {3: (0.5, 0.8, 0.3)}
    specs = [_run(tmp_path, {"sft-reflect": same, "rl": same}, 3, 200, seed=s) for s in range(2)]
    dec = D.decompose(specs, G.Options(budget=3), reps=200)
    assert not dec.reading.summary.pooled
    assert [st.verdict for st in dec.reading.statements] == ["open", "open"]
    outside = sec4_statements([(dec.reading.summary, "seeds", False)])
    o = outside[0].outcomes[0]
    assert o.setting == {"proxy": "generations (dsproof decompose)"} and o.note == PROXY_NOTE and not o.inside
    assert o.values["seeds voting decision - sampling"].value == "-"  # no pooled cell: no vote to count


def test_condition_2_is_checked_with_sft_generations(tmp_path):
    """With SFT (no reflection) generations, a cell where reflection-SFT lowered p_s is not pooled (condition 2);
    without them the condition is not checked and the output says so."""
    sft = {3: (0.8, 0.99, 0.05)}
    refl = {3: (0.4, 0.7, 0.3)}
    rl = {3: (0.45, 0.95, 0.8)}
    with_sft = _run(tmp_path, {"sft": sft, "sft-reflect": refl, "rl": rl}, 3, 300, seed=0)
    dec = D.decompose([with_sft], G.Options(budget=3), reps=200)
    assert [c.excluded for c in dec.reading.summary.cells] == [pooling.LOWERED_PS]
    spec = D.RunSpec("no sft", {k: v for k, v in with_sft.files.items() if k != "sft"})
    dec = D.decompose([spec], G.Options(budget=3), reps=200)
    assert [c.excluded for c in dec.reading.summary.cells] == [None]
    assert any("condition (2)" in n for n in dec.notes)


# ------------------------------------------------------------------------- one implementation: the proxy
@pytest.fixture(scope="module")
def proxy_run(tmp_path_factory):
    """A tiny proxy run (the smoke preset cut down) with its evaluation generations exported."""
    from numerics.reproduce import run

    tiny = dataclasses.replace(PRESETS["smoke"], hidden=24, layers=1, base_steps=80, sft_steps=30, rl_steps=2,
                               rl_prompts=2, group=2, eval_prompts=40, bootstrap=60, attr_every=1, lr=5e-3, seed=1)
    res, models = run(tiny, export_generations=True)
    out = tmp_path_factory.mktemp("proxy")
    for name, lines in res.generations.items():
        G.write_jsonl(lines, out / f"{name}.jsonl.gz")
    return tiny, res, models, out


def test_decompose_on_a_proxy_runs_generations_equals_its_results(proxy_run):
    """The proxy pipeline and decompose on the same generations: every model's metrics and CIs, the paired
    differences, both gain splits and the pooling cells are equal (one implementation)."""
    from numerics.reproduce.storage import results_dict

    tiny, res, _, out = proxy_run
    data = json.loads(json.dumps(results_dict(res, [], [])))
    spec = D.run_specs([str(out)])[0]
    assert set(spec.files) == {"sft", "sft-reflect", "rl"}
    dec = D.decompose([spec], G.Options(budget=tiny.T), id_buckets=list(tiny.id_digits), reps=tiny.bootstrap,
                      seed=tiny.seed)
    got = json.loads(json.dumps(dec.runs[0].data))
    assert _same(got["models"], {m: data["models"][m] for m in ("sft", "sft-reflect", "rl")})
    for k in ("diffs", "gains", "gains_retry"):
        assert _same(got[k], data[k]), k
    assert data["gains"], "the proxy run has no gain split: nothing compared"
    assert _same([dataclasses.asdict(c) for c in pooling.comparable_cells(got)],
                 [dataclasses.asdict(c) for c in pooling.comparable_cells(data)])
    assert sum(len(v) for v in res.generations.values()) == 4 * 120


def test_the_export_changes_no_result(proxy_run):
    """evaluate with the export on and off: the same metrics, CIs and episode rows (the export reads the episodes,
    it draws nothing)."""
    from numerics.reproduce import evaluate

    tiny, _, models, _ = proxy_run
    off = evaluate(models["rl"], tiny, seed=11)
    on = evaluate(models["rl"], tiny, seed=11, export=True)
    for n in off:
        assert _same(on[n]["metrics"], off[n]["metrics"]) and _same(on[n]["ci"], off[n]["ci"])
        np.testing.assert_array_equal(on[n]["stats"], off[n]["stats"])
        assert "generations" not in off[n] and len(on[n]["generations"]) == tiny.eval_prompts


# ------------------------------------------------------------------------------------- the worked example
#: the command that wrote reports/decompose/cpu, run from the repository root (README)
EXAMPLE_ARGS = dict(opts=G.Options(budget=3), id_buckets=[1, 2], reps=500, seed=0)


@pytest.fixture(scope="module")
def example():
    """The worked example read as its README command reads it: from the repository root, relative paths."""
    import os

    if not EXAMPLE.exists():
        pytest.skip("reports/decompose/cpu not generated")
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        specs = D.run_specs(sorted(str(p.relative_to(ROOT)) for p in EXAMPLE.glob("seed*") if p.is_dir()))
        return specs, D.decompose(specs, **EXAMPLE_ARGS)
    finally:
        os.chdir(here)


def _assert_same_run(run, data: dict, label: str) -> None:
    """decompose's reading of one run equals a results.json: the three models' metrics, differences and gain splits."""
    got = json.loads(json.dumps(run.data))
    assert _same(got["models"], {m: data["models"][m] for m in ("sft", "sft-reflect", "rl")}), label
    for k in ("diffs", "gains", "gains_retry"):
        assert _same(got[k], data[k]), (label, k)


def test_the_worked_example_equals_the_runs_it_was_exported_from(example):
    """reports/decompose/cpu: the exported generations of the cpu proxy runs, read by decompose, give each run's
    results.json (metrics, CIs, differences, splits) and the pooled reading the ledger's code gives on those
    results.json files."""
    specs, dec = example
    runs = []
    for spec, run in zip(specs, dec.runs):
        data = json.loads((ROOT / spec.label / "results.json").read_text())
        assert data["preset"]["seed"] == run.seed
        _assert_same_run(run, data, spec.label)
        runs.append((spec.label, data))
    ledger = pooling.summarise("answer", "cpu", runs, [])
    assert _same(_figures(summary_values(ledger)), _figures(summary_values(dec.reading.summary)))
    assert [(c.seed, c.n, c.excluded) for c in ledger.cells] == [(c.seed, c.n, c.excluded)
                                                                for c in dec.reading.summary.cells]


def test_the_worked_example_is_the_ledgers_runs(example):
    """The runs the worked example was exported from are the committed cpu runs the ledger's sec4-empirical reads
    (reports/reproduce/cpu[-seedN]/results.json): the same models' metrics, differences and gain splits, so the
    command's output on them is the ledger's §4 figures for those runs."""
    specs, dec = example
    for spec, run in zip(specs, dec.runs):
        committed = ROOT / "reports" / "reproduce" / ("cpu" if run.seed == 0 else f"cpu-seed{run.seed}")
        data = json.loads((committed / "results.json").read_text())
        assert data["preset"] == json.loads((ROOT / spec.label / "results.json").read_text())["preset"]
        _assert_same_run(run, data, committed.name)


def test_the_worked_example_output_is_regenerated_byte_for_byte(example, tmp_path):
    """The committed decompose.{txt,json,html} and figures are what the command writes again."""
    _, dec = example
    for path in D.write_outputs(dec, tmp_path):
        assert path.read_bytes() == (EXAMPLE / path.name).read_bytes(), path.name


def test_the_benchmark_runs_at_a_toy_size(capsys):
    """benchmarks/decompose_cost.py prints one row per size (its figures go to benchmarks/results/)."""
    from benchmarks import decompose_cost

    decompose_cost.main(["--sizes", "160", "--bootstrap", "20"])
    out = capsys.readouterr().out
    assert "generations" in out and len([ln for ln in out.splitlines() if ln.strip().startswith("1")]) == 1, out
