(** * Surrogate.v -- Theorem 3.1 with gamma = 1 (paper §3.3.1).

    (a) The gradient of the trajectory-level, unclipped surrogate
        L(theta) = E_{tau ~ P_old}[P_theta(tau) / P_old(tau) * A(tau)] at theta = theta_old is
        E_old[A g_S] + E_old[A g_D]: the same A multiplies the sampling and the decision score sums.
    (b) On the autoregressive tree (at every prefix the next-token probabilities sum to 1) a constant
        baseline contributes nothing to each stage separately: E[b g_S] = 0 and E[b g_D] = 0.
        (Normalisation of the trajectory distribution alone gives only E[g_S] + E[g_D] = 0; the per-stage
        statement uses the per-prefix normalisation through the tree lemma [sE_zero_mean].) *)

From Coq Require Import Reals Lra List Lia Arith.
From Coquelicot Require Import Coquelicot.
From DSProof Require Import Process Tree Factorisation.
Import ListNotations.
Open Scope R_scope.

Section Tree_scores.
Context {Tok : Type}.
Variable M : process Tok.
Variable pi0 : list Tok -> Tok -> R.
Variable f : list Tok -> Tok -> R.
Hypothesis Hn : forall h, lsum (pi0 h) (alphabet M) = 1.
Hypothesis Hz : forall h, lsum (fun y => pi0 h y * f h y) (alphabet M) = 0.

Let ssS h (e : episode Tok) := stage_sum Sampling f h (tokens e) (mask e).
Let ssD h (e : episode Tok) := stage_sum Decision f h (tokens e) (mask e).

Lemma eE_const T h c : eE M pi0 T h (fun _ => c) = c * eE M pi0 T h (fun _ => 1).
Proof. rewrite <- eE_scal; apply eE_ext; intros; ring. Qed.

Lemma ss_Stopped st h a d :
  stage_sum st f h (tokens (Stopped a d)) (mask (Stopped a d)) =
  stage_sum st f h a (repeat Sampling (length a)) + stage_sum st f (h ++ a) d (repeat Decision (length d)).
Proof. cbn [tokens mask]. apply stage_sum_app, repeat_length. Qed.

Lemma ss_Resampled st h a d r :
  stage_sum st f h (tokens (Resampled a d r)) (mask (Resampled a d r)) =
  stage_sum st f h a (repeat Sampling (length a)) + stage_sum st f (h ++ a) d (repeat Decision (length d))
  + stage_sum st f (h ++ a ++ d) (tokens r) (mask r).
Proof.
  cbn [tokens mask]. rewrite stage_sum_app by apply repeat_length.
  rewrite stage_sum_app by apply repeat_length. rewrite <- app_assoc; ring.
Qed.

(** Per-stage zero mean on the whole process, any budget, from any history. *)
Lemma episodes_per_stage T h :
  eE M pi0 (S T) h (fun _ => 1) = 1 /\ eE M pi0 (S T) h (ssS h) = 0 /\ eE M pi0 (S T) h (ssD h) = 0.
Proof.
  revert h; induction T as [|T IH]; intros h.
  - rewrite !eE_1. split; [|split].
    + apply sE_one, Hn.
    + unfold ssS; cbn [tokens mask]. rewrite (sE_ext _ _ _ _ _ (fun p _ => seq_sum f h p)).
      * apply sE_zero_mean; assumption.
      * intros p l; apply stage_sum_repeat_same.
    + unfold ssD; cbn [tokens mask]. rewrite (sE_ext _ _ _ _ _ (fun _ _ => 0)).
      * apply sE_zero.
      * intros p l; apply stage_sum_repeat_other; reflexivity.
  - rewrite !eE_SS. split; [|split].
    + rewrite (sE_ext _ _ _ _ _ (fun _ _ => 1)); [apply sE_one, Hn|]. intros a u.
      rewrite (sE_ext _ _ _ _ _ (fun _ _ => 1)); [apply sE_one, Hn|]. intros d l.
      destruct l; [reflexivity|]. apply IH.
    + rewrite (sE_ext _ _ _ _ _ (fun a _ => seq_sum f h a)); [apply sE_zero_mean; assumption|].
      intros a u. rewrite (sE_ext _ _ _ _ _ (fun _ _ => seq_sum f h a)); [apply sE_const, Hn|].
      intros d l. destruct l.
      * unfold ssS; rewrite ss_Stopped, stage_sum_repeat_same, stage_sum_repeat_other by reflexivity; ring.
      * unfold ssS. rewrite (eE_ext _ _ _ _ _ (fun r => seq_sum f h a + ssS (h ++ a ++ d) r)).
        -- rewrite eE_plus, eE_const. destruct (IH (h ++ a ++ d)) as [H1 [H2 H3]].
           rewrite H1, H2; ring.
        -- intros r. rewrite ss_Resampled, stage_sum_repeat_same, stage_sum_repeat_other by reflexivity.
           unfold ssS; ring.
    + rewrite (sE_ext _ _ _ _ _ (fun _ _ => 0)); [apply sE_zero|].
      intros a u. rewrite (sE_ext _ _ _ _ _ (fun d _ => seq_sum f (h ++ a) d)); [apply sE_zero_mean; assumption|].
      intros d l. destruct l.
      * unfold ssD; rewrite ss_Stopped, stage_sum_repeat_same, stage_sum_repeat_other by reflexivity; ring.
      * unfold ssD. rewrite (eE_ext _ _ _ _ _ (fun r => seq_sum f (h ++ a) d + ssD (h ++ a ++ d) r)).
        -- rewrite eE_plus, eE_const. destruct (IH (h ++ a ++ d)) as [H1 [H2 H3]].
           rewrite H1, H3; ring.
        -- intros r. rewrite ss_Resampled, stage_sum_repeat_same, stage_sum_repeat_other by reflexivity.
           unfold ssD; ring.
