"""The benchmark scripts run (at toy sizes) and their FLOP counts are consistent: they print figures for the
README and the closing notes, so they must not rot.  Nothing here is timed."""

from __future__ import annotations

import re

from benchmarks import closed_form_cost, preset_cost, probe_cost
from numerics import reproduce


def test_probe_cost_prints_time_and_flop_ratios(capsys):
    probe_cost.main(["--size", "tiny", "--device", "cpu", "--batch", "2", "--attempt", "8", "--reps", "1",
                     "--flops"])
    out = capsys.readouterr().out
    ratios = [float(x) for x in re.findall(r"matmul FLOPs: .*? ratio ([0-9.]+)x", out)]
    assert len(ratios) == 2 and len(re.findall(r"train step +[0-9.]+ ms", out)) == 2, out
    # one forward and two backward passes through the model against one forward and one backward: the probe
    # costs more than a step, and less than three
    assert all(1.0 < r < 3.0 for r in ratios), out


def test_preset_cost_counts_every_phase():
    rows = preset_cost.count(reproduce.PRESETS["smoke"], batch=8, rl_prompts=1, eval_prompts=4)
    assert set(rows) == {"base", "sft", "sft-reflect", "probe (sft-reflect)", "probe (rl)", "rl", "eval (4 models)",
                         "wrong-attempt pool"}
    assert all(r["flops"] > 0 and r["calls"] > 0 for r in rows.values()), rows
    p = reproduce.PRESETS["smoke"]
    assert rows["base"]["calls"] == p.base_steps and rows["sft"]["calls"] == p.sft_steps
    # sft-reflect demonstrations are longer than sft ones (a wrong attempt and a RESAMPLE before the answer)
    assert rows["sft-reflect"]["flops"] > rows["sft"]["flops"]


def test_closed_form_cost_prints_every_step(capsys):
    closed_form_cost.main(["--T", "3"])
    out = capsys.readouterr().out
    assert "T=3" in out and "induction checks" in out and "total" in out, out
