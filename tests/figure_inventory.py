"""The inventory of every figure dsproof prints or writes, each with the test that checks it against an independent
computation.  tests/test_figure_inventory.py reads the ledger, the reproduction results, the probe's output and the
notebook sources and fails on a figure without a row here, on a row that matches no figure, and on a row naming a
test that does not exist.

Rules (to extend it):

* One row per figure: ``key: (test, kind)``.  ``test`` is a pytest node id without parameters,
  ``"tests/test_x.py::test_name"``; ``kind`` is one of :data:`KINDS`: how the test computes the figure another
  way.  Independent means computed another way, not the same function called twice; check at points where
  mistakes show (not p_dC = p_dW, not p_s = 0.5), and break the guarded code once on purpose to see the test fail.
* :data:`LEDGER` -- reports/ledger.json evidence rows.  Key: ``(claim id, prefix of the evidence id)``.  An
  evidence row is matched by the longest prefix of its id among its claim's keys, so one key covers a family of rows
  (``run-`` every run, ``k1-`` every scaling).  A new evidence row: add one line.
* :data:`RESULTS` -- reports/reproduce/*/results.json fields, as a path with ``*`` for model names, digit counts,
  preset fields, phases and list indices: ``"models.*.*.metrics.p_dC"``, ``"diffs.*.p_s[]"``.
* :data:`PROBE` -- ``dsproof probe --json`` fields, the same path form (``objectives[].result.groups.*.sampling``;
  ``random_init`` is the same :class:`Attribution` as ``result`` and shares its rows), and the printed table's
  cells as ``"table:<row>.<column>"`` (row ``*`` for the parameter groups).
* :data:`NOTEBOOKS` -- each expression a notebook source (notebooks/*.py) displays: key ``(notebook stem,
  ast.unparse of the top-level expression)``.
* :data:`GAPS` -- figures inventoried but with no independent test yet: ``key: reason``.  A key lives in a table or
  in GAPS, never in both; the list is the debt to pay, it must not grow silently.
"""

from __future__ import annotations

ENUMERATION = "enumeration"
AUTOGRAD = "autograd through a separate forward"
SYMBOLIC = "second symbolic derivation"
HAND = "hand-worked value"
IDENTITY = "identity"
RECORD = "record (an input or a measurement, copied; the test checks the copy)"
KINDS = (ENUMERATION, AUTOGRAD, SYMBOLIC, HAND, IDENTITY, RECORD)

CF = "tests/test_closed_form.py::"
TOY = "tests/test_toy.py::"
OBJ = "tests/test_objectives.py::"
CAL = "tests/test_calibration.py::"
TRJ = "tests/test_trajectory.py::"
REP = "tests/test_reproduce.py::"
FREP = "tests/test_figures_reproduce.py::"
FPRB = "tests/test_figures_probe.py::"
FLED = "tests/test_figures_ledger.py::"
FIG1 = "tests/test_figure1.py::"
TRAIN = "tests/test_toy_training.py::"
LIMITS = "tests/test_scaling_limits.py::"
VAL = "tests/test_values.py::"
GRPO = "tests/test_grpo.py::"
FEED = "tests/test_feedback.py::"

_LEADING = (CF + "test_leading_order_matches_the_exact_ratio_at_a_million_tokens", SYMBOLIC)
_LEADING_T = (CF + "test_symbolic_T_leading_orders", SYMBOLIC)
_EMPIRICAL = (FLED + "test_empirical_figures_are_read_from_the_run", IDENTITY)
_HAND_LEAD = (CF + "test_leading_order_equals_a_hand_derivation", SYMBOLIC)

_NEW = "tests/test_figures_statements.py::"
#: a machine-checked row: its theorem, axioms and statement from formal/audit.json, which a fresh build reproduces
_COQ = ("tests/test_formal.py::test_committed_record_equals_fresh_audit", IDENTITY)
_CLIP = (_NEW + "test_clipping_map_recomputed_with_a_hand_written_ppo_loss", AUTOGRAD)