Qed.

End Tree_scores.

(** The process defines a probability distribution: with per-prefix normalisation the probabilities of
    the trajectories of budget T >= 1 sum to 1. *)
Lemma process_total_probability {Tok : Type} (M : process Tok) (pi0 : list Tok -> Tok -> R) (T : nat) :
  (forall h, lsum (pi0 h) (alphabet M) = 1) -> (1 <= T)%nat -> expect M pi0 T (fun _ => 1) = 1.
Proof.
  intros Hn HT. destruct T as [|T]; [lia|].
  destruct (episodes_per_stage M pi0 (fun _ _ => 0) Hn) with (T := T) (h := @nil Tok) as [H _].
  - intros h. transitivity (lsum (fun _ : Tok => 0) (alphabet M)); [apply lsum_ext; intros; ring|apply lsum_zero].
  - exact H.
Qed.

Section Zero_mean.
Context {Tok : Type}.
Variable M : process Tok.
Variable pi : (nat -> R) -> list Tok -> Tok -> R.
Hypothesis Hpos : forall th h y, 0 < pi th h y.
Hypothesis Hn : forall th h, lsum (pi th h) (alphabet M) = 1.
Variables (theta : nat -> R) (i : nat).
Hypothesis Hdiff : forall h y, ex_derive (fun x => pi (upd theta i x) h y) (theta i).

(** At every prefix: sum_y pi(y|h) d log pi(y|h) = d (sum_y pi(y|h)) = d 1 = 0. *)
Lemma tok_score_zero_mean h : lsum (fun y => pi theta h y * tok_score pi theta i h y) (alphabet M) = 0.
Proof.
  rewrite (lsum_ext _ (fun y => pd i (fun th => pi th h y) theta)) by (intros; apply tok_score_mult; assumption).
  transitivity (Derive (fun x => lsum (fun y => pi (upd theta i x) h y) (alphabet M)) (theta i)).
  - symmetry. apply is_derive_unique.
    apply (is_derive_lsum (alphabet M) (fun y x => pi (upd theta i x) h y)).
    intros y _. apply tok_prob_is_derive; assumption.
  - rewrite (Derive_ext _ (fun _ => 1)) by (intros; apply Hn). apply Derive_const.
Qed.

End Zero_mean.

(** Why part (b) needs the tree.  A flat family of two trajectories whose probabilities are products
    P_k(x) = S_k(x) D_k(x) of a "sampling" and a "decision" factor, normalised as a whole for every x
    (so E[g_S] + E[g_D] = 0), but not built from per-prefix normalised token probabilities:
    S_1 = D_1 = x, S_2 = 1 - x^2, D_2 = 1.  At x = 1/2, E[g_S] = -1/2 and E[g_D] = 1/2: the per-stage
    statement fails although the family is a distribution. *)
Lemma flat_set_counterexample :
  (forall x : R, x * x + (1 - x ^ 2) * 1 = 1)
  /\ (1/2) * (1/2) * Derive (fun t => ln t) (1/2)
     + (1 - (1/2) ^ 2) * 1 * Derive (fun t => ln (1 - t ^ 2)) (1/2) = - (1/2)
  /\ (1/2) * (1/2) * Derive (fun t => ln t) (1/2)
     + (1 - (1/2) ^ 2) * 1 * Derive (fun t => ln 1) (1/2) = 1/2.
