"""The report's figures (dsproof.figures) against the committed ledger: every claim but the identities has a figure,
captions are words and name the control a figure draws, no figure is blank, and each figure's plotted data, read
back from its matplotlib artists at the points the ledger prints, equals reports/ledger.json at the ledger's stated
precision (rounded the way the ledger rounds the figure, then compared with the stored value)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dsproof import figures, ledger, model  # noqa: E402
from dsproof.model import Figure, table_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = ledger.load(ROOT / "reports" / "ledger.json")
BY_ID = {e.id: e for e in ENTRIES}
IDENTITIES = ("lemma-3.1", "cor-3.1")
LENGTHS = (100, 1000, 10_000)

_DRAWN: dict[str, plt.Figure] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_figures():
    yield
    for fig in _DRAWN.values():
        plt.close(fig)
    _DRAWN.clear()


def drawn(name: str) -> plt.Figure:
    """Each figure drawn once per module (its data computed as the report computes it)."""
    if name not in _DRAWN:
        _DRAWN[name] = figures.FIGURES[name].draw()
    return _DRAWN[name]


def values(claim: str, row: str) -> dict[str, Figure]:
    return BY_ID[claim].row(row).values


def same(x, fig: Figure) -> bool:
    """``x`` rounded as the ledger rounded ``fig`` equals the ledger's stored value."""
    f = fig.fmt
    if f == "exact":
        return x == fig.value
    if f == "lt":
        return abs(x) < fig.value
    if f == "count":
        return tuple(x) == tuple(fig.value)
    kind, d = f[:-1], int(f[-1])
    return {"sig": model.sig, "dec": model.dec, "signed": model.signed, "pct": model.pct}[kind](x, d).value == fig.value


def assert_same(x, fig: Figure, what: str):
    assert same(x, fig), f"{what}: plotted {x!r}, the ledger {fig.text()} ({fig.fmt})"


def close_to_quotient(x: float, num: Figure, den: Figure) -> bool:
    """``x`` against the quotient of two ledger figures, within their rounding (each at most half a unit of its last
    significant digit)."""
    def rel(f):
        d = int(f.fmt[-1])
        return 0.5 * 10 ** (1 - d) / (abs(f.value) / 10 ** math.floor(math.log10(abs(f.value))))

    return abs(x / (num.value / den.value) - 1) <= rel(num) + rel(den) + 1e-12


def image_is_blank(path: Path, min_fraction: float = 0.005) -> bool:
    """Fewer than ``min_fraction`` of the pixels differ from the most common colour (dsproof.report's rule)."""
    img = plt.imread(path)
    px = np.round(img.reshape(-1, img.shape[-1]) * 255).astype(np.uint32)
    packed = sum(px[:, c] << np.uint32(8 * c) for c in range(px.shape[1]))
    _, counts = np.unique(packed, return_counts=True)
    return 1 - counts.max() / len(px) < min_fraction


def artists(fig):
    for ax in fig.axes:
        yield from (*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images, ax.title)


def by_gid(fig, gid: str):
    found = [a for a in artists(fig) if a.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} artists with gid {gid!r}"
    return found[0]


def gids(fig, prefix: str) -> list:
    return [a for a in artists(fig) if (a.get_gid() or "").startswith(prefix)]


def at(line, x) -> float:
    """A line's y at the plotted point x (exactly one)."""
    xs = np.asarray(line.get_xdata(), dtype=float)
    i = np.flatnonzero(xs == x)
    assert len(i) == 1, f"{line.get_gid()}: x = {x} plotted {len(i)} times"
    return float(np.asarray(line.get_ydata(), dtype=float)[i[0]])


def text_of(fig, gid: str) -> str:
    return by_gid(fig, gid).get_text()


# ------------------------------------------------------------------------------------------------ the inventory
def test_every_claim_has_a_figure_and_every_figure_names_claims():
    claims = list(ledger.load_all())
    shown = {c for s in figures.FIGURES.values() for c in s.claims}
    assert set(claims) - set(IDENTITIES) <= shown, f"claims without a figure: {set(claims) - set(IDENTITIES) - shown}"
    assert shown <= set(claims), f"figures naming no registered claim: {shown - set(claims)}"
    for c in IDENTITIES:
        assert figures.figures_of(c) == []
    assert [s.name for s in figures.figures_of("appC-toy")] == ["figure1", "appendix_c_map"]
    assert [s.name for s in figures.figures_of("def-3.1")] == ["ratio_vs_length"]
    assert [s.name for s in figures.figures_of("appD-sft-dft")] == ["ratio_vs_length"]
    firsts = [claims.index(s.claims[0]) for s in figures.FIGURES.values()]
    assert firsts == sorted(firsts), "FIGURES is not in the ledger's claim order"


