(** * KLValues: the limit of Theorem 3.2's KL attribution ratio at the witness point, numerically

    At theta = (0.8, 0.5, 0.2), reference logits (0.5, 0.2, -0.1) (the point of
    [KLLimit.witness_theorem_3_2_kl_ratio_limit]) the limit [ratio_limit T] is
    40.308... (T = 2), 22.942... (T = 3), 17.459... (T = 4), matching dsproof's sympy values.
    Along the fixed-p_s paths through that point ([KLFixedPs]): 0.2459... (fixed-p_s-ref, every T) and
    3.059... (T = 2), 2.465... (T = 3), 2.320... (T = 4) (fixed-p_s, Delta = 0.3).

    The bounds are proved with the Interval library's tactic, instantiated on floats with [Z] mantissas
    ([Specific_stdz]) so that no primitive-integer or primitive-float axiom enters the proof (the library's
    default instance uses them).  [coqchk] re-checks these reflexive proofs without a virtual machine and
    takes very long on them: this file is kept apart so the other files can be checked quickly. *)

From Coq Require Import Reals Lra.
From Interval Require Import Tactic Float.Specific_ops Float.Specific_stdz.
From DSProof Require Import ToyKL KLDerive KLLimit KLFixedPs.
Local Open Scope R_scope.

Module SFZ := SpecificFloat StdZRadix2.
Module ITZ := IntervalTactic SFZ.
Ltac interval_Z := ITZ.Private.do_interval (cons (i_prec 60) nil).

Theorem witness_ratio_limit_values :
  let q := sigmoid (8 / 10) in let pW := sigmoid (2 / 10) in let qr := sigmoid (5 / 10) in
  40.30 < ratio_limit 2 q pW qr < 40.31 /\
  22.94 < ratio_limit 3 q pW qr < 22.95 /\
  17.45 < ratio_limit 4 q pW qr < 17.46.
Proof.
  intros q pW qr.
  unfold ratio_limit, E_lim, dE_lim, kl_tok_dlogit, kl_bern, q, pW, qr, sigmoid.
  simpl sum_below. simpl INR.
  repeat split; interval_Z.
Qed.

Theorem witness_ratio_limit_values_fixed_ps :
  let P := sigmoid (8 / 10) in let pC := sigmoid (5 / 10) in let pW := sigmoid (2 / 10) in
  let pCr := sigmoid (2 / 10) in let pWr := sigmoid (- (1 / 10)) in let Delta := 3 / 10 in
  0.2459 < ratio_limit_fixed_ps_ref P pC pW < 0.2460 /\
  3.059 < ratio_limit_fixed_ps 2 P Delta pC pW pCr pWr < 3.060 /\
  2.465 < ratio_limit_fixed_ps 3 P Delta pC pW pCr pWr < 2.466 /\
  2.319 < ratio_limit_fixed_ps 4 P Delta pC pW pCr pWr < 2.321.
Proof.
  intros P pC pW pCr pWr Delta.
  unfold ratio_limit_fixed_ps_ref, ratio_limit_fixed_ps, fixed_ps_grad_s, fixed_ps_grad_dC,
    fixed_ps_grad_dW.
  simpl pred. simpl h1. simpl K1.
  unfold kappa_fixed_ps, beta_lim, kl_bern, dkl_bern, P, pC, pW, pCr, pWr, Delta, sigmoid.
  repeat split; interval_Z.
Qed.