Proof.
  assert (H1 : Derive (fun t => ln t) (1/2) = 2).
  { apply is_derive_unique. pose proof (is_derive_ln (1/2) ltac:(lra)) as H.
    replace (/ (1/2)) with 2 in H by field. exact H. }
  assert (H2 : Derive (fun t => ln (1 - t ^ 2)) (1/2) = - (4/3)).
  { apply is_derive_unique. auto_derive; [simpl; lra|]. simpl; field. }
  assert (H3 : Derive (fun t => ln 1) (1/2) = 0) by apply Derive_const.
  rewrite H1, H2, H3. split; [intros; simpl; ring|]. split; simpl; field.
Qed.

(** ** Headline theorems *)

(** Paper Theorem 3.1 (§3.3.1), gamma = 1, part (a): the gradient of the trajectory-level unclipped
    surrogate at theta = theta_old is E_old[A g_S] + E_old[A g_D], the same A on both stage sums, for any
    real function A of the trajectory, any process and budget.  Hypotheses: token probabilities positive
    (so P_old > 0 and the ratio is defined), differentiable along coordinate i at theta_old. *)
Theorem theorem_3_1_surrogate_gradient :
  forall (Tok : Type) (M : process Tok) (pi : (nat -> R) -> list Tok -> Tok -> R) (T : nat)
         (A : episode Tok -> R) (theta_old : nat -> R) (i : nat),
  (forall th h y, 0 < pi th h y) ->
  (forall h y, ex_derive (fun x => pi (upd theta_old i x) h y) (theta_old i)) ->
  pd i (surrogate pi M T A theta_old) theta_old
  = expect M (pi theta_old) T (fun e => A e * score_S pi theta_old i e)
    + expect M (pi theta_old) T (fun e => A e * score_D pi theta_old i e).
Proof.
  intros Tok M pi T A theta i Hpos Hdiff.
  unfold expect. rewrite <- lsum_plus.
  unfold pd, surrogate, expect. apply is_derive_unique.
  apply (is_derive_lsum (episodes M T [])
           (fun e x => traj_prob (pi theta) e * (traj_prob (pi (upd theta i x)) e / traj_prob (pi theta) e * A e))).
  intros e _.
  assert (HP : traj_prob (pi theta) e <> 0) by (apply Rgt_not_eq, traj_prob_pos; exact Hpos).
  apply (is_derive_ext_R (fun x => (traj_prob (pi theta) e * / traj_prob (pi theta) e * A e)
                                 * traj_prob (pi (upd theta i x)) e)).
  - intros x; unfold Rdiv; ring.
  - pose proof (is_derive_scal _ _ (traj_prob (pi theta) e * / traj_prob (pi theta) e * A e) _
                  (seq_prob_is_derive pi Hpos theta i Hdiff [] (tokens e))) as H.
    replace (traj_prob (pi theta) e * (A e * score_S pi theta i e) +
             traj_prob (pi theta) e * (A e * score_D pi theta i e))
      with (traj_prob (pi theta) e * / traj_prob (pi theta) e * A e *
            (seq_prob (pi theta) [] (tokens e) * seq_sum (tok_score pi theta i) [] (tokens e))).
    + exact H.
    + rewrite (seq_sum_split _ _ _ (mask e)) by apply mask_length.
      unfold score_S, score_D, traj_prob. field. exact HP.
Qed.

(** Paper Theorem 3.1 (§3.3.1), part (b), the baseline: on the autoregressive tree (per-prefix
    normalisation), a constant baseline b contributes zero to each stage's gradient separately:
    E[b g_S] = 0 and E[b g_D] = 0, any process, any budget, any coordinate i.  Hypotheses: positive token
    probabilities, per-prefix normalisation for every theta, differentiability along coordinate i. *)
Theorem theorem_3_1_baseline_per_stage :
  forall (Tok : Type) (M : process Tok) (pi : (nat -> R) -> list Tok -> Tok -> R) (T : nat)
         (theta : nat -> R) (i : nat) (b : R),
  (forall th h y, 0 < pi th h y) ->
  (forall th h, lsum (pi th h) (alphabet M) = 1) ->
  (forall h y, ex_derive (fun x => pi (upd theta i x) h y) (theta i)) ->
  expect M (pi theta) T (fun e => b * score_S pi theta i e) = 0
  /\ expect M (pi theta) T (fun e => b * score_D pi theta i e) = 0.
Proof.
  intros Tok M pi T theta i b Hpos Hn Hdiff.
  change (eE M (pi theta) T [] (fun e => b * score_S pi theta i e) = 0 /\
          eE M (pi theta) T [] (fun e => b * score_D pi theta i e) = 0).
  rewrite !eE_scal. destruct T as [|T].
  - unfold eE; simpl; split; ring.
  - destruct (episodes_per_stage M (pi theta) (tok_score pi theta i) (Hn theta)
                (tok_score_zero_mean M pi Hpos Hn theta i Hdiff) T []) as [_ [HS HD]].
    unfold score_S, score_D. rewrite HS, HD. split; ring.
Qed.