LEDGER: dict[tuple[str, str], tuple[str, str]] = {
    ("lemma-3.1", "induction"): (CF + "test_lemma_3_1_and_corollary_3_1_for_every_T", SYMBOLIC),
    ("lemma-3.1", "layouts"): (TRJ + "test_lemma_3_1_residual_is_zero", SYMBOLIC),
    ("lemma-3.1", "normalisation"): (TOY + "test_probabilities_sum_to_one_and_J_two_ways", ENUMERATION),
    ("lemma-3.1", "torch-sum"): (TOY + "test_sampler_frequencies_match_enumeration", ENUMERATION),
    ("lemma-3.1", "decision-count"): (CF + "test_induction_rejects_the_papers_decision_index", HAND),
    ("lemma-3.1", "coq-"): _COQ, ("cor-3.1", "coq-"): _COQ, ("cross-terms", "coq-"): _COQ,
    ("calibration-4.2", "coq-"): _COQ, ("thm-3.1", "coq-"): _COQ, ("thm-3.2", "coq-"): _COQ,
    ("cor-3.1", "induction"): (CF + "test_lemma_3_1_and_corollary_3_1_for_every_T", SYMBOLIC),
    ("cor-3.1", "layouts"): (TRJ + "test_corollary_split_and_norm_identity", SYMBOLIC),
    ("cor-3.1", "autograd"): (TOY + "test_symbolic_gradients_equal_autograd", AUTOGRAD),
    ("cor-3.1", "stage-split"): (TOY + "test_stage_gradients_split_exactly", AUTOGRAD),
    ("cor-3.1", "no-leak"): (TOY + "test_stage_gradients_split_exactly", AUTOGRAD),
    ("cor-3.1", "monte-carlo"): (TOY + "test_monte_carlo_estimator_matches_exact_gradient", ENUMERATION),
    ("cross-terms", "fisher-disjoint"): (TOY + "test_fisher_cross_block_vanishes_hessian_cross_block_does_not", SYMBOLIC),
    ("cross-terms", "shared-sum"): (TRJ + "test_corollary_split_and_norm_identity", IDENTITY),
    ("cross-terms", "shared-symbolic"): (FLED + "test_cross_term_and_cosine_at_the_claims_theta", AUTOGRAD),
    ("cross-terms", "cosines"): (FLED + "test_cross_term_cosine_distribution_over_random_parameterisations", AUTOGRAD),
    ("cross-terms", "hessian"): (FLED + "test_cross_term_cosine_distribution_over_random_parameterisations", AUTOGRAD),
    ("calibration-4.2", "budget-instances"): (CAL + "test_finite_budget_formula_is_the_toy_model", SYMBOLIC),
    ("calibration-4.2", "limit"): (CAL + "test_limit_is_the_paper_formula", SYMBOLIC),
    ("calibration-4.2", "recursion"): (CF + "test_attempt_recursion_is_solved_and_proved", SYMBOLIC),
    ("calibration-4.2", "budget-gap"): (CF + "test_budget_gap_closed_form", SYMBOLIC),
    ("calibration-4.2", "far-ood"): (FLED + "test_far_ood_gap_at_every_printed_budget", ENUMERATION),
    ("appC-toy", "default"): (FIG1 + "test_default_setting_equals_an_independent_referee_derivation", HAND),
    ("appC-toy", "map"): (FIG1 + "test_sweep_rows_equal_an_autograd_training_loop", AUTOGRAD),
    ("appC-toy", "contrast-L8"): (FIG1 + "test_sweep_rows_equal_an_autograd_training_loop", AUTOGRAD),
    ("appC-toy", "training-gradients"): (FIG1 + "test_closed_form_gradients_equal_autograd_through_enumeration", AUTOGRAD),
    ("thm-3.1", "induction"): (CF + "test_lemma_3_1_and_corollary_3_1_for_every_T", SYMBOLIC),
    ("thm-3.1", "coefficients"): (FLED + "test_theorem_3_1_coefficients_are_the_advantage_read_off_the_torch_surrogate", AUTOGRAD),
    ("thm-3.1", "expected-stage"): (FLED + "test_expected_advantage_stage_gradients_equal_dJ_at_the_claims_theta", AUTOGRAD),
    ("thm-3.1", "torch-objective"): (OBJ + "test_practised_surrogate_equals_symbolic", AUTOGRAD),
    ("thm-3.1", "discounted-q"): (VAL + "test_first_token_of_an_attempt_carries_gamma_to_the_L_less_than_the_decision", SYMBOLIC),
    ("thm-3.1", "discounted-q-value"): (FLED + "test_discounted_q_ratio_hand_value", HAND),
    ("thm-3.1-norms", "surrogate-fixed"): _LEADING,
    ("thm-3.1-norms", "surrogate-general"): _LEADING_T,
    ("thm-3.1-practised", "weights-"): (FLED + "test_practised_ratio_and_direction_per_loss_agg_mode", AUTOGRAD),
    ("thm-3.1-practised", "symbolic-modes"): (OBJ + "test_practised_surrogate_equals_symbolic", AUTOGRAD),
    ("thm-3.1-practised", "retry-credit"): (OBJ + "test_dr_grpo_length_bias_weights", HAND),
    ("thm-3.1-practised", "clipping"): _CLIP,
    ("thm-3.2", "autograd"): (OBJ + "test_kl_placements_against_theory", AUTOGRAD),
    ("thm-3.2", "immediate"): (VAL + "test_discounted_length_and_one_attempt_penalty", ENUMERATION),
    ("thm-3.2", "immediate-fixed"): (_NEW + "test_immediate_penalty_growth_along_each_scaling", SYMBOLIC),
    ("thm-3.2", "k1-fixed"): _LEADING,
    ("thm-3.2", "k1-general"): _LEADING_T,
    ("thm-3.2", "future-kl"): (CF + "test_future_kl_is_the_whole_decision_gradient_when_decisions_match_the_reference", AUTOGRAD),
    ("thm-3.2", "half-limit"): (FLED + "test_kl_ratio_half_limit_length", AUTOGRAD),
    ("thm-3.2", "limits-drawn"): (LIMITS + "test_leading_coefficients_equal_the_exact_ratio_at_large_L", SYMBOLIC),
    ("thm-3.2-practised", "k2-partial"): (OBJ + "test_kl_placements_against_theory", AUTOGRAD),
    ("thm-3.2-practised", "k1-loss"): (OBJ + "test_known_kl_estimator_gradients", AUTOGRAD),
    ("thm-3.2-practised", "k3-fixed"): _LEADING,
    ("thm-3.2-practised", "k2-fixed"): _LEADING,
    ("thm-3.2-practised", "k3-general"): _LEADING_T,
    ("thm-3.2-practised", "k2-general"): _LEADING_T,
    ("thm-3.2-practised", "k3-kl-"): (_NEW + "test_kl_level_map_against_the_closed_form_at_each_length", SYMBOLIC),
    ("def-3.1", "relative-kl"): _HAND_LEAD,
    ("def-3.1", "relative-sft"): _HAND_LEAD,
    ("def-3.1", "sft-wrong-"): (_NEW + "test_sft_wrong_attempt_map_by_hand", HAND),
    ("def-3.1", "relative-dft"): _HAND_LEAD,
    ("def-3.1", "relative-general"): (LIMITS + "test_leading_coefficients_equal_the_exact_ratio_at_large_L", SYMBOLIC),
    ("def-3.1", "immediate"): (VAL + "test_discounted_length_and_one_attempt_penalty", ENUMERATION),
    ("def-3.1", "immediate-fixed"): (_NEW + "test_immediate_penalty_growth_along_each_scaling", SYMBOLIC),
    ("def-3.1", "q-level"): (VAL + "test_k1_q_level_ratio_tends_to_its_derived_limit", SYMBOLIC),
    ("def-3.1", "sft-token-share"): (FLED + "test_sft_dft_decision_share_hand_values", HAND),
    ("appD-sft-dft", "identity-"): (FLED + "test_sft_and_dft_implicit_reward_identities", AUTOGRAD),
    ("appD-sft-dft", "share-"): (FLED + "test_sft_dft_decision_share_hand_values", HAND),
    ("appD-sft-dft", "sft-weight"): (OBJ + "test_dr_grpo_length_bias_weights", HAND),
    ("appD-sft-dft", "sft-fixed"): _LEADING,
    ("appD-sft-dft", "dft-fixed"): _LEADING,
    ("appD-sft-dft", "sft-general"): _LEADING_T,
    ("appD-sft-dft", "dft-general"): _LEADING_T,
    ("thm-3.1-discounted", "gamma-one"): (VAL + "test_gamma_one_gives_the_gradients_of_J_and_KL", SYMBOLIC),
    ("thm-3.1-discounted", "autograd"): (VAL + "test_discounted_gradients_match_autograd", AUTOGRAD),
    ("thm-3.1-discounted", "leading-general"): (VAL + "test_fixed_logit_leading_order_matches_the_exact_ratio_at_large_L", SYMBOLIC),
    ("thm-3.1-discounted", "surrogate-"): (_NEW + "test_discounted_leading_orders_against_the_exact_ratio_at_large_L", SYMBOLIC),
    ("thm-3.2-discounted", "immediate-token"): (VAL + "test_discounted_length_and_one_attempt_penalty", ENUMERATION),
    ("thm-3.2-discounted", "immediate-stage"): (_NEW + "test_per_stage_discount_leaves_the_attempt_undiscounted", ENUMERATION),
    ("thm-3.2-discounted", "immediate-enumeration"): (VAL + "test_discounted_length_and_one_attempt_penalty", ENUMERATION),
    ("thm-3.2-discounted", "saturation"): (VAL + "test_discounted_length_and_one_attempt_penalty", HAND),
    ("thm-3.2-discounted", "gamma-one"): (VAL + "test_gamma_one_gives_the_gradients_of_J_and_KL", SYMBOLIC),
    ("thm-3.2-discounted", "autograd"): (VAL + "test_discounted_gradients_match_autograd", AUTOGRAD),
    ("thm-3.2-discounted", "gradient-"): (_NEW + "test_discounted_leading_orders_against_the_exact_ratio_at_large_L", SYMBOLIC),
    ("lemma-3.2", "induction"): (VAL + "test_lemma_3_2_by_induction_over_the_budget", SYMBOLIC),
    ("lemma-3.2", "split"): (VAL + "test_lemma_3_2_by_induction_over_the_budget", SYMBOLIC),
    ("lemma-3.2", "symbolic-T23"): (VAL + "test_lemma_3_2_q_and_advantage_forms_are_the_gradient_of_J", SYMBOLIC),
    ("lemma-3.2", "rational"): (VAL + "test_lemma_3_2_q_and_advantage_forms_are_the_gradient_of_J", SYMBOLIC),
    ("lemma-3.2", "autograd"): (VAL + "test_lemma_3_2_q_and_advantage_forms_are_the_gradient_of_J", AUTOGRAD),
    ("lemma-3.2", "history-dependent"): (VAL + "test_history_dependent_decision_q_form_against_sympy_derivative", SYMBOLIC),
    ("lemma-3.2", "markov-enumeration"): (VAL + "test_markov_case_pooled_p_dW_is_p_dW_and_the_4_2_formula_is_exact", ENUMERATION),
    ("lemma-3.2", "markov-map"): (VAL + "test_pooled_p_dW_is_the_visit_weighted_mean", ENUMERATION),
    ("def-3.1-phi", "surrogate"): (VAL + "test_first_stage_expected_q", SYMBOLIC),
    ("def-3.1-phi", "kl-closed-form"): (VAL + "test_first_stage_expected_q", SYMBOLIC),
    ("def-3.1-phi", "q-level"): (VAL + "test_k1_q_level_ratio_tends_to_its_derived_limit", SYMBOLIC),
    ("grpo-groups", "update-"): (GRPO + "test_expected_group_update_is_kappa_times_grad_J", ENUMERATION),
    ("grpo-groups", "zero-"): (GRPO + "test_zero_gradient_probability_and_all_equal_groups_give_nothing", ENUMERATION),
    ("grpo-groups", "kappa-limits"): (GRPO + "test_kappa_limits_and_dr_grpo_constant", SYMBOLIC),
    ("grpo-groups", "kappa-half"): (GRPO + "test_kappa_limits_and_dr_grpo_constant", HAND),
    ("grpo-groups", "far-ood-"): (GRPO + "test_far_ood_row_against_the_attempt_loop", AUTOGRAD),
    ("sec5-feedback", "rft-direction"): (FEED + "test_on_policy_rft_gradient_is_grad_J_over_J", AUTOGRAD),
    ("sec5-feedback", "variance-"): (FEED + "test_estimator_moments_match_a_symbolic_derivation", SYMBOLIC),
    ("sec5-feedback", "estimator-means"): (FEED + "test_estimator_moments_match_a_symbolic_derivation", AUTOGRAD),
    ("sec5-feedback", "no-stop-after-wrong"): (FEED + "test_iterated_rft_climbs_and_resamples_after_every_wrong_attempt", ENUMERATION),
    ("sec5-feedback", "rft-fixed-point"): (FEED + "test_fixed_point_matches_token_counts_of_the_enumeration", ENUMERATION),
    ("sec5-feedback", "rl-at-fixed-point"): (FEED + "test_training_reaches_the_fixed_point_and_it_is_stationary", AUTOGRAD),
    ("sec5-feedback", "iterated-vs-rl"): (FEED + "test_iterated_rft_rounds_by_token_counts", ENUMERATION),
    ("abstract-length-weighting", "protocol-"): (TRAIN + "test_kl_training_with_reference_resets_equals_an_autograd_loop", AUTOGRAD),
    ("abstract-length-weighting", "by-length"): (_NEW + "test_length_weighting_counts_per_length_add_up_and_come_from_the_runs", RECORD),
    ("abstract-length-weighting", "sft-p_dW"): (TRAIN + "test_sft_directions_equal_autograd_of_the_demonstration_loglikelihood", AUTOGRAD),
    ("abstract-length-weighting", "sft-zero-gradient"): (TRAIN + "test_sft_without_reflection_never_moves_the_resample_when_wrong_logit", SYMBOLIC),
    ("sec4-empirical", "run-"): _EMPIRICAL,
    ("sec4-empirical", "seeds"): (REP + "test_pooling_rule_per_seed_verdicts_and_leave_one_seed_out", HAND),
    ("sec4-empirical", "recipes"): ("tests/test_reflection_recipes.py::test_committed_recipes_table_recomputed_from_the_runs", IDENTITY),
    ("sec4-empirical", "confirmatory"): ("tests/test_reflection_recipes.py::test_committed_confirmatory_table_recomputed_from_the_runs", IDENTITY),
}