def test_figures_have_ids_and_captions_in_words():
    for name, spec in figures.FIGURES.items():
        assert spec.name == name and re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        cap = spec.caption
        first = cap.split()[0]
        file_like = re.search(r"[_/\\]", first) or re.fullmatch(r"[\w-]+\.\w+", first)
        assert re.match(r"[A-Z§]", cap) and not file_like, f"{name}: the caption starts with {first!r}, not a word"
        assert not re.search(r"\.(png|py|json|ipynb)\b", cap), f"{name}: the caption names a file"
        assert len(cap.split()) >= 40 and "Look at" in cap, f"{name}: say what is plotted and what to look at"
    for name in ("figure1", "appendix_c_map", "ratio_vs_length", "calibration"):  # the notebooks' calls
        assert callable(getattr(figures, name))


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_figure_draws_a_card_with_legends_and_names_its_control(name, tmp_path):
    fig = drawn(name)
    w, h = fig.get_size_inches()
    assert w == pytest.approx(figures.SIZE[0]) and h <= 4.8, (w, h)
    path = figures.save_all(tmp_path, names=[name])[0][1]
    assert not image_is_blank(path), f"{name} is blank"
    if name != "appendix_c_map":  # heat maps with a colour bar
        panels = [ax for ax in fig.axes if ax.has_data()]
        assert panels and all(ax.get_legend() is not None for ax in panels), f"{name}: a panel without a legend"
    if gids(fig, "control"):
        assert "control" in figures.FIGURES[name].caption, f"{name} draws a control its caption does not name"


# ------------------------------------------------------------------------------------------------ per figure
def test_cross_terms_are_the_ledger_draws():
    fig = drawn("cross_terms")
    cos = np.asarray(by_gid(fig, "cosines").get_xdata(), dtype=float)
    v = values("cross-terms", "cosines")
    lo, med, hi = np.percentile(cos, [5, 50, 95])
    assert_same(lo, v["cos 5%"], "cos 5%")
    assert_same(med, v["cos median"], "cos median")
    assert_same(hi, v["cos 95%"], "cos 95%")
    assert_same(float(np.min(np.abs(cos))), v["smallest |cos|"], "smallest |cos|")
    assert_same((int(np.sum(np.abs(cos) > 1e-9)), len(cos)), v["draws with |cos| > 1e-9"], "draws")
    assert v["cos 5%"].text() in text_of(fig, "deciding|cos 5%")
    assert v["cos 95%"].text() in text_of(fig, "deciding|cos 95%")
    assert v["smallest |cos|"].text() in text_of(fig, "deciding|smallest |cos|")
    assert list(by_gid(fig, "threshold").get_xdata()) == [0, 0]


def test_calibration_marks_the_ledger_gaps():
    fig = drawn("calibration")
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    x = np.asarray(lines["§4.2 formula (T -> oo)"].get_xdata())
    i = int(np.argmin(np.abs(x - 0.5)))
    assert x[i] == pytest.approx(0.5, abs=1e-12)
    v = values("calibration-4.2", "far-ood")
    for T in (2, 4, 8):
        gap = lines["§4.2 formula (T -> oo)"].get_ydata()[i] - lines[f"budget T = {T}"].get_ydata()[i]
        assert_same(gap, v[f"T={T}"], f"T={T}")
    assert v["T=2"].text() in text_of(fig, "deciding|T=2")


def test_figure1_kl_range_is_the_ledger_default():
    fig = drawn("figure1")
    kl = np.asarray(by_gid(fig, "kl|L=1").get_ydata(), dtype=float)
    v = values("appC-toy", "default")
    assert_same(float(np.nanmin(kl)), v["KL min"], "KL min")
    assert_same(float(np.nanmax(kl)), v["KL max"], "KL max")
    text = text_of(fig, "deciding|KL min max")
    assert v["KL min"].text() in text and v["KL max"].text() in text


