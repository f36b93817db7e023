"""``dsproof decompose``: the paper's §4 analysis on anyone's generations, with no gradient and no GPU.

    dsproof decompose RL.jsonl                                   # one model: per bucket p_s, p_dC, p_dW, §4.2
    dsproof decompose SFT_REFLECT.jsonl --compare RL.jsonl [--sft SFT.jsonl]     # one run: the gain and its split
    dsproof decompose runs/seed0/ runs/seed1/ ...                # several runs (folders), each read as a seed

Each file is read by numerics.generations (attempts, decisions, grades; one STAT_COLUMNS row per response).  Then
everything is the proxy's own code, so a researcher's run is read exactly as the ledger reads the proxy:

* per bucket and model: ``metrics`` and ``bootstrap_ci`` (numerics.reproduce), with the proxy's seeds (the run's
  seed + 100 + bucket); prompts are resampled as clusters when a prompt has several generations;
* per bucket, SFT-reflect -> RL: ``paired_difference`` at the Bonferroni level ``diff_level`` over the
  in-distribution buckets (seed + 200 + bucket) and the Shapley splits ``gain_decomposition`` (three players, and
  four with p_retry);
* the run as a results.json-style dict (:func:`analyse_run`), read by ``dsproof.pooling.comparable_cells`` /
  ``summarise`` and ``dsproof.claims.empirical.sec4_statements``, with the verdict from ``dsproof.verdict``.

On the generations a proxy run exports (``dsproof reproduce --export-generations``) the dict equals that run's
results.json (tests/test_decompose.py).  Beyond the proxy's figures it adds what a researcher needs to trust the
numbers: what was excluded and why, mean attempts, the share of capped responses, and a bootstrap CI of the gain
split and of the decision share (the same replicates as the gain's CI).

A run folder holds one file per model, named by role: ``sft-reflect.jsonl`` and ``rl.jsonl`` (the two compared),
optionally ``sft.jsonl`` (SFT without reflection: condition (2) of the pooling rule); ``.jsonl.gz`` too.

The package, one module a concern: :mod:`.inputs` (the runs a command line names), :mod:`.estimate` (one run's
estimates and bootstrap, the reading and its verdicts), :mod:`.pipeline` (the whole job), :mod:`.render` (text, JSON,
HTML), :mod:`.plots` (the figures) and :mod:`.command` (the subcommand); every name is re-exported here.
"""

from __future__ import annotations

from .command import add_parser, cmd_decompose
from .estimate import EVIDENCE_ID, SPLIT_KEYS, Reading, RunAnalysis, analyse_run, read_runs, split_replicates, why
from .inputs import AFTER, BEFORE, ROLES, ROLE_LABELS, DecomposeError, RunSpec, bucket_seed, bucket_sort, run_specs
from .pipeline import JSON_PLACES, PLACES, Decomposition, decompose
from .plots import COLOURS, PART_COLOURS, figure_calibration, figure_gain_split
from .render import NOT_PAIRED, TABLE_METRICS, exclusion_rows, gain_rows, model_rows, reading_lines, text_table, \
    to_json, to_text, write_outputs

__all__ = ["AFTER", "BEFORE", "COLOURS", "DecomposeError", "Decomposition", "EVIDENCE_ID", "JSON_PLACES",
           "NOT_PAIRED", "PART_COLOURS", "PLACES", "ROLES", "ROLE_LABELS", "Reading", "RunAnalysis", "RunSpec",
           "SPLIT_KEYS", "TABLE_METRICS", "add_parser", "analyse_run", "bucket_seed", "bucket_sort", "cmd_decompose",
           "decompose", "exclusion_rows", "figure_calibration", "figure_gain_split", "gain_rows", "model_rows",
           "read_runs", "reading_lines", "run_specs", "split_replicates", "text_table", "to_json", "to_text", "why",
           "write_outputs"]
