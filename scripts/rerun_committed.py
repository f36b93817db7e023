"""Print the `dsproof reproduce` command of every committed §4 run (reports/reproduce/*/results.json), one a line:
its preset, seed and reflection recipe, each checked to write back to the run's own folder with the code's current
preset settings.  For re-running the committed runs where they no longer reproduce (tests/test_run_fingerprint.py),
e.g. two at a time, each single-threaded, into a scratch folder:

    .venv/bin/python scripts/rerun_committed.py --out /tmp/rerun | xargs -P 2 -I CMD sh -c CMD

then copy each /tmp/rerun/<run>/<run>/ over reports/reproduce/<run>/ (checkpoints stay git-ignored) and regenerate
the summaries (dsproof.pooling.write_seeds_summary / write_recipes_summary), the ledger and the report.
Chain-of-thought runs first (the longest), the default recipe's seeds before the recipe sweep."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from numerics.reproduce import PRESETS  # noqa: E402
from numerics.reproduce.storage import OUT, RECIPE_FIELDS, resolve_preset, run_folder, same_settings  # noqa: E402

def commands(out: str | None, root: Path = OUT) -> list[tuple[str, list[str]]]:
    """(run folder, dsproof reproduce arguments) of every committed run; SystemExit where a run's settings are not
    the code's (a stale run: re-running it would make another experiment)."""
    jobs = []
    for path in sorted(root.glob("*/results.json")):
        folder, data = path.parent.name, json.loads(path.read_text())
        d = data["preset"]
        name = d["name"]
        recipe = {k: d[k] for k in RECIPE_FIELDS if k in d and d[k] != getattr(PRESETS[name], k)}
        _, stale = same_settings([(folder, data)], name, **recipe)
        if run_folder(name, resolve_preset(name, seed=d["seed"], **recipe)) != folder or stale:
            raise SystemExit(f"{folder}: not a run of the code's preset {name} (its settings or its folder name)")
        args = ["--preset", name, "--seed", str(d["seed"])]
        for k, v in recipe.items():  # dsproof reproduce's option of each recipe field: --wrong-source, ...
            args += [f"--{k.replace('_', '-')}", str(v)]
        if out:
            args += ["--out", str(Path(out) / folder)]
        jobs.append((folder, args))
    default = {f"{n}-seed{s}" for n in PRESETS for s in range(100)} | set(PRESETS)
    return sorted(jobs, key=lambda j: ("cot" not in j[0], j[0] not in default, j[0]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None, help="scratch folder: each run goes to OUT/<run> (None: reports/reproduce)")
    ap.add_argument("--dsproof", default=str(Path(sys.executable).parent / "dsproof"), help="the dsproof command")
    args = ap.parse_args(argv)
    for _, a in commands(args.out):
        print(shlex.join([args.dsproof, "reproduce", *a, "--quiet"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
