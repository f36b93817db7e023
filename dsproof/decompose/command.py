"""The ``dsproof decompose`` subcommand: its arguments (registered on dsproof.cli's parser by :func:`add_parser`) and
:func:`cmd_decompose`, which runs the job and prints or writes its outputs (exit code 2 with one line on a bad
invocation or input)."""

from __future__ import annotations

import json
from pathlib import Path

from .inputs import DecomposeError, run_specs
from .pipeline import decompose
from .render import to_json, to_text, write_outputs


def _field(text: str) -> tuple[str, str]:
    import argparse

    from numerics.generations import FIELDS

    name, sep, key = text.partition("=")
    if not sep or name not in FIELDS or not key:
        raise argparse.ArgumentTypeError(f"expected FIELD=KEY with FIELD one of {', '.join(FIELDS)}, got {text!r}")
    return name, key


def add_parser(sub) -> None:
    """Register ``dsproof decompose`` on the subparsers ``sub`` of dsproof.cli."""
    import argparse

    from ..cli import nonnegative_int, positive_int, rollout_options

    text = ("§4's analysis on anyone's multi-attempt generations (JSONL, one response a line: prompt_id, bucket, "
            "response, answer): per bucket accuracy, p_s, p_dC, p_dW (visit-weighted), the §4.2 prediction, mean "
            "attempts and capped share with bootstrap CIs over prompts; with --compare (or run folders) RL's gain "
            "over SFT-reflect split into sampling and decision parts, read by the sec4-empirical pooling and "
            "verdict rule.")
    p = sub.add_parser("decompose", help=text, description=text, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("generations", nargs="*", metavar="GENERATIONS",
                   help="a generations file (.jsonl or .jsonl.gz): one model; with --compare the SFT-reflect model. "
                        "Or run folders, each holding sft-reflect.jsonl, rl.jsonl and optionally sft.jsonl (.gz too): "
                        "one run each, read as a seed")
    p.add_argument("--compare", default=None, metavar="RL.jsonl", help="the RL model's generations on the same prompts")
    p.add_argument("--sft", default=None, metavar="SFT.jsonl",
                   help="with --compare: SFT without reflection, for condition (2) of the pooling rule")
    p.add_argument("--budget", type=positive_int, default=None,
                   help="the attempt budget T: a response reaching T attempts is capped (its last attempt has no "
                        "decision); more is excluded (None: T = the most attempts of any response, nothing capped but "
                        "truncated responses)")
    p.add_argument("--id-buckets", nargs="+", default=None, metavar="BUCKET",
                   help="the in-distribution buckets: the Bonferroni level of the gain CIs and the pooling use them "
                        "(None: every bucket)")
    p.add_argument("--field", nargs="+", type=_field, default=[], metavar="FIELD=KEY", dest="fields",
                   help="read a field from another key, dotted for a nested one, e.g. prompt_id=uid response=output "
                        "answer=reward_model.ground_truth")
    p.add_argument("--answer-regex", default=None,
                   help="an attempt's answer is the last match (its first group, if any); None: the last number, "
                        "numerics.generations.DEFAULT_ANSWER_REGEX")
    rollout_options(p)
    p.add_argument("--stop-tags", nargs="+", default=None,
                   help="decision spans meaning STOP (None: '<stop>' '[STOP]'); every other span is a RESAMPLE")
    p.add_argument("--bootstrap", type=positive_int, default=1000, help="bootstrap resamples")
    p.add_argument("--seed", type=nonnegative_int, default=0,
                   help="seed of the first run's bootstrap (run i: seed + i)")
    p.add_argument("--strict", action="store_true",
                   help="a response that cannot be read as attempts and decisions is an error, not an exclusion")
    p.add_argument("--show", type=nonnegative_int, default=0, metavar="N",
                   help="print the first N responses of each file as read (attempts, answers, decisions)")
    p.add_argument("--json", action="store_true", help="print the JSON instead of the tables")
    p.add_argument("--out", default=None, help="also write OUT/decompose.{txt,json,html}, calibration.png, "
                                               "gain_split.png")
    p.set_defaults(fn=cmd_decompose)


def cmd_decompose(args) -> int:
    import sys

    from numerics import generations as G

    try:
        specs = run_specs(args.generations, args.compare, args.sft)
        kw = dict(budget=args.budget, keys=tuple(args.fields), strict=args.strict,
                  regexes=tuple(args.regex), tags=tuple(args.tags))
        if args.markers is not None:
            kw["markers"] = tuple(args.markers)
        if args.answer_regex is not None:
            kw["answer_regex"] = args.answer_regex
        if args.stop_tags is not None:
            kw["stop_tags"] = tuple(args.stop_tags)
        opts = G.Options(**kw)
        ids = None
        if args.id_buckets:
            ids = [G.bucket_key(b, "--id-buckets", "bucket") for b in args.id_buckets]
        dec = decompose(specs, opts, ids, args.bootstrap, args.seed, show=args.show)
    except (DecomposeError, G.GenerationsError, ValueError) as exc:
        print(f"dsproof decompose: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(to_json(dec), indent=1))
    else:
        print(to_text(dec), end="")
    if args.out:
        paths = write_outputs(dec, Path(args.out))
        print(f"wrote {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0
