"""Where §4 runs are kept: one folder per run under reports/reproduce/ (results.json, committed; checkpoints,
git-ignored), named after the preset, the reflection recipe and the seed; reading them back, and telling runs made
with the current settings of a preset from stale ones."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from .pipeline import RunResult
from .presets import PRESETS, Preset

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "reports" / "reproduce"
#: where the smoke presets go by default: git-ignored (reports/_build/), and outside OUT, so neither the ledger, the
#: report nor git ever sees them
SCRATCH = ROOT / "reports" / "_build" / "reproduce"
#: which saved preset the ledger reads, most informative first
PREFERENCE = ("h100", "cpu", "smoke")
#: the preset fields of the reflection recipe (how the SFT-reflect demonstrations are built): field -> (its
#: results-folder suffix where it differs from the preset's, its column in the recipes table, its cell there)
RECIPE_FIELDS = {"wrong_source": ("-src-{}", "wrong first attempts", "{}"),
                 "reflect_frac": ("-frac{}", "reflecting demos", "{}"),
                 "wrong_attempt_loss": ("-{}", "loss on the wrong attempt", "{}"),
                 "reflect_steps_factor": ("-steps{}x", "SFT-reflect steps", "{} x SFT's")}
#: preset fields that may differ between seeds of one pool (where and with which seed it ran)
RUN_FIELDS = ("seed", "device", "matmul_precision", "description")
#: each preset field's default (numerics.reproduce.Preset)
FIELD_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Preset)}


def recipe_value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def recipe_name(preset: str, **recipe) -> str:
    """The results-folder stem of a reflection recipe: the preset's name, then each recipe field that differs from
    the preset's (RECIPE_FIELDS: ``-src-<wrong_source>``, ``-frac<reflect_frac>``, ``-<wrong_attempt_loss>``,
    ``-steps<reflect_steps_factor>x``), so a variant never overwrites the default runs."""
    default = PRESETS[preset]
    return preset + "".join(suffix.format(recipe_value(recipe[k])) for k, (suffix, _, _) in RECIPE_FIELDS.items()
                            if recipe.get(k, getattr(default, k)) != getattr(default, k))


def run_folder(preset: str, p: Preset) -> str:
    """Where a run of ``preset`` with the settings ``p`` is saved: :func:`recipe_name`, then ``-seed<N>`` when the
    seed is not the preset's (e.g. ``cpu-cot-src-work-error-seed2``)."""
    name = recipe_name(preset, **{k: getattr(p, k) for k in RECIPE_FIELDS})
    return name if p.seed == PRESETS[preset].seed else f"{name}-seed{p.seed}"


def default_out(preset: str) -> Path:
    """Where ``dsproof reproduce --preset P`` writes without --out: SCRATCH for smoke (a pipeline check, never a
    result), OUT for the others."""
    return SCRATCH if preset.startswith("smoke") else OUT


def resolve_preset(preset: str, device: str | None = None, **overrides) -> Preset:
    """The named preset with ``device`` and field overrides applied; ValueError for an unknown preset,
    RuntimeError when it needs CUDA and torch has none."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {tuple(PRESETS)}")
    if device is not None:
        overrides["device"] = device
    p = dataclasses.replace(PRESETS[preset], **overrides)
    if p.device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"preset {preset} runs on {p.device}, but no CUDA device is available "
                           "(pass --device cpu to run it on the CPU, slowly)")
    return p


def results_dict(res: RunResult, table: list[dict], figures: list[str]) -> dict:
    """What results.json holds for one run."""
    return dict(status="ok", description=res.preset["description"], preset=res.preset, table=table,
                models={k: {str(n): v for n, v in d.items()} for k, d in res.models.items()},
                gains={str(n): g for n, g in res.gains.items()},
                gains_retry={str(n): g for n, g in res.gains_retry.items()},
                diffs={str(n): d for n, d in res.diffs.items()},
                attribution=res.attribution, rl_log=res.rl_log,
                final_losses={k: v[-1] for k, v in res.losses.items() if v}, seconds=res.seconds, figures=figures,
                environment=res.environment, fingerprint=res.fingerprint)


def save(res: RunResult, models: dict, out: Path, table: list[dict], figures: list[str]) -> Path:
    """Write ``out/results.json`` and the checkpoints (``out/checkpoints/*.pt``, git-ignored)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "checkpoints").mkdir(exist_ok=True)
    for name, m in models.items():
        torch.save(m.model.state_dict(), out / "checkpoints" / f"{name}.pt")
    path = out / "results.json"
    path.write_text(json.dumps(results_dict(res, table, figures), indent=1))
    return path


def load_run(path: Path) -> RunResult:
    """A RunResult from a saved results.json."""
    d = json.loads(Path(path).read_text())
    return RunResult(preset=d["preset"], models={k: {int(n): v for n, v in per.items()} for k, per in d["models"].items()},
                     gains={int(n): g for n, g in d["gains"].items()},
                     gains_retry={int(n): g for n, g in d.get("gains_retry", {}).items()},
                     diffs={int(n): v for n, v in d.get("diffs", {}).items()}, attribution=d["attribution"],
                     rl_log=d["rl_log"], seconds=d["seconds"], environment=d.get("environment", {}),
                     fingerprint=d.get("fingerprint", {}))


def latest_results(out: Path | None = None) -> tuple[str, dict] | None:
    """(preset, results) of the most informative saved preset (PREFERENCE), or None."""
    for name in PREFERENCE:
        p = (OUT if out is None else Path(out)) / name / "results.json"
        if p.exists():
            return name, json.loads(p.read_text())
    return None


def saved_runs(root: Path, stem: str) -> list[tuple[str, dict]]:
    """The runs saved under ``root`` as ``stem`` (the default seed) and ``stem-seed<N>``: (folder, results), sorted
    by seed."""
    paths = [root / stem / "results.json"] + sorted(root.glob(f"{stem}-seed*/results.json"))
    runs = [(p.parent.name, json.loads(p.read_text())) for p in paths if p.exists()]
    return sorted(runs, key=lambda r: r[1]["preset"]["seed"])


def same_settings(runs: list[tuple[str, dict]], name: str, **recipe) -> tuple[list, list]:
    """Split saved runs into those made with the current settings of preset ``name`` (with the ``recipe``
    overrides: RECIPE_FIELDS) (every field but RUN_FIELDS equal) and stale ones (made with other sizes or steps:
    pooling them would mix experiments)."""
    want = {k: v for k, v in dataclasses.asdict(dataclasses.replace(PRESETS[name], **recipe)).items()
            if k not in RUN_FIELDS} if name in PRESETS else None
    same, stale = [], []
    for label, d in runs:
        got = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d["preset"].items() if k not in RUN_FIELDS}
        for k in ("attempt_format", *RECIPE_FIELDS):  # runs saved before a field existed ran with its default
            got.setdefault(k, FIELD_DEFAULTS[k])
        (same if want is None or got == want else stale).append((label, d))
    return same, stale
