(** * KLDerive: derivatives of the toy process's sequence-level KL with respect to the logits

    The KL of [ToyKL] (a sum over the token-level trajectory set) equals, for probabilities in (0, 1),
    the attempt recursion [KLc] ([KL_eq_KLc], from [ToyKL.KL_one_attempt] and [ToyKL.KL_recursion]).
    [is_derive_KLc] differentiates that recursion along any direction (probabilities given as
    differentiable functions of one real variable); [Derive_KL_theta_s], [Derive_KL_theta_dC],
    [Derive_KL_theta_dW] then give Coquelicot's [Derive] of the trajectory-sum KL with respect to each
    logit, the two others held fixed.

    Depends on the Coq standard library, Coquelicot and [ToyKL]. *)

From Coq Require Import Reals Lra Lia.
From Coquelicot Require Import Coquelicot.
From DSProof Require Import ToyKL.
Local Open Scope R_scope.

(** ** The sigmoid parameterisation *)

Definition sigmoid (x : R) : R := / (1 + exp (- x)).

Lemma sigmoid_bounds x : 0 < sigmoid x < 1.
Proof.
  unfold sigmoid. pose proof (exp_pos (- x)) as He. split.
  - apply Rinv_0_lt_compat. lra.
  - rewrite <- Rinv_1. apply Rinv_lt_contravar; lra.
Qed.

Lemma is_derive_sigmoid x : is_derive sigmoid x (sigmoid x * (1 - sigmoid x)).
Proof.
  unfold sigmoid. pose proof (exp_pos (- x)) as He.
  auto_derive.
  - lra.
  - field. lra.
Qed.

Lemma sigmoid_strict_incr x y : x < y -> sigmoid x < sigmoid y.
Proof.
  intros Hxy. unfold sigmoid.
  pose proof (exp_pos (- x)). pose proof (exp_pos (- y)).
  apply Rinv_lt_contravar.
  - apply Rmult_lt_0_compat; lra.
  - apply Rplus_lt_compat_l, exp_increasing. lra.
Qed.

Lemma sigmoid_injective x y : sigmoid x = sigmoid y -> x = y.
Proof.
  intros H. destruct (Rtotal_order x y) as [Hlt|[Heq|Hgt]]; auto.
  - apply sigmoid_strict_incr in Hlt. lra.
  - apply sigmoid_strict_incr in Hgt. lra.
Qed.

(** ** The attempt recursion, and its agreement with the trajectory-sum KL *)

(** [KLc L m]: the KL of the process with budget [T = S m], by the attempt recursion
    [KL_1 = L kl_tok], [KL_(n+1) = u + b KL_n]. *)
Fixpoint KLc (L m : nat) (q pC pW qr pCr pWr : R) : R :=
  match m with
  | O => INR L * kl_bern q qr
  | S m' => kl_step L q pC pW qr pCr pWr + resample_prob L q pC pW * KLc L m' q pC pW qr pCr pWr
  end.

Theorem KL_eq_KLc L m q pC pW qr pCr pWr :
  0 < q < 1 -> 0 < pC < 1 -> 0 < pW < 1 -> 0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  KL L (S m) q pC pW qr pCr pWr = KLc L m q pC pW qr pCr pWr.
Proof.
  intros Hq HC HW Hqr HCr HWr. induction m as [|m IH].
  - apply KL_one_attempt; assumption.
  - rewrite KL_recursion by (assumption || lia). simpl KLc. rewrite IH. reflexivity.
Qed.

(** ** Derivative helpers over R (values given as plain [Rplus]/[Rmult] expressions) *)