_METRICS = (FREP + "test_metrics_equal_hand_counts_and_enumerated_predictions", HAND)
_CI = (FREP + "test_bootstrap_ci_recomputed_replicate_by_replicate", ENUMERATION)
_DIFF = (FREP + "test_paired_difference_recomputed_replicate_by_replicate", ENUMERATION)
_GAIN = (FREP + "test_gain_split_equals_the_shapley_subset_formula", ENUMERATION)
_TABLE = (FREP + "test_results_table_cells_are_the_metric_and_its_interval", IDENTITY)
_SMOKE = (REP + "test_smoke_preset_end_to_end", RECORD)
_METRIC_KEYS = ("accuracy", "p_s", "p_dC", "p_dW", "p_retry", "pass_at_T", "predicted_T", "predicted_inf",
                "predicted_T_retry")
_COLUMNS = ("model", "n", "split", "accuracy", "p_s", "p_dC", "p_dW", "p_retry", "pass@T", "predicted (T)",
            "predicted (T->oo)", "predicted (T, p_retry)")

RESULTS: dict[str, tuple[str, str]] = {
    **{f"models.*.*.metrics.{k}": _METRICS for k in _METRIC_KEYS},
    **{f"models.*.*.ci.{k}[]": _CI for k in _METRIC_KEYS},
    **{f"diffs.*.{k}[]": _DIFF for k in _METRIC_KEYS},
    **{f"gains.*.{k}": _GAIN for k in ("total", "p_s", "p_dC", "p_dW", "sampling", "decision")},
    **{f"gains_retry.*.{k}": _GAIN for k in ("total", "p_s", "p_retry", "p_dC", "p_dW", "sampling", "decision")},
    **{f"table[].{c}": _TABLE for c in _COLUMNS},
    # the per-stage attribution recorded during training: the probe's own figures (tests/test_figures_probe.py)
    **{f"attribution[].{k}": (FPRB + "test_probe_figures_equal_a_separate_forward", AUTOGRAD)
       for k in ("sampling", "decision", "ratio", "cosine")},
    **{f"attribution[].{k}": _SMOKE for k in ("phase", "step", "objective")},
    **{f"rl_log[].{k}": _SMOKE for k in ("step", "n")},
    # the training logs: a logged value is the loss before that step's update, and no run stores those weights, so
    # the tests re-run the logging code for a few smoke steps and recompute each logged value from a separate forward
    "final_losses.*": (FREP + "test_logged_sft_loss_is_the_token_mean_nll_of_a_separate_forward", AUTOGRAD),
    "rl_log[].reward": (FREP + "test_rl_log_reward_pg_kl_recomputed_at_each_logged_step", HAND),
    "rl_log[].pg": (FREP + "test_rl_log_reward_pg_kl_recomputed_at_each_logged_step", HAND),
    "rl_log[].kl": (FREP + "test_rl_log_reward_pg_kl_recomputed_at_each_logged_step", AUTOGRAD),
    "status": _SMOKE, "description": _SMOKE, "preset.*": _SMOKE, "preset.*[]": _SMOKE, "figures[]": _SMOKE,
    "seconds.*": _SMOKE,
    # how a run was made: the environment is a record; the fingerprint is recomputed by a standalone re-run of the
    # first base steps (tests/test_run_fingerprint.py)
    **{f"environment.{k}": ("tests/test_run_fingerprint.py::test_the_run_records_the_fingerprint_its_first_steps_give",
                            RECORD)
       for k in ("code commit", "uncommitted code changes", "python", "torch", "transformers", "numpy",
                 "cpu capability", "cpu vendor", "cpu model", "mkl", "threads")},
    **{f"fingerprint.{k}": ("tests/test_run_fingerprint.py::test_the_run_records_the_fingerprint_its_first_steps_give",
                            IDENTITY) for k in ("base losses[]", "base steps", "base weights")},
}