def test_appendix_c_map_has_the_control_row():
    from numerics.figure1 import READINGS

    fig = drawn("appendix_c_map")
    v = values("appC-toy", "map")
    for reading in READINGS:
        for term, key in (("kl", f"{reading}: KL > 2 throughout"), ("control", f"{reading}: control > 2 throughout")):
            img = by_gid(fig, f"{term}|{reading}")
            k, n = v[key].value
            frac = np.asarray(img.get_array(), dtype=float)
            assert round(float(frac.mean()) * n) == k and frac.mean() * n == pytest.approx(k, abs=1e-9), (term, reading)
            assert f"{k}/{n}" in text_of(fig, f"deciding|{'kl' if term == 'kl' else 'relative'}|{reading}")
    assert len(gids(fig, "control|")) == len(READINGS)


def test_discount_credit_marks_the_ledger_value():
    fig = drawn("discount_credit")
    v = values("thm-3.1", "discounted-q-value")["Q_d / Q_sample"]
    assert_same(at(by_gid(fig, "gamma=0.99"), 512), v, "gamma^-512")
    assert set(by_gid(fig, "gamma=1").get_ydata()) == {1.0}
    assert v.text() in text_of(fig, "deciding|Q_d / Q_sample")


def test_surrogate_norms_are_the_ledger_ratios():
    fig = drawn("surrogate_norms")
    for s in ("fixed-logits", "fixed-p_s", "fixed-p_s-ref"):
        v = values("thm-3.1-norms", f"surrogate-{s}")
        line = by_gid(fig, f"exact|{s}")
        for n in (1,) + LENGTHS:
            assert_same(at(line, n), v[f"ratio at L={n:,}"], f"{s} at L={n}")
        lead = by_gid(fig, f"leading|{s}")
        x, y = np.asarray(lead.get_xdata(), float), np.asarray(lead.get_ydata(), float)
        coeff = y / x ** v["L power"].value
        assert np.allclose(coeff, coeff[0], rtol=1e-12)
        assert_same(float(coeff[0]), v["coefficient"], f"{s} coefficient")


def test_clipping_counts_are_the_ledger_counts():
    from dsproof.claims.objectives import CLIP_STEP_SCALES

    fig = drawn("clipping_map")
    v = values("thm-3.1-practised", "clipping")
    pts = {s: np.asarray(by_gid(fig, f"draws|{s}").get_offsets(), dtype=float) for s in CLIP_STEP_SCALES}
    allp = np.concatenate(list(pts.values()))
    differ = np.abs(allp[:, 1] - allp[:, 0]) > 1e-9
    n = len(allp)
    assert_same((int(differ.sum()), n), v["draws where the fractions differ"], "differ")
    assert_same((int((differ & (allp[:, 1] < allp[:, 0])).sum()), n), v["decision keeps less"], "decision less")
    assert_same((int((differ & (allp[:, 0] < allp[:, 1])).sum()), n), v["sampling keeps less"], "sampling less")
    for s, p in pts.items():
        assert_same((int((np.abs(p[:, 1] - p[:, 0]) > 1e-9).sum()), len(p)), v[f"differ at s={s}"], f"s={s}")
    bars = [b.get_height() for b in gids(fig, "decision keeps less")]
    assert sum(bars) == v["decision keeps less"].value[0]
    assert v["draws where the fractions differ"].text() in text_of(fig, "deciding|draws where the fractions differ")


def test_kl_reward_ratio_levels_off_at_the_ledger_limits():
    fig = drawn("kl_reward_ratio")
    for s in ("fixed-logits", "fixed-p_s-ref", "fixed-p_s"):
        v = values("thm-3.2", f"k1-{s}")
        k1 = by_gid(fig, f"k1|{s}")
        for n in (1,) + LENGTHS:
            assert_same(at(k1, n), v[f"ratio at L={n:,}"], f"k1 {s} at L={n}")
        limit = by_gid(fig, f"limit|{s}").get_ydata()
        assert_same(float(limit[0]), v["coefficient"], f"{s} limit")
        assert v["coefficient"].text() in text_of(fig, f"deciding|coefficient|{s}")
        sur = by_gid(fig, f"control|surrogate|{s}")
        for n in LENGTHS:
            assert_same(at(sur, n), values("thm-3.1-norms", f"surrogate-{s}")[f"ratio at L={n:,}"], f"surrogate {s}")
        imm = by_gid(fig, f"immediate|{s}")
        slope = math.log10(at(imm, 10_000) / at(imm, 1000))
        power = values("thm-3.2", f"immediate-{s}")["L power"].value
        assert abs(slope - power) < 0.01, (s, slope, power)
    q = values("def-3.1-phi", "q-level")
    for n in LENGTHS:
        assert_same(at(by_gid(fig, "immediate|fixed-logits"), n), q[f"immediate at L={n:,}"], f"immediate at L={n}")
    assert by_gid(fig, "limit|fixed-logits").axes.get_title() == "fixed-logits"


