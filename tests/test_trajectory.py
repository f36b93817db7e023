"""Lemma 3.1 and Corollary 3.1 for one autoregressive policy (theory/trajectory.py)."""

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import budget_and_lengths
from theory.trajectory import corollary_3_1, episode_layout, lemma_3_1, parameterisation


@given(data=st.data())
def test_lemma_3_1_residual_is_zero(data):
    T, lengths = data.draw(budget_and_lengths(max_T=4, max_L=4), label="T, lengths")
    capped = data.draw(st.booleans(), label="capped")
    kind = data.draw(st.sampled_from(["shared", "disjoint"]), label="parameterisation")
    ep = episode_layout(lengths, capped=capped)
    r = lemma_3_1(ep, parameterisation(kind))
    assert r["residual"] == 0, f"Lemma 3.1 construction fails for lengths={lengths}, capped={capped}"
    assert len(r["log_pi_sample"]) == T
    assert len(r["log_pi_d"]) == (T - 1 if capped else T), "one decision per attempt, none after a capped one"


@pytest.mark.parametrize("kind", ["shared", "disjoint"])
def test_corollary_split_and_norm_identity(kind):
    terms = {t.name: t for t in corollary_3_1(episode_layout((2, 1, 3)), parameterisation(kind))}
    assert terms["residual_split"].expr == sp.zeros(*terms["residual_split"].expr.shape)
    assert terms["residual_norm"].expr == 0
    cross = terms["<g_sampling, g_decision>"].expr
    if kind == "disjoint":
        assert cross == 0, "disjoint parameters have no score cross-term"
    else:
        # 6 sampling tokens x 3 decision tokens x 2 parameters = 36 products of partial derivatives
        assert len(sp.Add.make_args(cross)) == 36


def test_stage_labels_are_what_the_names_say():
    ep = episode_layout((2, 1), decision_len=2, capped=False)
    assert [s for s, _ in ep.labels] == ["sampling"] * 2 + ["decision"] * 2 + ["sampling"] + ["decision"] * 2


@pytest.mark.parametrize("bad, msg", [((), "T"), ((0, 2), "lengths\\[1\\]"), ((2, -1), "lengths\\[2\\]"),
                                       ((1.5,), "lengths\\[1\\]")])
def test_bad_layouts_name_the_argument(bad, msg):
    with pytest.raises((ValueError, TypeError), match=msg):
        episode_layout(bad)


def test_bad_parameterisation():
    with pytest.raises(ValueError, match="shared.*disjoint"):
        parameterisation("tied")
