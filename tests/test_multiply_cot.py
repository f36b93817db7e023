"""§4's chain-of-thought attempts (numerics.multiply, attempt_format "cot"): the partial products, carries and answer
digits a correct attempt writes, worked by hand; every field checked on decoding; a corrupted field is detectable
from the tokens; and the format mask and episode layout for attempts of that length."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics import multiply


def _tokens(*fields: str) -> list[int]:
    """Tokens of digit strings written as they sit in the attempt (least significant digit first)."""
    return [multiply.DIGIT0 + int(c) for f in fields for c in f]


# 47 x 386 = 18142, worked by hand: 7 x 386 = 2702, 4 x 386 = 1544; columns (right to left) 2 | 0+4 | 7+4 = 11 |
# 2+5+1 = 8 | 1 -> carries out 0 0 1 0 0, digits 2 4 1 8 1
WORKED = dict(x=47, y=386, a=2, n=3, tokens=_tokens("2072", "4451", "00100", "24181"))


def test_cot_attempt_matches_the_hand_worked_multiplication():
    w = WORKED
    assert multiply.attempt_len(w["a"], w["n"], "cot") == 2 * 4 + 2 * 5 == len(w["tokens"])
    assert multiply.encode_attempt(w["x"], w["y"], w["a"], w["n"], "cot") == w["tokens"]
    check = multiply.check_attempt(w["tokens"], w["x"], w["y"], w["a"], w["n"], "cot")
    assert check.correct and check.consistent and check.answer == 18142
    # every field is checked: a partial products, a + n carries, a + n answer digits, the product
    assert len(check.fields) == 2 + 5 + 5 + 1
    # the answer-only format is the last a + n tokens
    assert multiply.encode_attempt(w["x"], w["y"], w["a"], w["n"]) == w["tokens"][-5:]


@pytest.mark.parametrize("position, flagged", [
    (1, {"partial product 0", "answer digit 1"}),  # 2702 -> 2712: column 1 no longer adds up to the written 4
    (5, {"partial product 1", "answer digit 2"}),  # 1544 -> 1554: column 2 = 7 + 5 = 12 (carry 1 still right)
    (10, {"carry 2", "answer digit 3"}),  # carry 1 -> 2: column 2 gives 1, and column 3 then sums to 9, not 8
    (13, {"answer digit 0", "product"}),  # answer 18142 -> 18143
])
def test_corrupted_field_is_detectable_from_the_tokens(position, flagged):
    w = WORKED
    bad = list(w["tokens"])
    bad[position] = multiply.DIGIT0 + (bad[position] - multiply.DIGIT0 + 1) % 10
    check = multiply.check_attempt(bad, w["x"], w["y"], w["a"], w["n"], "cot")
    assert set(check.errors) == flagged and not check.consistent


def test_every_single_digit_corruption_is_visible():
    """Change any one token of the worked attempt to any other digit: some field of the check is wrong."""
    w = WORKED
    for pos in range(len(w["tokens"])):
        for d in range(10):
            bad = list(w["tokens"])
            if bad[pos] == multiply.DIGIT0 + d:
                continue
            bad[pos] = multiply.DIGIT0 + d
            assert not multiply.check_attempt(bad, w["x"], w["y"], w["a"], w["n"], "cot").consistent, (pos, d)


def test_synthetic_wrong_cot_attempt_is_wrong_where_its_work_is():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a, n = 2, int(rng.integers(1, 4))
        x, y = (int(v[0]) for v in multiply.sample_operands(a, n, 1, rng))
        check = multiply.check_attempt(multiply.wrong_attempt(x, y, a, n, rng, "cot"), x, y, a, n, "cot")
        wrong_pp = [k for k in check.errors if k.startswith("partial product")]
        assert not check.correct and len(wrong_pp) == 1, check.errors
        # the carries and answer follow from the (wrong) partial products: the work is otherwise consistent
        assert set(check.errors) == {wrong_pp[0], "product"}


def test_check_rejects_bad_input():
    with pytest.raises(ValueError, match="tokens"):
        multiply.check_attempt(WORKED["tokens"][:-1], 47, 386, 2, 3, "cot")
    with pytest.raises(ValueError, match="attempt_format"):
        multiply.attempt_len(2, 3, "scratchpad")
    bad = list(WORKED["tokens"])
    bad[0] = multiply.STOP  # not a digit: the fields it touches are wrong, no exception
    check = multiply.check_attempt(bad, 47, 386, 2, 3, "cot")
    assert "partial product 0" in check.errors and "answer digit 0" in check.errors


def test_cot_episode_layout_and_format_mask():
    w = WORKED
    wrong = multiply.wrong_attempt(w["x"], w["y"], w["a"], w["n"], np.random.default_rng(1), "cot")
    prompt = multiply.encode_prompt(w["x"], w["y"], w["a"], w["n"])
    ep = multiply.build_episodes([prompt], [[wrong, w["tokens"]]], [[multiply.RESAMPLE, multiply.STOP]],
                                 [w["x"] * w["y"]], [w["n"]])
    assert ep.correct == [[False, True]]
    P, L = multiply.prompt_len(w["a"], w["n"]), multiply.attempt_len(w["a"], w["n"], "cot")
    allowed = multiply.allowed_tokens(ep.input_ids, "cot")[0]
    digits = set(range(multiply.DIGIT0, multiply.DIGIT0 + 10))
    for k in range(2):
        for t in range(P - 1 + k * (L + 1), P - 1 + k * (L + 1) + L):  # logits at t predict attempt token t + 1
            assert set(allowed[t].nonzero().flatten().tolist()) == digits, t
        assert set(allowed[P - 1 + k * (L + 1) + L].nonzero().flatten().tolist()) == {multiply.STOP, multiply.RESAMPLE}
    # the answer-only mask puts a decision after a + n tokens instead: the two layouts differ
    assert not torch.equal(multiply.allowed_tokens(ep.input_ids, "answer"), multiply.allowed_tokens(ep.input_ids, "cot"))