def test_k3_loss_ratio_is_the_ledger_relative_ratio():
    fig = drawn("k3_loss_ratio")
    from dsproof.scaling import KL_LEVELS

    for level in KL_LEVELS:
        v = values("thm-3.2-practised", f"k3-kl-{level}")
        line = by_gid(fig, f"level|{level}")
        for n in LENGTHS:
            assert_same(at(line, n), v[f"relative at L={n:,}"], f"level {level} at L={n}")
        lead = by_gid(fig, f"leading|level|{level}")
        c = np.asarray(lead.get_ydata(), float) / np.asarray(lead.get_xdata(), float) ** v["relative L power"].value
        assert_same(float(c[0]), v["relative coefficient"], f"level {level} coefficient")
    ref = by_gid(fig, "relative|fixed-p_s-ref")
    for n in LENGTHS:
        assert_same(at(ref, n), values("thm-3.2-practised", f"k3-kl-{KL_LEVELS[0]}")[f"relative at L={n:,}"], n)
    for s in ("fixed-logits", "fixed-p_s", "fixed-p_s-ref"):
        v, sur = values("thm-3.2-practised", f"k3-{s}"), values("thm-3.1-norms", f"surrogate-{s}")
        line = by_gid(fig, f"relative|{s}")
        for n in LENGTHS:
            assert close_to_quotient(at(line, n), v[f"ratio at L={n:,}"], sur[f"ratio at L={n:,}"]), (s, n)
        lead = by_gid(fig, f"leading|{s}")
        c = np.asarray(lead.get_ydata(), float) / np.asarray(lead.get_xdata(), float) ** v["relative L power"].value
        assert_same(float(c[0]), v["relative coefficient"], f"{s} relative coefficient")


def test_ratio_vs_length_draws_ratios_relative_to_the_surrogate():
    from dsproof import scaling
    from theory.closed_form import OBJECTIVES

    fig = drawn("ratio_vs_length")
    table = scaling.table()
    rows = {"kl-k1-reward": "k1", "kl-k2-loss": "k2", "kl-k3-loss": "k3", "sft": "sft", "dft": "dft"}
    assert [ax.get_title() for ax in fig.axes] == ["fixed-logits", "fixed-p_s", "fixed-p_s-ref"]
    for ax in fig.axes:
        s = ax.get_title()
        assert ax.get_legend() is not None
        curves = {line.get_gid(): line for line in ax.lines}
        assert set(np.asarray(curves["control|surrogate"].get_ydata())) == {1.0}
        assert {g.split("|")[1] for g in curves if g.startswith("relative|")} == set(OBJECTIVES) - {"surrogate"}
        sur_ledger = values("thm-3.1-norms", f"surrogate-{s}")
        for obj in set(OBJECTIVES) - {"surrogate"}:
            line = curves[f"relative|{obj}"]
            for n in scaling.LENGTHS:  # point by point: the objective's exact ratio over the surrogate's
                assert at(line, n) == pytest.approx(table[(obj, s)].exact[n] / table[("surrogate", s)].exact[n],
                                                    rel=1e-12), (obj, s, n)
            v = values("appD-sft-dft" if obj in ("sft", "dft") else
                       "thm-3.2" if obj == "kl-k1-reward" else "thm-3.2-practised", f"{rows[obj]}-{s}")
            for n in LENGTHS:  # and the ledger's printed ratios, within their rounding
                assert close_to_quotient(at(line, n), v[f"ratio at L={n:,}"], sur_ledger[f"ratio at L={n:,}"]), \
                    (obj, s, n)
            lead = curves[f"leading|{obj}"]
            x, y = np.asarray(lead.get_xdata(), float), np.asarray(lead.get_ydata(), float)
            c = y / (x ** v["relative L power"].value * np.log(x) ** v["relative log L power"].value)
            assert_same(float(c[0]), values("def-3.1", f"relative-{obj}")[f"{s}: relative coefficient"],
                        f"{obj} {s} relative coefficient")


