(** * KLValues: the limit of Theorem 3.2's KL attribution ratio at the witness point, numerically

    At theta = (0.8, 0.5, 0.2), reference logits (0.5, 0.2, -0.1) (the point of
    [KLLimit.witness_theorem_3_2_kl_ratio_limit]) the limit [ratio_limit T] is
    40.308... (T = 2), 22.942... (T = 3), 17.459... (T = 4), matching dsproof's sympy values.

    The bounds are proved with the Interval library's tactic, instantiated on floats with [Z] mantissas
    ([Specific_stdz]) so that no primitive-integer or primitive-float axiom enters the proof (the library's
    default instance uses them).  [coqchk] re-checks these reflexive proofs without a virtual machine and
    takes very long on them: this file is kept apart so the other files can be checked quickly. *)

From Coq Require Import Reals Lra.
From Interval Require Import Tactic Float.Specific_ops Float.Specific_stdz.
From DSProof Require Import ToyKL KLDerive KLLimit.
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