Lemma D_val (f : R -> R) (x l l' : R) : is_derive f x l -> @eq R l l' -> is_derive f x l'.
Proof. intros H ->. exact H. Qed.

Lemma D_const (a x : R) : is_derive (fun _ : R => a) x 0.
Proof. exact (is_derive_const a x). Qed.

Lemma D_plus (f g : R -> R) x df dg :
  is_derive f x df -> is_derive g x dg -> is_derive (fun y => f y + g y) x (df + dg).
Proof. intros Hf Hg. exact (is_derive_plus f g x df dg Hf Hg). Qed.

Lemma D_minus (f g : R -> R) x df dg :
  is_derive f x df -> is_derive g x dg -> is_derive (fun y => f y - g y) x (df - dg).
Proof. intros Hf Hg. exact (is_derive_minus f g x df dg Hf Hg). Qed.

Lemma D_mult (f g : R -> R) x df dg :
  is_derive f x df -> is_derive g x dg -> is_derive (fun y => f y * g y) x (df * g x + f x * dg).
Proof. intros Hf Hg. exact (is_derive_mult f g x df dg Hf Hg Rmult_comm). Qed.

Lemma D_comp (f g : R -> R) x df dg :
  is_derive f (g x) df -> is_derive g x dg -> is_derive (fun y => f (g y)) x (dg * df).
Proof. intros Hf Hg. exact (is_derive_comp f g x df dg Hf Hg). Qed.

Lemma D_pow (f : R -> R) (n : nat) x df :
  is_derive f x df -> is_derive (fun y => f y ^ n) x (INR n * df * f x ^ pred n).
Proof. intros Hf. exact (is_derive_pow f n x df Hf). Qed.

(** ** Derivative of the Bernoulli KL in its first argument *)

(** [d kl_bern p r / d p]. *)
Definition dkl_bern (p r : R) : R := ln (p / r) - ln ((1 - p) / (1 - r)).

Lemma is_derive_kl_bern p r :
  0 < p < 1 -> 0 < r < 1 -> is_derive (fun p => kl_bern p r) p (dkl_bern p r).
Proof.
  intros Hp Hr. unfold kl_bern, dkl_bern.
  assert (H1 : 0 < p / r) by (apply Rdiv_lt_0_compat; lra).
  assert (H2 : 0 < (1 - p) / (1 - r)) by (apply Rdiv_lt_0_compat; lra).
  auto_derive.
  - split; [exact H1 | split; [exact H2 | exact I]].
  - unfold Rdiv, Rminus. field. split; lra.
Qed.

Lemma D_kl_bern (f : R -> R) x df r :
  0 < f x < 1 -> 0 < r < 1 -> is_derive f x df ->
  is_derive (fun y => kl_bern (f y) r) x (df * dkl_bern (f x) r).
Proof.
  intros Hf Hr Hd. apply (D_comp (fun p => kl_bern p r) f x); [|exact Hd].
  apply is_derive_kl_bern; assumption.
Qed.

(** ** Directional derivative of the attempt recursion *)

(** Along a direction in which [q, pC, pW] move with speeds [dq, dC, dW]:
    the derivative of [u = kl_step] and of [b = resample_prob] ([d p_s = L q^(L-1) dq]). *)
Definition d_kl_step (L : nat) (q pC pW qr pCr pWr dq dC dW : R) : R :=
  INR L * (dq * dkl_bern q qr)
  + INR L * dq * q ^ pred L * (kl_bern pC pCr - kl_bern pW pWr)
  + q ^ L * (dC * dkl_bern pC pCr) + (1 - q ^ L) * (dW * dkl_bern pW pWr).

Definition d_resample_prob (L : nat) (q pC pW dq dC dW : R) : R :=
  INR L * dq * q ^ pred L * (1 - pC - pW) - q ^ L * dC + (1 - q ^ L) * dW.

Fixpoint dKLc (L m : nat) (q pC pW qr pCr pWr dq dC dW : R) : R :=
  match m with
  | O => INR L * (dq * dkl_bern q qr)
  | S m' => d_kl_step L q pC pW qr pCr pWr dq dC dW
            + (d_resample_prob L q pC pW dq dC dW * KLc L m' q pC pW qr pCr pWr
               + resample_prob L q pC pW * dKLc L m' q pC pW qr pCr pWr dq dC dW)
  end.

Lemma is_derive_kl_step L (fq fC fW : R -> R) x dq dC dW qr pCr pWr :
  is_derive fq x dq -> is_derive fC x dC -> is_derive fW x dW ->
  0 < fq x < 1 -> 0 < fC x < 1 -> 0 < fW x < 1 -> 0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  is_derive (fun y => kl_step L (fq y) (fC y) (fW y) qr pCr pWr) x
            (d_kl_step L (fq x) (fC x) (fW x) qr pCr pWr dq dC dW).
Proof.
  intros Dq DC DW Hq HC HW Hqr HCr HWr. unfold kl_step, p_s.
  eapply D_val.
  - apply D_plus; [apply D_plus|].
    + apply (D_mult (fun _ => INR L) (fun y => kl_bern (fq y) qr));
        [apply D_const | apply D_kl_bern; eassumption].
    + apply (D_mult (fun y => fq y ^ L) (fun y => kl_bern (fC y) pCr));
        [apply (D_pow fq); eassumption | apply D_kl_bern; eassumption].
    + apply (D_mult (fun y => 1 - fq y ^ L) (fun y => kl_bern (fW y) pWr)).
      * apply (D_minus (fun _ => 1) (fun y => fq y ^ L)); [apply D_const | apply (D_pow fq); eassumption].
      * apply D_kl_bern; eassumption.
  - unfold d_kl_step. ring.
Qed.

Lemma is_derive_resample_prob L (fq fC fW : R -> R) x dq dC dW :
  is_derive fq x dq -> is_derive fC x dC -> is_derive fW x dW ->
  is_derive (fun y => resample_prob L (fq y) (fC y) (fW y)) x
            (d_resample_prob L (fq x) (fC x) (fW x) dq dC dW).
Proof.
  intros Dq DC DW. unfold resample_prob, p_s.
  eapply D_val.
  - apply D_plus.
    + apply (D_mult (fun y => fq y ^ L) (fun y => 1 - fC y));
        [apply (D_pow fq); eassumption | apply (D_minus (fun _ => 1) fC); [apply D_const | eassumption]].
    + apply (D_mult (fun y => 1 - fq y ^ L) fW); [|eassumption].
      apply (D_minus (fun _ => 1) (fun y => fq y ^ L)); [apply D_const | apply (D_pow fq); eassumption].
  - unfold d_resample_prob. ring.
Qed.

Theorem is_derive_KLc L m (fq fC fW : R -> R) x dq dC dW qr pCr pWr :
  is_derive fq x dq -> is_derive fC x dC -> is_derive fW x dW ->
  0 < fq x < 1 -> 0 < fC x < 1 -> 0 < fW x < 1 -> 0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  is_derive (fun y => KLc L m (fq y) (fC y) (fW y) qr pCr pWr) x
            (dKLc L m (fq x) (fC x) (fW x) qr pCr pWr dq dC dW).
Proof.
  intros Dq DC DW Hq HC HW Hqr HCr HWr. induction m as [|m IH].
  - eapply D_val.
    + apply (D_mult (fun _ => INR L) (fun y => kl_bern (fq y) qr));
        [apply D_const | apply D_kl_bern; eassumption].
    + simpl dKLc. ring.
  - apply (D_plus (fun y => kl_step L (fq y) (fC y) (fW y) qr pCr pWr)
                  (fun y => resample_prob L (fq y) (fC y) (fW y) * KLc L m (fq y) (fC y) (fW y) qr pCr pWr)).
    + apply is_derive_kl_step; eassumption.
    + apply (D_mult (fun y => resample_prob L (fq y) (fC y) (fW y))
                    (fun y => KLc L m (fq y) (fC y) (fW y) qr pCr pWr)).
      * apply is_derive_resample_prob; eassumption.
      * exact IH.
Qed.

(** ** The derivatives of the trajectory-sum KL with respect to each logit *)

(** The KL as a function of the policy's logits (the reference given by its probabilities). *)
Definition KL_logits (L T : nat) (ts tC tW qr pCr pWr : R) : R :=
  KL L T (sigmoid ts) (sigmoid tC) (sigmoid tW) qr pCr pWr.

Lemma KL_logits_eq L m ts tC tW qr pCr pWr :
  0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  KL_logits L (S m) ts tC tW qr pCr pWr
  = KLc L m (sigmoid ts) (sigmoid tC) (sigmoid tW) qr pCr pWr.
Proof.
  intros. unfold KL_logits. apply KL_eq_KLc; auto using sigmoid_bounds.
Qed.

Definition sig' (x : R) : R := sigmoid x * (1 - sigmoid x).

Theorem is_derive_KL_theta_s L m ts tC tW qr pCr pWr :
  0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  is_derive (fun t => KL_logits L (S m) t tC tW qr pCr pWr) ts
            (dKLc L m (sigmoid ts) (sigmoid tC) (sigmoid tW) qr pCr pWr (sig' ts) 0 0).
Proof.
  intros Hqr HCr HWr.
  apply (is_derive_ext (fun t => KLc L m (sigmoid t) ((fun _ => sigmoid tC) t) ((fun _ => sigmoid tW) t)
                                   qr pCr pWr)).
  { intro t. symmetry. apply KL_logits_eq; assumption. }
  apply (is_derive_KLc L m sigmoid (fun _ => sigmoid tC) (fun _ => sigmoid tW) ts);
    solve [ apply is_derive_sigmoid | apply D_const | apply sigmoid_bounds | assumption ].
Qed.

Theorem is_derive_KL_theta_dC L m ts tC tW qr pCr pWr :
  0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  is_derive (fun t => KL_logits L (S m) ts t tW qr pCr pWr) tC
            (dKLc L m (sigmoid ts) (sigmoid tC) (sigmoid tW) qr pCr pWr 0 (sig' tC) 0).
Proof.
  intros Hqr HCr HWr.
  apply (is_derive_ext (fun t => KLc L m ((fun _ => sigmoid ts) t) (sigmoid t) ((fun _ => sigmoid tW) t)
                                   qr pCr pWr)).
  { intro t. symmetry. apply KL_logits_eq; assumption. }
  apply (is_derive_KLc L m (fun _ => sigmoid ts) sigmoid (fun _ => sigmoid tW) tC);
    solve [ apply is_derive_sigmoid | apply D_const | apply sigmoid_bounds | assumption ].
Qed.

Theorem is_derive_KL_theta_dW L m ts tC tW qr pCr pWr :
  0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  is_derive (fun t => KL_logits L (S m) ts tC t qr pCr pWr) tW
            (dKLc L m (sigmoid ts) (sigmoid tC) (sigmoid tW) qr pCr pWr 0 0 (sig' tW)).
Proof.
  intros Hqr HCr HWr.
  apply (is_derive_ext (fun t => KLc L m ((fun _ => sigmoid ts) t) ((fun _ => sigmoid tC) t) (sigmoid t)
                                   qr pCr pWr)).
  { intro t. symmetry. apply KL_logits_eq; assumption. }
  apply (is_derive_KLc L m (fun _ => sigmoid ts) (fun _ => sigmoid tC) sigmoid tW);
    solve [ apply is_derive_sigmoid | apply D_const | apply sigmoid_bounds | assumption ].
Qed.