def test_definition_readings_are_the_ledger_q_level():
    fig = drawn("definition_readings")
    q = values("def-3.1-phi", "q-level")
    for n in LENGTHS:
        assert_same(at(by_gid(fig, "Q level"), n), q[f"Q-level at L={n:,}"], f"Q level at L={n}")
        assert_same(at(by_gid(fig, "immediate"), n), q[f"immediate at L={n:,}"], f"immediate at L={n}")
    assert_same(float(by_gid(fig, "Q-level limit").get_ydata()[0]), q["Q-level limit"], "limit")
    assert q["Q-level limit"].text() in text_of(fig, "deciding|Q-level limit")
    assert np.allclose(by_gid(fig, "surrogate Q").get_ydata(), 1.0, rtol=0, atol=1e-12)  # def-3.1-phi: residual 0
    rel = by_gid(fig, "control|relative")
    k1, sur = values("thm-3.2", "k1-fixed-logits"), values("thm-3.1-norms", "surrogate-fixed-logits")
    for n in LENGTHS:
        assert close_to_quotient(at(rel, n), k1[f"ratio at L={n:,}"], sur[f"ratio at L={n:,}"]), n


def test_discounted_are_the_ledger_ratios():
    fig = drawn("discounted")
    for s in figures.DISCOUNT_SCALINGS:
        for g in ("0.99", "0.999"):
            v = values("thm-3.1-discounted", f"surrogate-{s}-{g}")
            for n in (1000, 10_000):
                assert_same(at(by_gid(fig, f"surrogate|{s}|{g}"), n), v[f"relative at L={n:,}"], (s, g, n))
        for discount in ("token", "stage"):
            v = values("thm-3.2-discounted", f"gradient-{discount}-{s}-{figures.PANEL_B_GAMMA}")
            for n in LENGTHS + (10 ** 6,):
                assert_same(at(by_gid(fig, f"k1|{discount}|{s}"), n), v[f"ratio at L={n:,}"], (discount, s, n))
    assert set(by_gid(fig, "control|gamma=1").get_ydata()) == {1.0}


def test_markov_map_maxima_are_the_ledger_maxima():
    fig = drawn("markov_map")
    v = values("lemma-3.2", "markov-map")
    for ax, key in zip(fig.axes, ("fed the first decision's p_dW", "fed the visit-weighted (pooled) p_dW")):
        lines = [line for line in ax.lines if (line.get_gid() or "").startswith("error|")]
        assert len(lines) == 8
        ys = np.array([line.get_ydata() for line in lines], dtype=float)
        assert_same(float(ys.max()), v[key], key)
        marks = [t.get_text().split()[-1] for t in ax.texts if (t.get_gid() or "").startswith("deciding")]
        assert v[key].text() in marks
        at0 = ys[:, list(lines[0].get_xdata()).index(0)]
        assert_same(float(at0.max()), v["at decay 0 (Markov)"], "decay 0")


def test_grpo_far_ood_points_are_the_ledger_rows():
    from dsproof.claims.training import FAR_OOD_PS

    fig = drawn("grpo_far_ood")
    for T in figures.GRPO_T:
        for p in FAR_OOD_PS:
            v = values("grpo-groups", f"far-ood-T{T}-{p}")
            assert_same(at(by_gid(fig, f"informative|{T}"), p), v["groups with any gradient"], (T, p))
            assert_same(at(by_gid(fig, f"push|{T}"), p), v["GRPO push on theta_dW"], (T, p))
            assert_same(at(by_gid(fig, f"control|dJ|{T}"), p), v["dJ/dtheta_dW"], (T, p))
    for p in FAR_OOD_PS:
        assert text_of(fig, f"deciding|groups with any gradient|{p}") == \
            values("grpo-groups", f"far-ood-T{figures.GRPO_T[0]}-{p}")["groups with any gradient"].text()


def test_feedback_rounds_are_the_ledger_counts():
    from dsproof.claims.training import PS_TARGETS

    fig = drawn("feedback_rounds")
    v = values("sec5-feedback", "iterated-vs-rl")
    rft = np.asarray(by_gid(fig, "rft").get_ydata(), float)
    rl = np.asarray(by_gid(fig, "rl").get_ydata(), float)
    for t in PS_TARGETS:
        assert_same(int(np.argmax(rft >= t)), v[f"RFT rounds to p_s {t}"], f"RFT to {t}")
        assert_same(int(np.argmax(rl >= t)), v[f"RL steps to p_s {t}"], f"RL to {t}")
        assert f"RFT {v[f'RFT rounds to p_s {t}'].text()}, RL {v[f'RL steps to p_s {t}'].text()}" in \
            text_of(fig, f"deciding|p_s {t}")
    assert_same(float(rft[200]), v["RFT p_s after 200 rounds"], "RFT after 200 rounds")
    assert_same(float(by_gid(fig, "fixed point").get_ydata()[0]), values("sec5-feedback", "rft-fixed-point")["p_s*"],
                "offline fixed point")