_PROBE = (FPRB + "test_probe_figures_equal_a_separate_forward", AUTOGRAD)
_PROBE_TABLE = (FPRB + "test_probe_table_prints_the_attribution", IDENTITY)
_PROBE_JSON = (FPRB + "test_probe_json_is_the_attribution_of_the_same_model", IDENTITY)
_TOKENS = ("tests/test_probe.py::test_token_counts_per_stage", IDENTITY)

PROBE: dict[str, tuple[str, str]] = {
    **{f"objectives[].result.norms.{k}": _PROBE for k in ("sampling", "decision", "total")},
    **{f"objectives[].result.{k}": _PROBE for k in ("ratio", "inner", "cosine")},
    **{f"objectives[].result.groups.*.{k}": _PROBE for k in ("sampling", "decision")},
    **{f"objectives[].result.tokens.{k}": _TOKENS for k in ("sampling", "decision")},
    "objectives[].name": _PROBE_JSON, "objectives[].options.*": _PROBE_JSON, "objectives[].options.*[]": _PROBE_JSON,
    "parameters": _PROBE_JSON,
    **{k: _PROBE_JSON for k in ("model", "size", "dtype", "device", "batch", "attempt")},  # the arguments, echoed
    **{f"table:{row}.{col}": _PROBE_TABLE for row in ("*", "all", "tokens") for col in ("sampling", "decision", "ratio")},
    **{f"table:cross-term.{k}": _PROBE_TABLE for k in ("<g_s, g_d>", "cosine", "||g||")},
}

