(** * Calibration.v -- the §4.2 calibration formula, from the process.

    The §4.2 model as an instance of the general process of Process.v: vocabulary {true, false}; an
    attempt is one token (true: the attempt's answer is correct), independent of the past, correct with
    probability p_s; a decision is one token (true: STOP, false: RESAMPLE), STOP with probability p_dC after
    a correct attempt and RESAMPLE with probability p_dW after a wrong one; budget T (after attempt T the
    episode is capped).  f_T is the probability that the final answer is correct: the sum over the
    process's trajectories of P(tau) * 1[last attempt correct].  The closed form, its limit (the paper's
    formula p_s p_dC / (1 - b)) and the sign of f_T - f_oo are theorems about that sum. *)

From Coq Require Import Reals Lra List Lia Arith.
From Coquelicot Require Import Coquelicot.
From DSProof Require Import Process Tree Factorisation Surrogate.
Import ListNotations.
Open Scope R_scope.

Definition toy_process : process bool := {|
  alphabet := [true; false];
  attempt_shape := fun (_ : list bool) => More (fun (_ : bool) => Done EndOfAttempt);
  decision_shape := fun (_ : list bool) => More (fun (y : bool) => Done (if y then STOP else RESAMPLE))
|}.

(** The policy: at an attempt position (even prefix length: attempts and decisions alternate, one token
    each) the token is correct with probability p_s; at a decision position (odd length) STOP has
    probability p_dC if the attempt just made (the last token) was correct, 1 - p_dW if it was wrong. *)
Definition toy_policy (ps pdC pdW : R) (h : list bool) (y : bool) : R :=
  if Nat.even (length h) then (if y then ps else 1 - ps)
  else let p_stop := if last h false then pdC else 1 - pdW in
       if y then p_stop else 1 - p_stop.

