(** * Witnesses.v -- the hypotheses of every headline theorem can be met.

    A theorem whose hypotheses cannot all hold says nothing.  Each headline theorem gets a concrete
    instance here: the Appendix C toy model with sigmoid logits (p_s = sigmoid(theta_0),
    p_dC = sigmoid(theta_1), p_dW = sigmoid(theta_2)), a policy on the token tree of the §4.2 process,
    meets positivity, per-prefix normalisation and differentiability along every coordinate; the trajectory
    set contains capped, stopped and resampled trajectories; and the §4.2 hypotheses hold for concrete
    probabilities, on both sides of the sign condition. *)

From Coq Require Import Reals Lra List Lia Arith.
From Coquelicot Require Import Coquelicot.
From DSProof Require Import Process Tree Factorisation Surrogate Calibration.
Import ListNotations.
Open Scope R_scope.

Definition sigmoid (x : R) : R := / (1 + exp (- x)).

Lemma sigmoid_bounds x : 0 < sigmoid x < 1.
Proof.
  unfold sigmoid. pose proof (exp_pos (- x)) as He. split.
  - apply Rinv_0_lt_compat; lra.
  - rewrite <- Rinv_1. apply Rinv_lt_contravar; lra.
Qed.

Lemma ex_derive_sigmoid x : ex_derive sigmoid x.
Proof. unfold sigmoid. auto_derive. pose proof (exp_pos (- x)); lra. Qed.

(** The toy model with sigmoid logits, theta_0 = theta_s, theta_1 = theta_dC, theta_2 = theta_dW. *)
Definition sigmoid_policy (th : nat -> R) : list bool -> bool -> R :=
  toy_policy (sigmoid (th 0%nat)) (sigmoid (th 1%nat)) (sigmoid (th 2%nat)).

Lemma ex_derive_sigmoid_coord theta i k : ex_derive (fun x => sigmoid (upd theta i x k)) (theta i).
Proof.
  unfold upd. destruct (Nat.eqb k i).
  - apply ex_derive_sigmoid.
  - apply ex_derive_const.
Qed.

(** The sigmoid policy meets the hypotheses of Corollary 3.1 and Theorem 3.1 (a), (b): positive, per-prefix
    normalised, differentiable along every coordinate at every theta. *)
Lemma witness_sigmoid_policy :
  (forall th h y, 0 < sigmoid_policy th h y)
  /\ (forall th h, lsum (sigmoid_policy th h) (alphabet toy_process) = 1)
  /\ (forall theta i h y, ex_derive (fun x => sigmoid_policy (upd theta i x) h y) (theta i)).
Proof.
  split; [|split].
  - intros th h y. unfold sigmoid_policy, toy_policy.
    pose proof (sigmoid_bounds (th 0%nat)); pose proof (sigmoid_bounds (th 1%nat));
      pose proof (sigmoid_bounds (th 2%nat)).
    destruct (Nat.even (length h)); [|destruct (last h false)]; destruct y; lra.
  - intros th h; apply toy_policy_normalised.
  - intros theta i h y. unfold sigmoid_policy, toy_policy.
    pose proof (ex_derive_sigmoid_coord theta i 0) as H0.
    pose proof (ex_derive_sigmoid_coord theta i 1) as H1.
    pose proof (ex_derive_sigmoid_coord theta i 2) as H2.
    destruct (Nat.even (length h)); [|destruct (last h false)]; destruct y;
      repeat first [ assumption
                   | apply (ex_derive_minus (fun _ => 1)); [apply ex_derive_const|] ].
Qed.

(** The trajectory set of Lemma 3.1 is not empty, and contains each kind of trajectory: a voluntary STOP,
    a capped episode and a RESAMPLE followed by a capped attempt (budget 2). *)
Lemma witness_lemma_3_1 :
  In (Stopped [true] [true]) (episodes toy_process 2 [])
  /\ In (Resampled [false] [false] (Capped [true])) (episodes toy_process 2 [])
  /\ In (Resampled [true] [false] (Capped [false])) (episodes toy_process 2 []).
Proof. simpl. intuition discriminate. Qed.

(** Corollary 3.1 (both theorems) applies to the sigmoid policy, every trajectory, every theta. *)
Lemma witness_corollary_3_1 :
  forall (e : episode bool) (theta : nat -> R) (i n : nat),
  pd i (fun th => ln (traj_prob (sigmoid_policy th) e)) theta
    = score_S sigmoid_policy theta i e + score_D sigmoid_policy theta i e
  /\ norm2 n (grad (fun th => ln (traj_prob (sigmoid_policy th) e)) theta)
     = norm2 n (fun j => score_S sigmoid_policy theta j e) + norm2 n (fun j => score_D sigmoid_policy theta j e)
       + 2 * inner n (fun j => score_S sigmoid_policy theta j e) (fun j => score_D sigmoid_policy theta j e).
