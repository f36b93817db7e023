"""One §4 run: base -> SFT / SFT-reflect -> RL on the same model family, every model evaluated on the same prompts,
the SFT-reflect -> RL differences with paired bootstrap CIs and the gain split; and the Table-1-like rows."""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from .bootstrap import diff_level, paired_difference
from .demonstrations import answers_batch, demo_batch, lm_batch, wrong_attempts
from .evaluation import evaluate
from .gain_decomposition import RETRY_PLAYERS, gain_decomposition
from .generation import build
from .grpo import train_rl
from .presets import Preset
from .provenance import FINGERPRINT_STEPS, environment, fingerprint_record, weights_digest
from .sft import train_supervised


@dataclass
class RunResult:
    preset: dict
    models: dict = field(default_factory=dict)  # model -> n -> {metrics, ci}
    gains: dict = field(default_factory=dict)  # n -> decomposition (sft-reflect -> rl), §4.2 model
    gains_retry: dict = field(default_factory=dict)  # n -> the same with the retries' own accuracy
    diffs: dict = field(default_factory=dict)  # n -> metric -> (rl - sft-reflect, lo, hi), paired bootstrap
    attribution: list = field(default_factory=list)
    rl_log: list = field(default_factory=list)
    losses: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    # what computed the run (provenance.environment) and its first base steps (provenance.fingerprint_record)
    environment: dict = field(default_factory=dict)
    fingerprint: dict = field(default_factory=dict)
    # model -> generations lines (numerics.generations) when run with export_generations; never in results.json
    generations: dict = field(default_factory=dict, repr=False)


def run(preset: Preset, progress=None, export_generations: bool = False) -> tuple[RunResult, dict]:
    """Train base -> sft / sft-reflect -> rl and evaluate all four.  Returns the results and the models
    (dsproof.reproduction saves them).  On the CPU torch runs single-threaded: the thread count can change the order
    of floating-point sums.  The results also depend on the CPU kernels torch and MKL pick for the processor (see
    numerics.reproduce.provenance): the run records them (``environment``) and a fingerprint of its first base
    steps (``fingerprint``), which :func:`fingerprint` re-runs alone.  With ``export_generations`` the evaluation
    episodes are kept as generations lines in ``RunResult.generations`` (model -> lines; the results are the same)."""
    with _settings(preset):
        return _run(preset, progress, export_generations)


@contextlib.contextmanager
def _settings(preset: Preset):
    """The run's matmul precision and, on the CPU, one thread; restored afterwards."""
    before, threads = torch.get_float32_matmul_precision(), torch.get_num_threads()
    torch.set_float32_matmul_precision(preset.matmul_precision)
    if preset.device == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)
        torch.set_num_threads(threads)


def _base_phase(preset: Preset, progress=None, stop_after: int | None = None):
    """The seeded start of a run and its base training (or its first ``stop_after`` steps): (rng, generator, base
    model, losses, fingerprint).  One code path for the run and for :func:`fingerprint`."""
    torch.manual_seed(preset.seed)
    rng = np.random.default_rng(preset.seed)
    gen = torch.Generator(device=preset.device).manual_seed(preset.seed)
    base = build(preset)
    steps = min(FINGERPRINT_STEPS, preset.base_steps)
    digest = {}

    def on_step(step, model):
        if step + 1 == steps:
            digest["base"] = weights_digest(model)

    losses, _ = train_supervised(base, preset, preset.base_steps, lambda: answers_batch(preset, rng, preset.batch),
                                 "base", progress=progress, on_step=on_step, stop_after=stop_after)
    return rng, gen, base, losses, fingerprint_record(losses, digest.get("base", ""), steps)


def fingerprint(preset: Preset) -> dict:
    """The fingerprint of a run of ``preset`` (provenance.fingerprint_record), computed by running only its first
    FINGERPRINT_STEPS base steps, exactly as the run does: equal to the run's recorded ``fingerprint`` bit for bit
    where the code and the kernels are the same (seconds instead of minutes)."""
    with _settings(preset):
        return _base_phase(preset, stop_after=FINGERPRINT_STEPS)[-1]