(** 1[the final answer is correct]: the last attempt's token. *)
Definition correct (e : episode bool) : R :=
  match last_attempt e with
  | [true] => 1
  | _ => 0
  end.

(** f_T: the probability that the final answer is correct, budget T. *)
Definition f_T (ps pdC pdW : R) (T : nat) : R := expect toy_process (toy_policy ps pdC pdW) T correct.

(** b = P(RESAMPLE) after one attempt; the paper's unlimited-retry prediction f_oo. *)
Definition cont_prob (ps pdC pdW : R) : R := ps * (1 - pdC) + (1 - ps) * pdW.
Definition f_oo (ps pdC pdW : R) : R := ps * pdC / (1 - cont_prob ps pdC pdW).

(** ** The model is what it says *)

Lemma toy_policy_normalised ps pdC pdW h : lsum (toy_policy ps pdC pdW h) (alphabet toy_process) = 1.
Proof.
  unfold toy_policy; simpl. destruct (Nat.even (length h)); [|destruct (last h false)]; ring.
Qed.

Lemma toy_policy_nonneg ps pdC pdW h y :
  0 <= ps <= 1 -> 0 <= pdC <= 1 -> 0 <= pdW <= 1 -> 0 <= toy_policy ps pdC pdW h y.
Proof.
  intros Hs HC HW; unfold toy_policy. destruct (Nat.even (length h)); [|destruct (last h false)];
    destruct y; lra.
Qed.

(** Every trajectory alternates attempt and decision tokens, so the parity of the prefix length is the
    stage of the next token. *)
Lemma toy_mask_alternates T h e :
  In e (episodes toy_process T h) ->
  exists n, mask e = firstn (length (tokens e)) (concat (repeat [Sampling; Decision] n)).
Proof.
  revert h e; induction T as [|T IH]; intros h e He;
    destruct (episodes_inv toy_process _ h e He) as [T' [a [ET [Ha Hcase]]]]; [discriminate|].
  injection ET as <-. simpl in Ha.
  destruct Ha as [Ea|[Ea|[]]]; injection Ea as <-;
  (destruct Hcase as [[_ ->] | [[_ [d [Hd ->]]] | [_ [d [r [Hd [Hr ->]]]]]]];
   [exists 1%nat; reflexivity
   | simpl in Hd; destruct Hd as [Ed|[Ed|[]]]; injection Ed as <-; try discriminate; exists 1%nat; reflexivity
   | simpl in Hd; destruct Hd as [Ed|[Ed|[]]]; injection Ed as <-; try discriminate;
     destruct (IH _ _ Hr) as [n Hn]; exists (S n); cbn [mask tokens length repeat app concat firstn];
     rewrite Hn; reflexivity]).
Qed.

(** ** f_T by its recursion over the first attempt and decision *)

Section Recursion.
Variables ps pdC pdW : R.
Let pi := toy_policy ps pdC pdW.

Fixpoint G (n : nat) : R :=
  match n with
  | O => ps
  | S n' => ps * pdC + cont_prob ps pdC pdW * G n'
  end.

Lemma even_app2 (h : list bool) c d : Nat.even (length (h ++ [c] ++ [d])) = Nat.even (length h).
Proof.
  rewrite !app_length; simpl. replace (length h + S 1)%nat with (S (S (length h))) by lia.
  reflexivity.
Qed.

Lemma pi_attempt h y : Nat.even (length h) = true -> pi h y = if y then ps else 1 - ps.
Proof. intros He; unfold pi, toy_policy; rewrite He; reflexivity. Qed.

Lemma pi_decision h c y : Nat.even (length h) = true ->
  pi (h ++ [c]) y = (if y then (if c then pdC else 1 - pdW) else 1 - (if c then pdC else 1 - pdW)).
Proof.
  intros He; unfold pi, toy_policy.
  rewrite app_length, Nat.add_1_r, Nat.even_succ, <- Nat.negb_even, He, last_last; reflexivity.
Qed.

Lemma f_recursion n h :
  Nat.even (length h) = true -> eE toy_process pi (S n) h correct = G n.
Proof.
  revert h; induction n as [|n IH]; intros h He.
  - rewrite eE_1. cbn [attempt_shape toy_process]. rewrite sE_More. cbn [lsum fold_right alphabet toy_process].
    rewrite !sE_Done. cbv beta. rewrite !pi_attempt by exact He. cbn [correct last_attempt G]; ring.
  - rewrite eE_SS. cbn [attempt_shape decision_shape toy_process]. rewrite sE_More.
    cbn [lsum fold_right alphabet toy_process]. rewrite !sE_Done. cbv beta.
    rewrite !sE_More. cbn [lsum fold_right alphabet toy_process]. rewrite !sE_Done. cbv beta.
    rewrite !(eE_ext _ _ _ _ (fun r => correct (Resampled _ _ r)) correct) by reflexivity.
    rewrite !IH by (rewrite even_app2; exact He).
    rewrite !pi_decision by exact He. rewrite !pi_attempt by exact He.
    cbn [correct last_attempt G]; unfold cont_prob; ring.
Qed.

Lemma f_T_G n : f_T ps pdC pdW (S n) = G n.
Proof. apply (f_recursion n []); reflexivity. Qed.

Lemma lsum_geom_S (q : R) n : lsum (fun k => q ^ k) (seq 0 (S n)) = 1 + q * lsum (fun k => q ^ k) (seq 0 n).
Proof.
  replace (seq 0 (S n)) with (0%nat :: map S (seq 0 n)) by (simpl; rewrite seq_shift; reflexivity).
  rewrite lsum_cons, lsum_map, <- lsum_scal. f_equal; try reflexivity; try (apply lsum_ext; intros k; simpl; ring).
Qed.

Lemma G_polynomial n :
  G n = ps * pdC * lsum (fun k => cont_prob ps pdC pdW ^ k) (seq 0 n) + cont_prob ps pdC pdW ^ n * ps.
Proof.
  induction n as [|n IH]; [simpl; ring|].
  cbn [G]. rewrite IH, lsum_geom_S. simpl; ring.
Qed.

Lemma G_closed n :
  cont_prob ps pdC pdW <> 1 ->
  G n = ps * pdC * (1 - cont_prob ps pdC pdW ^ n) / (1 - cont_prob ps pdC pdW) + cont_prob ps pdC pdW ^ n * ps.
Proof.
  intros Hb. assert (1 - cont_prob ps pdC pdW <> 0) by (intro; apply Hb; lra).
  induction n as [|n IH]; [simpl; field; exact H|].
  cbn [G]. rewrite IH. simpl. field. exact H.
Qed.

End Recursion.

(** The closed form without a division, valid for every real p_s, p_dC, p_dW:
    f_T = a * sum_{k < T-1} b^k + b^(T-1) p_s. *)
Lemma calibration_polynomial ps pdC pdW T :
  (1 <= T)%nat ->
  f_T ps pdC pdW T = ps * pdC * lsum (fun k => cont_prob ps pdC pdW ^ k) (seq 0 (T - 1))
                     + cont_prob ps pdC pdW ^ (T - 1) * ps.
Proof.
  intros HT; destruct T as [|n]; [lia|]. rewrite f_T_G, G_polynomial. simpl; rewrite Nat.sub_0_r; ring.
Qed.

(** f_T - f_oo = - p_s (1 - p_s) (p_dC + p_dW - 1) b^(T-1) / (1 - b), for b <> 1. *)
Lemma calibration_gap ps pdC pdW T :
  (1 <= T)%nat -> cont_prob ps pdC pdW <> 1 ->
  f_T ps pdC pdW T - f_oo ps pdC pdW =
  - (ps * (1 - ps) * (pdC + pdW - 1) * cont_prob ps pdC pdW ^ (T - 1) / (1 - cont_prob ps pdC pdW)).
Proof.
  intros HT Hb; destruct T as [|n]; [lia|]. assert (1 - cont_prob ps pdC pdW <> 0) by (intro; apply Hb; lra).
  rewrite f_T_G, G_closed by exact Hb. simpl; rewrite Nat.sub_0_r. unfold f_oo.
  unfold cont_prob in *. field. exact H.
Qed.

Lemma calibration_budget_sign_general ps pdC pdW T :
  (1 <= T)%nat -> 0 < ps < 1 -> 0 < cont_prob ps pdC pdW < 1 ->
  (f_T ps pdC pdW T < f_oo ps pdC pdW <-> pdC + pdW > 1).
Proof.
  intros HT Hs Hb.
  assert (HK : 0 < ps * (1 - ps) * cont_prob ps pdC pdW ^ (T - 1) / (1 - cont_prob ps pdC pdW)).
  { unfold Rdiv. apply Rmult_lt_0_compat; [apply Rmult_lt_0_compat; [apply Rmult_lt_0_compat|]|]; try lra.
    - apply pow_lt; lra.
    - apply Rinv_0_lt_compat; lra. }
  assert (Hg := calibration_gap ps pdC pdW T HT ltac:(lra)).
  set (K := ps * (1 - ps) * cont_prob ps pdC pdW ^ (T - 1) / (1 - cont_prob ps pdC pdW)) in HK.
  assert (Hg' : f_T ps pdC pdW T - f_oo ps pdC pdW = - (K * (pdC + pdW - 1))).
  { rewrite Hg; unfold K, Rdiv; ring. }
  split; intros H.
  - destruct (Rle_or_lt (pdC + pdW) 1) as [Hle|Hlt]; [|lra].
    assert (0 <= K * (1 - (pdC + pdW))) by (apply Rmult_le_pos; lra). lra.
  - assert (0 < K * (pdC + pdW - 1)) by (apply Rmult_lt_0_compat; lra). lra.
Qed.

(** ** Headline theorems *)

(** Paper §4.2, finite budget: f_T = a (1 - b^(T-1)) / (1 - b) + b^(T-1) p_s with a = p_s p_dC and
    b = p_s (1 - p_dC) + (1 - p_s) p_dW, for every budget T >= 1 and all reals with b <> 1 (the
    denominator's non-vanishing is a hypothesis; [calibration_polynomial] is the division-free form). *)
Theorem calibration_closed_form :
  forall (ps pdC pdW : R) (T : nat),
  (1 <= T)%nat -> cont_prob ps pdC pdW <> 1 ->
  f_T ps pdC pdW T =
  ps * pdC * (1 - cont_prob ps pdC pdW ^ (T - 1)) / (1 - cont_prob ps pdC pdW)
  + cont_prob ps pdC pdW ^ (T - 1) * ps.
Proof.
  intros ps pdC pdW T HT Hb; destruct T as [|n]; [lia|].
  rewrite f_T_G, G_closed by exact Hb. simpl; rewrite Nat.sub_0_r; reflexivity.
Qed.

(** Paper §4.2: with unlimited retries (T -> oo) the probability of a correct final answer tends to the
    paper's prediction p_s p_dC / (1 - b), whenever |b| < 1 (in particular for 0 <= b < 1). *)
Theorem calibration_limit :
  forall (ps pdC pdW : R),
  Rabs (cont_prob ps pdC pdW) < 1 ->
  is_lim_seq (fun T => f_T ps pdC pdW T) (Finite (f_oo ps pdC pdW)).
Proof.
  intros ps pdC pdW Hb.
  set (b := cont_prob ps pdC pdW) in *.
  assert (Hb1 : b <> 1) by (intro E; rewrite E, Rabs_R1 in Hb; lra).
  assert (H1b : 1 - b <> 0) by (intro; apply Hb1; lra).
  apply is_lim_seq_incr_1.
  apply (is_lim_seq_ext (fun n => ps * pdC / (1 - b) * (1 - b ^ n) + ps * b ^ n)).
  - intros n. rewrite f_T_G, G_closed by exact Hb1. fold b. field. exact H1b.
  - replace (f_oo ps pdC pdW) with (ps * pdC / (1 - b) * (1 - 0) + ps * 0)
      by (unfold f_oo; fold b; field; exact H1b).
    apply is_lim_seq_plus'.
    + apply is_lim_seq_mult'; [apply is_lim_seq_const|].
      apply is_lim_seq_minus'; [apply is_lim_seq_const | apply is_lim_seq_geom; exact Hb].
    + apply is_lim_seq_mult'; [apply is_lim_seq_const | apply is_lim_seq_geom; exact Hb].
Qed.

(** Paper §4.2, the direction of the finite-budget bias: for every budget T >= 1 (T = 1 included,
    f_1 = p_s) and probabilities strictly between 0 and 1, the unlimited-retry formula over-predicts
    (f_T < f_oo) exactly when p_dC + p_dW > 1.  (The hypotheses used are 0 < p_s < 1 and 0 < b < 1, which
    the open-interval hypotheses imply: [calibration_budget_sign_general].) *)
Theorem calibration_budget_sign :
  forall (ps pdC pdW : R) (T : nat),
  0 < ps < 1 -> 0 < pdC < 1 -> 0 < pdW < 1 -> (1 <= T)%nat ->
  (f_T ps pdC pdW T < f_oo ps pdC pdW <-> pdC + pdW > 1).
Proof.
  intros ps pdC pdW T Hs HC HW HT. apply calibration_budget_sign_general; try assumption.
  unfold cont_prob; split; nra.
Qed.