Proof.
  intros e theta i n. destruct witness_sigmoid_policy as [Hp [_ Hd]]. split.
  - apply corollary_3_1_score_split; [exact Hp | intros; apply Hd].
  - apply corollary_3_1_norm_identity; [exact Hp | intros; apply Hd].
Qed.

(** Theorem 3.1 (a) and (b) apply to the sigmoid policy on the §4.2 process, every budget, advantage,
    baseline, theta and coordinate. *)
Lemma witness_theorem_3_1 :
  forall (T : nat) (A : episode bool -> R) (theta : nat -> R) (i : nat) (b : R),
  pd i (surrogate sigmoid_policy toy_process T A theta) theta
    = expect toy_process (sigmoid_policy theta) T (fun e => A e * score_S sigmoid_policy theta i e)
      + expect toy_process (sigmoid_policy theta) T (fun e => A e * score_D sigmoid_policy theta i e)
  /\ expect toy_process (sigmoid_policy theta) T (fun e => b * score_S sigmoid_policy theta i e) = 0
  /\ expect toy_process (sigmoid_policy theta) T (fun e => b * score_D sigmoid_policy theta i e) = 0.
Proof.
  intros T A theta i b. destruct witness_sigmoid_policy as [Hp [Hn Hd]]. split.
  - apply theorem_3_1_surrogate_gradient; [exact Hp | intros; apply Hd].
  - apply theorem_3_1_baseline_per_stage; [exact Hp | exact Hn | intros; apply Hd].
Qed.

(** §4.2: p_s = 1/2, p_dC = 3/4, p_dW = 1/2 (b = 3/8) meets the hypotheses of the closed form, the limit
    and the sign condition with p_dC + p_dW > 1 (over-prediction); p_dC = 1/4 meets them with
    p_dC + p_dW < 1, the other side of the equivalence. *)
Lemma witness_calibration :
  cont_prob (1/2) (3/4) (1/2) = 3/8
  /\ cont_prob (1/2) (3/4) (1/2) <> 1
  /\ Rabs (cont_prob (1/2) (3/4) (1/2)) < 1
  /\ (0 < 1/2 < 1 /\ 0 < 3/4 < 1 /\ 0 < 1/2 < 1)
  /\ f_T (1/2) (3/4) (1/2) 2 < f_oo (1/2) (3/4) (1/2)
  /\ (0 < 1/4 < 1)
  /\ ~ (f_T (1/2) (1/4) (1/2) 2 < f_oo (1/2) (1/4) (1/2)).
Proof.
  assert (Hb : cont_prob (1/2) (3/4) (1/2) = 3/8) by (unfold cont_prob; field).
  split; [exact Hb|]. split; [rewrite Hb; lra|]. split; [rewrite Hb, Rabs_pos_eq; lra|].
  split; [repeat split; lra|]. split.
  - apply calibration_budget_sign; solve [lia | split; lra | lra].
  - split; [lra|]. rewrite calibration_budget_sign by solve [lia | split; lra]. lra.
Qed.

(** A concrete value computed from the definition (the sum over the six trajectories of budget 2, by
    evaluation, not through the closed form), and the closed form's value: both 9/16 = a + b p_s. *)
Lemma witness_calibration_value :
  f_T (1/2) (3/4) (1/2) 2 = 9/16
  /\ (1/2) * (3/4) * (1 - cont_prob (1/2) (3/4) (1/2) ^ (2 - 1)) / (1 - cont_prob (1/2) (3/4) (1/2))
     + cont_prob (1/2) (3/4) (1/2) ^ (2 - 1) * (1/2) = 9/16.
Proof.
  split.
  - unfold f_T, expect, traj_prob, correct, toy_policy. simpl. field.
  - unfold cont_prob; simpl; field.
Qed.

(** Lemma 3.1 is not about one fixed layout: a process whose first attempt has two tokens and whose later
    attempts have one (the shapes are functions of the history) has trajectories with the stage mask
    [S; S; D; S], and the factorisation applies to them. *)
Definition two_then_one : process bool := {|
  alphabet := [true; false];
  attempt_shape := fun (h : list bool) =>
    match h with
    | [] => More (fun (_ : bool) => More (fun (_ : bool) => Done EndOfAttempt))
    | _ => More (fun (_ : bool) => Done EndOfAttempt)
    end;
  decision_shape := fun (_ : list bool) => More (fun (y : bool) => Done (if y then STOP else RESAMPLE))
|}.

Lemma witness_history_dependent_mask :
  let e := Resampled [true; false] [false] (Capped [true]) in
  In e (episodes two_then_one 2 [])
  /\ mask e = [Sampling; Sampling; Decision; Sampling]
  /\ attempts [] e = [([], [true; false]); ([true; false; false], [true])]
  /\ resamples [] e = [([true; false], [false])]
  /\ stops [] e = [].
Proof. simpl. intuition discriminate. Qed.