def _run(preset: Preset, progress, export_generations: bool = False) -> tuple[RunResult, dict]:
    res = RunResult(preset=asdict(preset), environment=environment(preset.device))
    t0 = time.perf_counter()

    rng, gen, base, res.losses["base"], res.fingerprint = _base_phase(preset, progress)
    res.seconds["base"] = time.perf_counter() - t0
    pool = wrong_attempts(base, preset, rng, gen)  # drawn for every wrong_source, so the random streams stay aligned
    attr_batch = lm_batch(demo_batch(preset, np.random.default_rng(preset.seed + 7), 32, 1.0, pool))

    t = time.perf_counter()
    sft = copy.deepcopy(base)
    res.losses["sft"], _ = train_supervised(sft, preset, preset.sft_steps,
                                            lambda: demo_batch(preset, rng, preset.batch, 0.0, pool), "sft",
                                            progress=progress)
    reflect = copy.deepcopy(base)
    res.losses["sft-reflect"], a_sft = train_supervised(
        reflect, preset, round(preset.sft_steps * preset.reflect_steps_factor), lambda: demo_batch(preset, rng, preset.batch, preset.reflect_frac, pool),
        "sft-reflect", attr_batch=attr_batch, progress=progress)
    res.seconds["sft"] = time.perf_counter() - t

    t = time.perf_counter()
    rl = copy.deepcopy(reflect)
    ref = copy.deepcopy(reflect).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    res.rl_log, a_rl = train_rl(rl, ref, preset, rng, gen, progress=progress)
    res.attribution = a_sft + a_rl
    res.seconds["rl"] = time.perf_counter() - t

    t = time.perf_counter()
    models = {"base": base, "sft": sft, "sft-reflect": reflect, "rl": rl}
    raw = {}
    for name, m in models.items():
        raw[name] = evaluate(m, preset, seed=preset.seed + 100, export=export_generations)
        res.models[name] = {n: dict(metrics=v["metrics"], ci=v["ci"]) for n, v in raw[name].items()}
        if export_generations:
            res.generations[name] = [line for v in raw[name].values() for line in v["generations"]]
        if progress:
            progress("eval", None)
    for n in preset.id_digits + preset.ood_digits:
        res.diffs[n] = paired_difference(raw["sft-reflect"][n]["stats"], raw["rl"][n]["stats"], preset.T,
                                         preset.bootstrap, preset.seed + 200 + n, level=diff_level(preset.id_digits))
        a, b = res.models["sft-reflect"][n]["metrics"], res.models["rl"][n]["metrics"]
        if not any(math.isnan(a[k]) or math.isnan(b[k]) for k in ("p_dC", "p_dW")):
            res.gains[n] = gain_decomposition(a, b, preset.T)
            res.gains_retry[n] = gain_decomposition(a, b, preset.T, RETRY_PLAYERS)
    res.seconds["eval"] = time.perf_counter() - t
    res.seconds["total"] = time.perf_counter() - t0
    return res, models


def results_table(res: RunResult) -> list[dict]:
    """Table-1-like rows: model, n, split, accuracy [CI], p_s, p_dC, p_dW, predicted (T), predicted (oo)."""
    rows = []
    ood = set(res.preset["ood_digits"])
    for name, per_n in res.models.items():
        for n, v in per_n.items():
            m, ci = v["metrics"], v["ci"]
            fmt = lambda k: f"{m[k]:.3f} [{ci[k][0]:.3f}, {ci[k][1]:.3f}]"  # noqa: E731
            rows.append({"model": name, "n": n, "split": "OOD" if n in ood else "ID", "accuracy": fmt("accuracy"),
                         "p_s": fmt("p_s"), "p_dC": fmt("p_dC"), "p_dW": fmt("p_dW"), "p_retry": fmt("p_retry"),
                         "pass@T": fmt("pass_at_T"), "predicted (T)": fmt("predicted_T"),
                         "predicted (T->oo)": fmt("predicted_inf"), "predicted (T, p_retry)": fmt("predicted_T_retry")})
    return rows