# `dsproof probe --checkpoint DIR --rollouts FILE --compare DIR2`: each checkpoint's attribution is the probe of
# rollouts (numerics.rollouts.probe_rollouts, against one per-stage backward on the whole file); the difference and
# its CI against replicates recomputed with separate backwards on each resampled file
_ROLL = "tests/test_rollouts.py::"
_ROLL_STAGES = (_ROLL + "test_figures_equal_an_independent_per_stage_backward", AUTOGRAD)
_ROLL_COMPARE = (_ROLL + "test_compare_difference_and_bootstrap_ci", ENUMERATION)
_ROLL_ECHO = (_ROLL + "test_compare_difference_and_bootstrap_ci", RECORD)
_ROLL_TABLE = (_ROLL + "test_probe_table_through_the_cli", IDENTITY)

ROLLOUTS: dict[str, tuple[str, str]] = {
    **{f"objectives[].{side}.norms.{k}": _ROLL_STAGES for side in ("result", "compare")
       for k in ("sampling", "decision", "total")},
    **{f"objectives[].{side}.{k}": _ROLL_STAGES for side in ("result", "compare") for k in ("ratio", "inner", "cosine")},
    **{f"objectives[].{side}.groups.*.{k}": _ROLL_STAGES for side in ("result", "compare")
       for k in ("sampling", "decision")},
    **{f"objectives[].{side}.tokens.{k}": _ROLL_STAGES for side in ("result", "compare")
       for k in ("sampling", "decision")},
    **{f"objectives[].{k}": _ROLL_COMPARE for k in ("difference", "ci[]", "bootstrap_undefined", "bootstrap_clusters",
                                                    "bootstrap_rollouts")},
    "probed": (_ROLL + "test_compare_difference_and_bootstrap_ci", HAND),
    "skipped.*": (_ROLL + "test_segmentation_matches_hand_marked_spans", HAND),
    **{k: _ROLL_ECHO for k in ("checkpoint", "compare", "rollouts", "dtype", "micro_batch", "objectives[].key",
                               "objectives[].name", "objectives[].options.*", "objectives[].options.*[]",
                               "objectives[].bootstrap", "objectives[].ci_level")},
    **{f"table:{row}.{col}": _ROLL_TABLE for row in ("*", "all", "tokens") for col in ("sampling", "decision", "ratio")},
    **{f"table:cross-term.{k}": _ROLL_TABLE for k in ("<g_s, g_d>", "cosine", "||g||")},
    **{f"compare:{k}": _ROLL_TABLE for k in ("ratio", "ratio (compare)", "difference", "ci", "rollouts", "units",
                                             "resamples", "undefined")},
}