def _bars(fig) -> dict:
    return {p.get_gid(): p.get_width() for p in fig.axes[0].patches if p.get_gid()}


def test_length_weighting_counts_are_the_ledger_counts():
    """Recomputed with the claim module's functions (the figure's draw) and read from the ledger (from_ledger): both
    draw the ledger's counts."""
    from dsproof.claims.training import PROTOCOLS

    spec = figures.FIGURES["length_weighting"]
    fig, from_ledger = drawn("length_weighting"), spec.from_ledger(ENTRIES)
    try:
        bars, read = _bars(fig), _bars(from_ledger)
        assert bars == read
        e = BY_ID["abstract-length-weighting"]
        for p in PROTOCOLS:
            for key in figures.LW_KEYS:
                k, n = e.row(f"protocol-{p}").values[key].value
                assert bars[f"{key}|{p}"] * n == pytest.approx(k, abs=1e-9), (p, key)
                assert text_of(fig, f"deciding|{key}|{p}") == f"{k}/{n}"
        st = e.statement("abstract-length-weighting/sft-pi_d")
        for _, demos, label in figures.SFT_ROWS:
            outs = [o for o in st.outcomes if o.setting["demonstrations"] == demos]
            k = sum(o.settings for o in outs if o.setting["settings"] == "where it holds")
            n = sum(o.settings for o in outs)
            assert bars[f"theta_dW left short|{label}"] * n == pytest.approx(k, abs=1e-9), label
    finally:
        plt.close(from_ledger)


def _proxy(setting: str) -> str:
    return re.search(r"\(([^()]*)\)$", setting).group(1)


def test_sec4_shares_are_the_ledger_shares():
    fig = drawn("sec4_shares")
    e = BY_ID["sec4-empirical"]
    decision = e.statement("sec4-empirical/decision-part")
    parts = e.statement("sec4-empirical/through-p_dW")
    presets = []
    for o in decision.outcomes:
        preset = _proxy(o.setting["proxy"])
        presets.append(preset)
        share = o.values["pooled decision share"]
        pooled = [a for a in artists(fig) if (a.get_gid() or "").endswith(f"pooled|{preset}")]
        if isinstance(share.value, float) and math.isnan(share.value):
            assert not pooled, preset
            continue
        y = float(np.asarray(pooled[0].get_segments())[0][:, 1].mean())
        assert_same(y, share, f"{preset} pooled share")
        band = [a for a in artists(fig) if (a.get_gid() or "").endswith(f"loso|{preset}")][0]
        lo = float(np.min(band.get_paths()[0].vertices[:, 1]))
        assert_same(lo, o.values["smallest leave-one-seed-out share"], f"{preset} LOSO")
        assert share.text() in [a for a in artists(fig) if a.get_gid() == f"deciding|pooled decision share|{preset}"][
            0].get_text()
    for o in parts.outcomes:
        preset = _proxy(o.setting["proxy"])
        for key in ("p_dC part", "p_dW part"):
            bar = [a for a in artists(fig) if (a.get_gid() or "").endswith(f"{key}|{preset}")]
            if isinstance(o.values[key].value, float) and math.isnan(o.values[key].value):
                assert not bar, (preset, key)
            else:
                assert_same(float(bar[0].get_height()), o.values[key], f"{preset} {key}")
    # each seed's dot against the per-seed tables ('decision share' column: '82%' or '-' for no pooled cell)
    for rid in ("seeds", "confirmatory"):
        tab = e.row(rid).values["per seed"]
        cols = tab.value["columns"]
        for j, col in enumerate(cols):
            if not col.endswith(": decision share"):
                continue
            preset = _proxy(col.removesuffix(": decision share"))
            cells = [(int(r[0].value), r[j].text()) for r in table_rows(tab) if str(r[0].value).isdigit()]
            dots = [a for a in artists(fig) if (a.get_gid() or "").endswith(f"seeds|{preset}")][0]
            crosses = [a for a in artists(fig) if (a.get_gid() or "").endswith(f"no pooled cell|{preset}")][0]
            shown = sorted(model.pct(y, 0).text() for y in dots.get_ydata())
            assert shown == sorted(t for _, t in cells if t != "-"), preset
            assert len(crosses.get_xdata()) == sum(t == "-" for _, t in cells), preset
    assert set(presets) == {"cpu", "cpu-cot", "cpu-cot-masked-steps2x"}
    assert gids(fig, "control|"), "the answer-only proxy is drawn as the control"