_CLAIM = ("tests/test_notebooks.py::test_every_claim_has_an_anchored_section", RECORD)  # shows the ledger's rows
_NB_RUN = ("tests/test_notebooks.py::test_notebooks_execute_cleanly", RECORD)

NOTEBOOKS: dict[tuple[str, str], tuple[str, str]] = {
    ("01_factorisation", "show_expr('\\\\log P(\\\\tau)', lemma['log_P'])"): (TRJ + "test_lemma_3_1_residual_is_zero", SYMBOLIC),
    ("01_factorisation", "show_expr('\\\\mathrm{residual}', lemma['residual'])"): (TRJ + "test_lemma_3_1_residual_is_zero", SYMBOLIC),
    ("01_factorisation", "show_expr('\\\\log P_T', log_factorised(T_sym))"): (CF + "test_lemma_3_1_and_corollary_3_1_for_every_T", SYMBOLIC),
    ("01_factorisation", "(lemma_3_1_induction(), corollary_3_1_general())"): (CF + "test_lemma_3_1_and_corollary_3_1_for_every_T", SYMBOLIC),
    ("01_factorisation", "show_expr('\\\\sum_\\\\tau P(\\\\tau) - 1', crosscheck.toy_model(3, (1, 1, 1)).total_probability() - 1, simplify=True)"): (TOY + "test_probabilities_sum_to_one_and_J_two_ways", ENUMERATION),
    ("01_factorisation", "show_claim('lemma-3.1')"): _CLAIM,
    ("01_factorisation", "show_terms(corollary_3_1(episode, parameterisation('shared', m=1)))"): (TRJ + "test_corollary_split_and_norm_identity", SYMBOLIC),
    ("01_factorisation", "show_claim('cor-3.1')"): _CLAIM,
    ("01_factorisation", "show_expr('E[g_{sampling} g_{decision}^T]', m.expected_score_product('sampling', 'decision'))"): (TOY + "test_fisher_cross_block_vanishes_hessian_cross_block_does_not", SYMBOLIC),
    ("01_factorisation", "show_terms(m.hessian_cross_terms(m.J_backward, 'Corollary 3.1'), simplify=True)"): (TOY + "test_fisher_cross_block_vanishes_hessian_cross_block_does_not", SYMBOLIC),
    ("01_factorisation", "show_claim('cross-terms')"): _CLAIM,
    ("02_surrogate", "show_terms(surrogate_theory.expected_stage_gradient(m, 'seq-mean-token-sum'), simplify=True)"): (OBJ + "test_practised_surrogate_equals_symbolic", AUTOGRAD),
    ("02_surrogate", "show_expr('Q_d / Q_{sample}', surrogate_theory.discounted_q_ratio(L_k, gamma))"): (FLED + "test_discounted_q_ratio_hand_value", HAND),
    ("02_surrogate", "show_claim('thm-3.1')"): _CLAIM,
    ("02_surrogate", "show_claim('thm-3.1-norms')"): _CLAIM,
    ("02_surrogate", "show_claim('thm-3.1-practised')"): _CLAIM,
    ("03_kl", "show_expr('\\\\mathrm{KL}(P_\\\\theta \\\\| P_{ref})', m.kl_sequence)"): (TOY + "test_chain_rule_kl_equals_definition", ENUMERATION),
    ("03_kl", "show_terms(kl_theory.kl_exact_terms(m))"): (OBJ + "test_kl_placements_against_theory", AUTOGRAD),
    ("03_kl", "show_terms(kl_theory.future_kl_cross_term(m))"): (CF + "test_future_kl_is_the_whole_decision_gradient_when_decisions_match_the_reference", AUTOGRAD),
    ("03_kl", "show_expr('E[N]', c.expected_attempts)"): (CF + "test_closed_form_equals_enumeration", ENUMERATION),
    ("03_kl", "show_expr('\\\\mathrm{KL}_T', c.kl_sequence)"): (CF + "test_closed_form_kl_equals_token_level_definition", ENUMERATION),
    ("03_kl", "show_claim('thm-3.2')"): _CLAIM,
    ("03_kl", "show_terms(kl_theory.kl_partial_terms(m))"): (OBJ + "test_kl_placements_against_theory", AUTOGRAD),
    ("03_kl", "show_claim('thm-3.2-practised')"): _CLAIM,
    ("03_kl", "show_scaling_table()"): _HAND_LEAD,
    ("03_kl", "ratio_vs_length()"): (LIMITS + "test_ratio_vs_length_figure_curves", AUTOGRAD),
    ("03_kl", "show_claim('def-3.1')"): _CLAIM,
    ("04_sft_dft", "show_expr('\\\\mathrm{share}_d', sft_theory.stage_share(2 * L, 2))"): (FLED + "test_sft_dft_decision_share_hand_values", HAND),
    ("04_sft_dft", "show_terms(sft_theory.implicit_reward_identities(3))"): (FLED + "test_sft_and_dft_implicit_reward_identities", AUTOGRAD),
    ("04_sft_dft", "show_claim('appD-sft-dft')"): _CLAIM,
    ("05_toy_model", "show_expr('J', m.J_backward)"): (TOY + "test_probabilities_sum_to_one_and_J_two_ways", ENUMERATION),
    ("05_toy_model", "show_expr('J_{enumerated} - J_{backward}', m.J_enumerated - m.J_backward, simplify=True)"): (TOY + "test_probabilities_sum_to_one_and_J_two_ways", ENUMERATION),
    ("05_toy_model", "show_expr('E[\\\\#\\\\mathrm{attempts}]', m.expected_attempts)"): (CF + "test_closed_form_equals_enumeration", ENUMERATION),
    ("05_toy_model", "FIG1_SETTINGS"): _NB_RUN,
    ("05_toy_model", "show_claim('appC-toy')"): _CLAIM,
    ("06_calibration", "show_expr('\\\\mathrm{acc}_\\\\infty', calibration_theory.predicted_accuracy())"): (CAL + "test_limit_is_the_paper_formula", SYMBOLIC),
    ("06_calibration", "show_expr('\\\\mathrm{acc}_T', calibration_theory.predicted_accuracy_budget())"): (CAL + "test_finite_budget_formula_is_the_toy_model", SYMBOLIC),
    ("06_calibration", "show_expr('\\\\lim_{T\\\\to\\\\infty} \\\\mathrm{acc}_T', calibration_theory.budget_limit())"): (CAL + "test_limit_is_the_paper_formula", SYMBOLIC),
    ("06_calibration", "show_expr('\\\\mathrm{acc}_T - \\\\mathrm{acc}_\\\\infty', calibration_theory.budget_gap())"): (CF + "test_budget_gap_closed_form", SYMBOLIC),
    ("06_calibration", "show_expr('\\\\mathrm{acc}_3(p_s, p_r)', calibration_theory.predicted_accuracy_retry(3))"): (CAL + "test_retry_formula_is_the_enumerated_process", ENUMERATION),
    ("06_calibration", "show_expr('\\\\mathrm{acc}_3(p_s, p_s) - \\\\mathrm{acc}_3', calibration_theory.predicted_accuracy_retry(3, calibration_theory.p_s, calibration_theory.p_s) - calibration_theory.predicted_accuracy_budget(3), simplify=True)"): (CAL + "test_retry_formula_reduces_to_the_budget_formula", SYMBOLIC),
    ("06_calibration", "calibration_theory.prediction_bias()"): (CAL + "test_prediction_bias_is_the_sign_of_the_enumerated_gap", ENUMERATION),
    ("06_calibration", "calibration()"): (CAL + "test_calibration_figure_curves_are_the_enumerated_accuracies", ENUMERATION),
    ("06_calibration", "show_claim('calibration-4.2')"): _CLAIM,
    ("07_reproduction", "{name: p.description for name, p in PRESETS.items()}"): _NB_RUN,
    ("07_reproduction", "show_reproduction()"): _TABLE,
    ("07_reproduction", "show_expr('\\\\mathrm{acc}_T', predicted_accuracy_budget())"): (CAL + "test_finite_budget_formula_is_the_toy_model", SYMBOLIC),
    ("07_reproduction", "show_expr('\\\\mathrm{acc}_3(p_s, p_r)', predicted_accuracy_retry(3))"): (CAL + "test_retry_formula_is_the_enumerated_process", ENUMERATION),
    ("07_reproduction", "show_claim('sec4-empirical')"): _CLAIM,
    ("02_surrogate", "show_claim('thm-3.1-discounted')"): _CLAIM,
    ("03_kl", "show_claim('def-3.1-phi')"): _CLAIM,
    ("03_kl", "show_claim('thm-3.2-discounted')"): _CLAIM,
    ("05_toy_model", "appendix_c_map()"): (FIG1 + "test_sweep_rows_equal_an_autograd_training_loop", AUTOGRAD),
    ("05_toy_model", "figure1()"): (FIG1 + "test_default_setting_equals_an_independent_referee_derivation", HAND),
    ("06_calibration", "show_claim('lemma-3.2')"): _CLAIM,
    ("08_training", "show_claim('abstract-length-weighting')"): _CLAIM,
    ("08_training", "show_claim('grpo-groups')"): _CLAIM,
    ("08_training", "show_claim('sec5-feedback')"): _CLAIM,
    ("08_training", "show_expr('P(\\\\text{no gradient})', grpo_theory.zero_gradient_probability(8))"): (GRPO + "test_zero_gradient_probability_and_all_equal_groups_give_nothing", ENUMERATION),
    ("08_training", "show_expr('\\\\kappa(4, \\\\mathrm{acc})', grpo_theory.kappa(4, 'unbiased'), simplify=True)"): (GRPO + "test_expected_group_update_is_kappa_times_grad_J", ENUMERATION),
    ("08_training", "show_expr('\\\\lim_{\\\\mathrm{acc}\\\\to 0}\\\\kappa(G, \\\\mathrm{acc})', grpo_theory.kappa_at_zero_accuracy(grpo_theory.G_sym, 'unbiased'))"): (GRPO + "test_kappa_limits_and_dr_grpo_constant", SYMBOLIC),
    ("08_training", "show_expr('\\\\nabla_{(\\\\theta_s, \\\\theta_{dC}, \\\\theta_{dW})} \\\\log P(\\\\mathrm{demo})', correct_demonstration_gradient(L))"): (TRAIN + "test_sft_directions_equal_autograd_of_the_demonstration_loglikelihood", AUTOGRAD),
    ("08_training", "show_expr('p_{dC}^*', feedback_theory.rft_fixed_point(2, 2)['p_dC'], simplify=True)"): (FEED + "test_fixed_point_matches_token_counts_of_the_enumeration", ENUMERATION),
    ("08_training", "show_expr('p_{dW}^*', feedback_theory.rft_fixed_point(2, 2)['p_dW'], simplify=True)"): (FEED + "test_fixed_point_matches_token_counts_of_the_enumeration", ENUMERATION),
    ("08_training", "show_expr('q^*', feedback_theory.rft_fixed_point(2, 2)['q'], simplify=True)"): (FEED + "test_fixed_point_matches_token_counts_of_the_enumeration", ENUMERATION),
}

GAPS: dict = {
}
