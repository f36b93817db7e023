(** * KLLimit: Theorem 3.2's KL attribution ratio has a finite limit as the attempt length grows

    Paper: arXiv:2601.01580, Theorem 3.2 (KL penalty, k1 in the reward): "scale separation
    |d^sample| / |d^decision| ~ L_k".  dsproof's counter-result (issue 24): for the token-level toy
    process of [ToyKL] with FIXED per-token logits, the ratio of the sampling gradient of the
    sequence-level KL to the decision gradient,

       R(L) = |dKL/dtheta_s| / sqrt((dKL/dtheta_dC)^2 + (dKL/dtheta_dW)^2),

    converges to a finite positive limit as L -> oo, for every fixed budget T >= 2: a RESAMPLE buys the
    next attempt's O(L) KL, so the decision gradient is O(L) as well.

    Headline theorems: [theorem_3_2_kl_ratio_limit] (every T >= 2), [theorem_3_2_kl_ratio_limit_T2]
    (T = 2, explicit limit), [theorem_3_2_kl_gradient_scaling] (each gradient's order in L), and
    [witness_theorem_3_2_kl_ratio_limit] (a sigmoid policy meeting every hypothesis).

    The numerical value of the T = 2 limit at the witness point is checked outside Coq: tests/test_formal.py
    evaluates [theorem_3_2_kl_ratio_limit_T2]'s closed form there against dsproof's ledger (40.31).

    Depends on the Coq standard library, Coquelicot, [ToyKL], [KLDerive]. *)

From Coq Require Import Reals Lra Lia.
From Coquelicot Require Import Coquelicot.
From DSProof Require Import ToyKL KLDerive.
Local Open Scope R_scope.

(** ** Limit helpers (values as plain real expressions) *)

Lemma lim_eq (u : nat -> R) (l l' : R) : is_lim_seq u l -> l = l' -> is_lim_seq u l'.
Proof. intros H <-. exact H. Qed.

Lemma lim_const (a : R) : is_lim_seq (fun _ => a) a.
Proof. apply is_lim_seq_const. Qed.

Lemma lim_plus (u v : nat -> R) (l1 l2 : R) :
  is_lim_seq u l1 -> is_lim_seq v l2 -> is_lim_seq (fun n => u n + v n) (l1 + l2).
Proof. apply is_lim_seq_plus'. Qed.

Lemma lim_minus (u v : nat -> R) (l1 l2 : R) :
  is_lim_seq u l1 -> is_lim_seq v l2 -> is_lim_seq (fun n => u n - v n) (l1 - l2).
Proof. apply is_lim_seq_minus'. Qed.

Lemma lim_mult (u v : nat -> R) (l1 l2 : R) :
  is_lim_seq u l1 -> is_lim_seq v l2 -> is_lim_seq (fun n => u n * v n) (l1 * l2).
Proof. apply is_lim_seq_mult'. Qed.

Lemma lim_sq (u : nat -> R) (l : R) : is_lim_seq u l -> is_lim_seq (fun n => u n ^ 2) (l ^ 2).
Proof.
  intros H. apply (is_lim_seq_ext (fun n => u n * u n)); [intro; ring|].
  eapply lim_eq; [apply lim_mult; exact H | ring].
Qed.

Lemma lim_inv_INR : is_lim_seq (fun n => / INR n) 0.
Proof.
  change (Finite 0) with (Rbar_inv p_infty).
  apply is_lim_seq_inv; [apply is_lim_seq_INR | discriminate].
Qed.

Lemma lim_geom (q : R) : 0 < q < 1 -> is_lim_seq (fun n => q ^ n) 0.
Proof. intros Hq. apply is_lim_seq_geom. rewrite Rabs_pos_eq; lra. Qed.

(** [L q^L -> 0] (not in Coquelicot): d'Alembert's ratio test on [(n + 1) q^n]. *)
Lemma lim_n_geom (q : R) : 0 < q < 1 -> is_lim_seq (fun n => INR n * q ^ n) 0.
Proof.
  intros Hq.
  set (a := fun n => INR (S n) * q ^ n).
  assert (Hpos : forall n, 0 < a n).
  { intro n. unfold a. apply Rmult_lt_0_compat; [apply lt_0_INR; lia | apply pow_lt; lra]. }
  assert (Ha : is_lim_seq a 0).
  { assert (Hs : ex_series (fun n => Rabs (a n))).
    { apply ex_series_DAlembert with q; [lra | intro n; apply Rgt_not_eq, Hpos |].
      apply (is_lim_seq_ext (fun n => q * (1 + / INR (S n)))).
      { intro n. rewrite Rabs_pos_eq.
        - unfold a. rewrite (S_INR (S n)). simpl pow.
          field. split; [apply Rgt_not_eq, pow_lt; lra | apply not_0_INR; lia].
        - apply Rlt_le, Rdiv_lt_0_compat; apply Hpos. }
      eapply lim_eq.
      - apply lim_mult; [apply lim_const | apply lim_plus; [apply lim_const |]].
        apply (is_lim_seq_incr_1 (fun n => / INR n)). exact lim_inv_INR.
      - ring. }
    apply ex_series_lim_0 in Hs.
    apply (is_lim_seq_ext (fun n => Rabs (a n))); [intro n; apply Rabs_pos_eq, Rlt_le, Hpos | exact Hs]. }
  apply is_lim_seq_incr_1.
  apply (is_lim_seq_ext (fun n => q * a n)); [intro n; unfold a; simpl pow; ring|].
  eapply lim_eq; [apply lim_mult; [apply lim_const | exact Ha] | ring].
Qed.

Lemma lim_geom_pred (q : R) : 0 < q < 1 -> is_lim_seq (fun n => q ^ pred n) 0.
Proof. intros Hq. apply is_lim_seq_incr_1. exact (lim_geom q Hq). Qed.

Lemma lim_n_geom_pred (q : R) : 0 < q < 1 -> is_lim_seq (fun n => INR n * q ^ pred n) 0.
Proof.
  intros Hq. apply is_lim_seq_incr_1.
  apply (is_lim_seq_ext (fun n => INR n * q ^ n + q ^ n)); [intro n; rewrite S_INR; simpl pred; ring|].
  eapply lim_eq; [apply lim_plus; [apply lim_n_geom | apply lim_geom]; exact Hq | ring].
Qed.

Lemma eventually_pos_INR : eventually (fun L => INR L <> 0).
Proof. exists 1%nat. intros L HL. apply not_0_INR. lia. Qed.

(** ** The limiting expected number of attempts [E_T] and its logit derivative *)

(** [sum_below f n = f 0 + ... + f (n - 1)]. *)
Fixpoint sum_below (f : nat -> R) (n : nat) : R :=
  match n with
  | O => 0
  | S n' => sum_below f n' + f n'
  end.

(** [E_T = sum_(k<T) pW^k]: the expected number of attempts when every attempt is wrong (p_s -> 0). *)
Definition E_lim (pW : R) (T : nat) : R := sum_below (fun k => pW ^ k) T.

(** [dE_T / dtheta_dW = sum_(k<T) k pW^k (1 - pW)]. *)
Definition dE_lim (pW : R) (T : nat) : R := sum_below (fun k => INR k * pW ^ k * (1 - pW)) T.

Lemma E_lim_S pW n : E_lim pW (S n) = 1 + pW * E_lim pW n.
Proof.
  induction n as [|n IH]; [unfold E_lim; simpl; ring|].
  change (E_lim pW (S n) + pW ^ S n = 1 + pW * (E_lim pW n + pW ^ n)).
  rewrite IH. simpl pow. ring.
Qed.

Lemma dE_lim_S pW n : dE_lim pW (S n) = pW * (1 - pW) * E_lim pW n + pW * dE_lim pW n.
Proof.
  induction n as [|n IH]; [unfold dE_lim, E_lim; simpl; ring|].
  change (dE_lim pW (S n) + INR (S n) * pW ^ S n * (1 - pW)
          = pW * (1 - pW) * (E_lim pW n + pW ^ n) + pW * (dE_lim pW n + INR n * pW ^ n * (1 - pW))).
  rewrite IH, S_INR. simpl pow. ring.
Qed.

Lemma E_lim_ge_1 pW n : 0 <= pW -> 1 <= E_lim pW (S n).
Proof.
  intros HW. assert (H0 : forall k, 0 <= E_lim pW k).
  { induction k as [|k IH]; [unfold E_lim; simpl; lra|].
    rewrite E_lim_S. pose proof (Rmult_le_pos _ _ HW IH). lra. }
  rewrite E_lim_S. pose proof (Rmult_le_pos _ _ HW (H0 n)). lra.
Qed.

Lemma dE_lim_pos pW n : 0 < pW < 1 -> 0 < dE_lim pW (S (S n)).
Proof.
  intros HW. assert (H0 : forall k, 0 <= dE_lim pW k).
  { induction k as [|k IH]; [unfold dE_lim; simpl; lra|].
    rewrite dE_lim_S.
    pose proof (E_lim_ge_1 pW 0) as H1.
    destruct k as [|k]; [unfold E_lim, dE_lim in *; simpl; lra|].
    pose proof (E_lim_ge_1 pW k (Rlt_le _ _ (proj1 HW))).
    apply Rplus_le_le_0_compat; apply Rmult_le_pos; try lra.
    apply Rmult_le_pos; lra. }
  rewrite dE_lim_S.
  pose proof (E_lim_ge_1 pW n (Rlt_le _ _ (proj1 HW))).
  pose proof (Rmult_le_pos _ _ (Rlt_le _ _ (proj1 HW)) (H0 (S n))).
  assert (0 < pW * (1 - pW) * E_lim pW (S n)).
  { apply Rmult_lt_0_compat; [apply Rmult_lt_0_compat|]; lra. }
  lra.
Qed.

(** ** The Bernoulli KL: Gibbs' inequality and the logit derivative *)

Lemma ln_lt_x_minus_1 x : 0 < x -> x <> 1 -> ln x < x - 1.
Proof.
  intros Hx H1. assert (Hl : ln x <> 0).
  { intro H. apply H1. rewrite <- (exp_ln x Hx), H. apply exp_0. }
  pose proof (exp_ineq1 (ln x) Hl). rewrite exp_ln in H by exact Hx. lra.
Qed.

Lemma ln_le_x_minus_1 x : 0 < x -> ln x <= x - 1.
Proof.
  intros Hx. destruct (Req_dec x 1) as [->|H1]; [rewrite ln_1; lra|].
  apply Rlt_le, ln_lt_x_minus_1; assumption.
Qed.

Theorem kl_bern_pos p r : 0 < p < 1 -> 0 < r < 1 -> p <> r -> 0 < kl_bern p r.
Proof.
  intros Hp Hr Hpr. unfold kl_bern.
  assert (H1 : ln (r / p) < r / p - 1).
  { apply ln_lt_x_minus_1; [apply Rdiv_lt_0_compat; lra|].
    intro H. apply Hpr. unfold Rdiv in H.
    apply (Rmult_eq_compat_r p) in H. rewrite Rmult_assoc, Rinv_l in H by lra. lra. }
  assert (H2 : ln ((1 - r) / (1 - p)) <= (1 - r) / (1 - p) - 1).
  { apply ln_le_x_minus_1, Rdiv_lt_0_compat; lra. }
  rewrite ln_div_pos in H1, H2 by lra. rewrite !ln_div_pos by lra.
  apply (Rmult_lt_compat_l p) in H1; [|lra].
  apply (Rmult_le_compat_l (1 - p)) in H2; [|lra].
  replace (p * (r / p - 1)) with (r - p) in H1 by (field; lra).
  replace ((1 - p) * ((1 - r) / (1 - p) - 1)) with (p - r) in H2 by (field; lra).
  lra.
Qed.

(** [d kl_tok / d theta_s = q (1 - q) log (q (1 - q_ref) / (q_ref (1 - q)))]. *)
Definition kl_tok_dlogit (q qr : R) : R := q * (1 - q) * ln (q * (1 - qr) / (qr * (1 - q))).

Lemma kl_tok_dlogit_eq q qr :
  0 < q < 1 -> 0 < qr < 1 -> q * (1 - q) * dkl_bern q qr = kl_tok_dlogit q qr.
Proof.
  intros Hq Hr. unfold kl_tok_dlogit, dkl_bern.
  rewrite !ln_div_pos by (try apply Rmult_lt_0_compat; lra).
  rewrite !ln_mult by lra. ring.
Qed.

(** ** Asymptotics of the attempt recursion and of its directional derivative *)

(** The limit of [dKLc / L] along the direction [(dq, dC, dW)]. *)
Fixpoint g_lim (q pW qr dq dW : R) (m : nat) : R :=
  match m with
  | O => dq * dkl_bern q qr
  | S m' => dq * dkl_bern q qr + dW * (kl_bern q qr * E_lim pW (S m')) + pW * g_lim q pW qr dq dW m'
  end.

Lemma lim_resample_prob q pC pW :
  0 < q < 1 -> is_lim_seq (fun L => resample_prob L q pC pW) pW.
Proof.
  intros Hq. unfold resample_prob, p_s.
  eapply lim_eq.
  - apply lim_plus; apply lim_mult;
      try (apply lim_minus; [apply lim_const|]); try apply lim_const; apply lim_geom; exact Hq.
  - ring.
Qed.

Lemma lim_d_resample_prob q pC pW dq dC dW :
  0 < q < 1 -> is_lim_seq (fun L => d_resample_prob L q pC pW dq dC dW) dW.
Proof.
  intros Hq.
  apply (is_lim_seq_ext (fun L => INR L * q ^ pred L * (dq * (1 - pC - pW)) - q ^ L * dC
                                   + (1 - q ^ L) * dW)); [intro; unfold d_resample_prob; ring|].
  eapply lim_eq.
  - apply lim_plus; [apply lim_minus; apply lim_mult|apply lim_mult].
    + apply lim_n_geom_pred; exact Hq.
    + apply lim_const.
    + apply lim_geom; exact Hq.
    + apply lim_const.
    + apply lim_minus; [apply lim_const | apply lim_geom; exact Hq].
    + apply lim_const.
  - ring.
Qed.

Theorem KLc_asymptotics q pC pW qr pCr pWr dq dC dW m :
  0 < q < 1 ->
  is_lim_seq (fun L => KLc L m q pC pW qr pCr pWr / INR L) (kl_bern q qr * E_lim pW (S m)) /\
  is_lim_seq (fun L => dKLc L m q pC pW qr pCr pWr dq dC dW / INR L) (g_lim q pW qr dq dW m).
Proof.
  intros Hq. induction m as [|m [IHK IHD]].
  - split.
    + apply (is_lim_seq_ext_loc (fun _ => kl_bern q qr * E_lim pW 1)).
      * destruct eventually_pos_INR as [N HN]. exists N. intros L HL.
        unfold E_lim; simpl KLc; simpl sum_below. field. apply HN, HL.
      * apply lim_const.
    + apply (is_lim_seq_ext_loc (fun _ => g_lim q pW qr dq dW 0)).
      * destruct eventually_pos_INR as [N HN]. exists N. intros L HL.
        simpl dKLc; simpl g_lim. field. apply HN, HL.
      * apply lim_const.
  - split.
    + apply (is_lim_seq_ext_loc
               (fun L => (kl_bern q qr + q ^ L * kl_bern pC pCr * / INR L
                          + (1 - q ^ L) * kl_bern pW pWr * / INR L)
                         + resample_prob L q pC pW * (KLc L m q pC pW qr pCr pWr / INR L))).
      * destruct eventually_pos_INR as [N HN]. exists N. intros L HL.
        simpl KLc. unfold kl_step, p_s. field. apply HN, HL.
      * eapply lim_eq.
        -- apply lim_plus; [apply lim_plus; [apply lim_plus|] | apply lim_mult].
           ++ apply lim_const.
           ++ apply lim_mult; [apply lim_mult; [apply lim_geom; exact Hq | apply lim_const] | apply lim_inv_INR].
           ++ apply lim_mult; [apply lim_mult; [|apply lim_const] | apply lim_inv_INR].
              apply lim_minus; [apply lim_const | apply lim_geom; exact Hq].
           ++ apply lim_resample_prob; exact Hq.
           ++ exact IHK.
        -- rewrite (E_lim_S pW (S m)). ring.
    + apply (is_lim_seq_ext_loc
               (fun L => (dq * dkl_bern q qr + dq * q ^ pred L * (kl_bern pC pCr - kl_bern pW pWr)
                          + q ^ L * (dC * dkl_bern pC pCr) * / INR L
                          + (1 - q ^ L) * (dW * dkl_bern pW pWr) * / INR L)
                         + (d_resample_prob L q pC pW dq dC dW * (KLc L m q pC pW qr pCr pWr / INR L)
                            + resample_prob L q pC pW * (dKLc L m q pC pW qr pCr pWr dq dC dW / INR L)))).
      * destruct eventually_pos_INR as [N HN]. exists N. intros L HL.
        simpl dKLc. unfold d_kl_step. field. apply HN, HL.
      * eapply lim_eq.
        -- apply lim_plus; [apply lim_plus; [apply lim_plus; [apply lim_plus|]|] | apply lim_plus].
           ++ apply lim_const.
           ++ apply lim_mult; [apply lim_mult; [apply lim_const | apply lim_geom_pred; exact Hq]
                              | apply lim_const].
           ++ apply lim_mult; [apply lim_mult; [apply lim_geom; exact Hq | apply lim_const] | apply lim_inv_INR].
           ++ apply lim_mult; [apply lim_mult; [|apply lim_const] | apply lim_inv_INR].
              apply lim_minus; [apply lim_const | apply lim_geom; exact Hq].
           ++ apply lim_mult; [apply lim_d_resample_prob; exact Hq | exact IHK].
           ++ apply lim_mult; [apply lim_resample_prob; exact Hq | exact IHD].
        -- simpl g_lim. ring.
Qed.

(** Along [theta_dC] alone the derivative itself (not only divided by [L]) tends to 0. *)
Lemma dKLc_dC_vanishes q pC pW qr pCr pWr dC m :
  0 < q < 1 -> is_lim_seq (fun L => dKLc L m q pC pW qr pCr pWr 0 dC 0) 0.
Proof.
  intros Hq. induction m as [|m IH].
  - apply (is_lim_seq_ext (fun _ => 0)); [intro L; simpl; ring | apply lim_const].
  - destruct (KLc_asymptotics q pC pW qr pCr pWr 0 dC 0 m Hq) as [HK _].
    apply (is_lim_seq_ext_loc
             (fun L => q ^ L * (dC * dkl_bern pC pCr)
                       + ((- dC) * (INR L * q ^ L) * (KLc L m q pC pW qr pCr pWr / INR L)
                          + resample_prob L q pC pW * dKLc L m q pC pW qr pCr pWr 0 dC 0))).
    + destruct eventually_pos_INR as [N HN]. exists N. intros L HL.
      simpl dKLc. unfold d_kl_step, d_resample_prob. field. apply HN, HL.
    + eapply lim_eq.
      * apply lim_plus; [apply lim_mult; [apply lim_geom; exact Hq | apply lim_const] | apply lim_plus].
        -- apply lim_mult; [apply lim_mult; [apply lim_const | apply lim_n_geom; exact Hq] | exact HK].
        -- apply lim_mult; [apply lim_resample_prob; exact Hq | exact IH].
      * ring.
Qed.

(** The three logit directions. *)
Lemma g_lim_theta_s q pW qr dq m : g_lim q pW qr dq 0 m = dq * dkl_bern q qr * E_lim pW (S m).
Proof.
  induction m as [|m IH]; [unfold E_lim; simpl; ring|].
  simpl g_lim. rewrite IH, (E_lim_S pW (S m)). ring.
Qed.

Lemma g_lim_theta_dC q pW qr m : g_lim q pW qr 0 0 m = 0.
Proof. induction m as [|m IH]; simpl; [ring | rewrite IH; ring]. Qed.

Lemma g_lim_theta_dW q pW qr m :
  g_lim q pW qr 0 (pW * (1 - pW)) m = kl_bern q qr * dE_lim pW (S m).
Proof.
  induction m as [|m IH]; [unfold dE_lim; simpl; ring|].
  simpl g_lim. rewrite IH, (dE_lim_S pW (S m)). ring.
Qed.

(** ** The statement: derivatives of the trajectory-sum KL and their ratio *)

(** Coquelicot's [Derive] of [KL] (the sum over the token-level trajectory set, [ToyKL.KL]) with respect
    to each logit of the policy, the other two logits and the reference held fixed. *)
Definition dKL_dtheta_s (L T : nat) (ts tC tW qr pCr pWr : R) : R :=
  Derive (fun t => KL L T (sigmoid t) (sigmoid tC) (sigmoid tW) qr pCr pWr) ts.
Definition dKL_dtheta_dC (L T : nat) (ts tC tW qr pCr pWr : R) : R :=
  Derive (fun t => KL L T (sigmoid ts) (sigmoid t) (sigmoid tW) qr pCr pWr) tC.
Definition dKL_dtheta_dW (L T : nat) (ts tC tW qr pCr pWr : R) : R :=
  Derive (fun t => KL L T (sigmoid ts) (sigmoid tC) (sigmoid t) qr pCr pWr) tW.

(** The sampling : decision attribution ratio of the KL gradient. *)
Definition kl_attribution_ratio (L T : nat) (ts tC tW qr pCr pWr : R) : R :=
  Rabs (dKL_dtheta_s L T ts tC tW qr pCr pWr)
  / sqrt (dKL_dtheta_dC L T ts tC tW qr pCr pWr ^ 2 + dKL_dtheta_dW L T ts tC tW qr pCr pWr ^ 2).

(** The limit: [R_oo = |kl_tok'| E_T / (kl_tok |dE_T / dtheta_dW|)]. *)
Definition ratio_limit (T : nat) (q pW qr : R) : R :=
  Rabs (kl_tok_dlogit q qr) * E_lim pW T / (kl_bern q qr * Rabs (dE_lim pW T)).

(** The derivatives, as the directional derivatives of the recursion. *)
Lemma dKL_dtheta_s_eq L m ts tC tW qr pCr pWr :
  0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  dKL_dtheta_s L (S m) ts tC tW qr pCr pWr
  = dKLc L m (sigmoid ts) (sigmoid tC) (sigmoid tW) qr pCr pWr (sig' ts) 0 0.
Proof. intros. apply is_derive_unique, is_derive_KL_theta_s; assumption. Qed.

Lemma dKL_dtheta_dC_eq L m ts tC tW qr pCr pWr :
  0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  dKL_dtheta_dC L (S m) ts tC tW qr pCr pWr
  = dKLc L m (sigmoid ts) (sigmoid tC) (sigmoid tW) qr pCr pWr 0 (sig' tC) 0.
Proof. intros. apply is_derive_unique, is_derive_KL_theta_dC; assumption. Qed.

Lemma dKL_dtheta_dW_eq L m ts tC tW qr pCr pWr :
  0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  dKL_dtheta_dW L (S m) ts tC tW qr pCr pWr
  = dKLc L m (sigmoid ts) (sigmoid tC) (sigmoid tW) qr pCr pWr 0 0 (sig' tW).
Proof. intros. apply is_derive_unique, is_derive_KL_theta_dW; assumption. Qed.

Lemma ratio_rescale a b c L :
  0 < L -> Rabs a / sqrt (b ^ 2 + c ^ 2) = Rabs (a / L) / sqrt ((b / L) ^ 2 + (c / L) ^ 2).
Proof.
  intros HL.
  replace ((b / L) ^ 2 + (c / L) ^ 2) with ((b ^ 2 + c ^ 2) * (/ L) ^ 2) by (field; lra).
  assert (Hs : 0 <= b ^ 2 + c ^ 2) by (apply Rplus_le_le_0_compat; apply pow2_ge_0).
  rewrite sqrt_mult, sqrt_pow2 by (try apply pow2_ge_0; try apply Rlt_le, Rinv_0_lt_compat; lra).
  unfold Rdiv. rewrite Rabs_mult, Rabs_inv, (Rabs_pos_eq L) by lra.
  destruct (Req_dec (sqrt (b ^ 2 + c ^ 2)) 0) as [H0|H0].
  - rewrite H0, Rmult_0_l, Rinv_0. ring.
  - field. split; lra.
Qed.

(** *** Each gradient's order in [L] *)

(** For a budget of [T >= 1] attempts and fixed logits:
    [dKL/dtheta_s / L -> kl_tok' E_T], [dKL/dtheta_dW / L -> kl_tok dE_T/dtheta_dW], and
    [dKL/dtheta_dC -> 0].  Each derivative exists for every [L]. *)
Theorem theorem_3_2_kl_gradient_scaling T ts tC tW qr pCr pWr :
  (1 <= T)%nat -> 0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  (forall L,
     ex_derive (fun t => KL L T (sigmoid t) (sigmoid tC) (sigmoid tW) qr pCr pWr) ts /\
     ex_derive (fun t => KL L T (sigmoid ts) (sigmoid t) (sigmoid tW) qr pCr pWr) tC /\
     ex_derive (fun t => KL L T (sigmoid ts) (sigmoid tC) (sigmoid t) qr pCr pWr) tW) /\
  is_lim_seq (fun L => dKL_dtheta_s L T ts tC tW qr pCr pWr / INR L)
             (kl_tok_dlogit (sigmoid ts) qr * E_lim (sigmoid tW) T) /\
  is_lim_seq (fun L => dKL_dtheta_dW L T ts tC tW qr pCr pWr / INR L)
             (kl_bern (sigmoid ts) qr * dE_lim (sigmoid tW) T) /\
  is_lim_seq (fun L => dKL_dtheta_dC L T ts tC tW qr pCr pWr) 0.
Proof.
  intros HT Hqr HCr HWr. destruct T as [|m]; [lia|].
  pose proof (sigmoid_bounds ts) as Hq.
  split; [|split; [|split]].
  - intro L. repeat split.
    + eexists. apply is_derive_KL_theta_s; assumption.
    + eexists. apply is_derive_KL_theta_dC; assumption.
    + eexists. apply is_derive_KL_theta_dW; assumption.
  - apply (is_lim_seq_ext (fun L => dKLc L m (sigmoid ts) (sigmoid tC) (sigmoid tW) qr pCr pWr
                                      (sig' ts) 0 0 / INR L)).
    { intro L. rewrite dKL_dtheta_s_eq by assumption. reflexivity. }
    eapply lim_eq; [apply KLc_asymptotics; exact Hq|].
    rewrite g_lim_theta_s, <- kl_tok_dlogit_eq by (auto using sigmoid_bounds).
    unfold sig'. ring.
  - apply (is_lim_seq_ext (fun L => dKLc L m (sigmoid ts) (sigmoid tC) (sigmoid tW) qr pCr pWr
                                      0 0 (sig' tW) / INR L)).
    { intro L. rewrite dKL_dtheta_dW_eq by assumption. reflexivity. }
    eapply lim_eq; [apply KLc_asymptotics; exact Hq|].
    apply g_lim_theta_dW.
  - apply (is_lim_seq_ext (fun L => dKLc L m (sigmoid ts) (sigmoid tC) (sigmoid tW) qr pCr pWr
                                      0 (sig' tC) 0)).
    { intro L. rewrite dKL_dtheta_dC_eq by assumption. reflexivity. }
    apply dKLc_dC_vanishes; exact Hq.
Qed.

(** *** Theorem 3.2, the headline counter-result: a finite limit for every fixed budget [T >= 2] *)

Theorem theorem_3_2_kl_ratio_limit T ts tC tW qr pCr pWr :
  (2 <= T)%nat -> 0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 -> sigmoid ts <> qr ->
  (forall L,
     ex_derive (fun t => KL L T (sigmoid t) (sigmoid tC) (sigmoid tW) qr pCr pWr) ts /\
     ex_derive (fun t => KL L T (sigmoid ts) (sigmoid t) (sigmoid tW) qr pCr pWr) tC /\
     ex_derive (fun t => KL L T (sigmoid ts) (sigmoid tC) (sigmoid t) qr pCr pWr) tW) /\
  (exists N, forall L, (N <= L)%nat ->
     0 < sqrt (dKL_dtheta_dC L T ts tC tW qr pCr pWr ^ 2 + dKL_dtheta_dW L T ts tC tW qr pCr pWr ^ 2)) /\
  0 < ratio_limit T (sigmoid ts) (sigmoid tW) qr /\
  is_lim_seq (fun L => kl_attribution_ratio L T ts tC tW qr pCr pWr)
             (Finite (ratio_limit T (sigmoid ts) (sigmoid tW) qr)).
Proof.
  intros HT Hqr HCr HWr Hne.
  destruct (theorem_3_2_kl_gradient_scaling T ts tC tW qr pCr pWr) as [Hex [Hs [HW HC]]];
    [lia | assumption | assumption | assumption |].
  destruct T as [|[|n]]; [lia | lia |].
  set (q := sigmoid ts) in *. set (pW := sigmoid tW) in *.
  pose proof (sigmoid_bounds ts) as Hq. fold q in Hq.
  pose proof (sigmoid_bounds tW) as HpW. fold pW in HpW.
  assert (Hkt : 0 < kl_bern q qr) by (apply kl_bern_pos; assumption).
  assert (HE : 1 <= E_lim pW (S (S n))) by (apply E_lim_ge_1; lra).
  assert (HdE : 0 < dE_lim pW (S (S n))) by (apply dE_lim_pos; assumption).
  set (lW := kl_bern q qr * dE_lim pW (S (S n))) in *.
  assert (HlW : 0 < lW) by (apply Rmult_lt_0_compat; assumption).
  (* the scaled limits, with dKL/dtheta_dC / L -> 0 *)
  assert (HC' : is_lim_seq (fun L => dKL_dtheta_dC L (S (S n)) ts tC tW qr pCr pWr / INR L) 0).
  { eapply lim_eq; [apply lim_mult; [exact HC | exact lim_inv_INR] | ring]. }
  split; [exact Hex | split; [|split]].
  - (* the denominator is eventually positive *)
    apply is_lim_seq_spec in HW.
    destruct (HW (mkposreal (lW / 2) ltac:(lra))) as [N1 HN1].
    exists (max N1 1). intros L HL.
    assert (HL0 : 0 < INR L) by (apply lt_0_INR; lia).
    specialize (HN1 L ltac:(lia)). simpl in HN1.
    apply Rabs_def2 in HN1. destruct HN1 as [_ HN1].
    assert (Hw : 0 < dKL_dtheta_dW L (S (S n)) ts tC tW qr pCr pWr).
    { assert (0 < dKL_dtheta_dW L (S (S n)) ts tC tW qr pCr pWr / INR L) by lra.
      replace (dKL_dtheta_dW L (S (S n)) ts tC tW qr pCr pWr)
        with (dKL_dtheta_dW L (S (S n)) ts tC tW qr pCr pWr / INR L * INR L) by (field; lra).
      apply Rmult_lt_0_compat; assumption. }
    apply sqrt_lt_R0. pose proof (pow2_ge_0 (dKL_dtheta_dC L (S (S n)) ts tC tW qr pCr pWr)).
    pose proof (pow_lt _ 2 Hw). lra.
  - unfold ratio_limit. rewrite (Rabs_pos_eq (dE_lim pW (S (S n)))) by lra.
    apply Rdiv_lt_0_compat; [|apply Rmult_lt_0_compat; assumption].
    apply Rmult_lt_0_compat; [|lra].
    apply Rabs_pos_lt. rewrite <- kl_tok_dlogit_eq by assumption.
    apply Rmult_integral_contrapositive_currified; [apply Rgt_not_eq, Rmult_lt_0_compat; lra|].
    unfold dkl_bern. rewrite !ln_div_pos by lra. intro H0.
    destruct (Rtotal_order q qr) as [Hlt|[Heq|Hgt]]; [| exact (Hne Heq) |].
    + pose proof (ln_increasing _ _ (proj1 Hq) Hlt).
      assert (1 - qr < 1 - q) by lra. pose proof (ln_increasing (1 - qr) (1 - q) ltac:(lra) H1). lra.
    + pose proof (ln_increasing _ _ (proj1 Hqr) Hgt).
      assert (1 - q < 1 - qr) by lra. pose proof (ln_increasing (1 - q) (1 - qr) ltac:(lra) H1). lra.
  - (* the limit of the ratio *)
    apply (is_lim_seq_ext_loc
             (fun L => Rabs (dKL_dtheta_s L (S (S n)) ts tC tW qr pCr pWr / INR L)
                       / sqrt ((dKL_dtheta_dC L (S (S n)) ts tC tW qr pCr pWr / INR L) ^ 2
                               + (dKL_dtheta_dW L (S (S n)) ts tC tW qr pCr pWr / INR L) ^ 2))).
    { exists 1%nat. intros L HL. unfold kl_attribution_ratio. symmetry.
      apply ratio_rescale, lt_0_INR. lia. }
    eapply lim_eq.
    + apply is_lim_seq_div'.
      * exact (is_lim_seq_abs _ (Finite _) Hs).
      * apply (is_lim_seq_continuous sqrt).
        -- apply continuity_pt_sqrt. apply Rplus_le_le_0_compat; apply pow2_ge_0.
        -- apply lim_plus; apply lim_sq; [exact HC' | exact HW].
      * rewrite pow_i, Rplus_0_l, sqrt_pow2 by lia || lra. lra.
    + rewrite pow_i, Rplus_0_l, sqrt_pow2 by lia || lra.
      unfold ratio_limit. fold q pW. rewrite (Rabs_pos_eq (dE_lim pW (S (S n)))) by lra.
      rewrite Rabs_mult, (Rabs_pos_eq (E_lim pW (S (S n)))) by lra.
      unfold lW. reflexivity.
Qed.

(** *** T = 2: [R_oo = (1 + p_dW) |kl_tok'| / (p_dW (1 - p_dW) kl_tok)] *)

Lemma ratio_limit_T2 q pW qr :
  0 < pW < 1 ->
  ratio_limit 2 q pW qr = (1 + pW) * Rabs (kl_tok_dlogit q qr) / (pW * (1 - pW) * kl_bern q qr).
Proof.
  intros HW. unfold ratio_limit, E_lim, dE_lim. simpl sum_below. simpl INR.
  replace (0 + 0 * 1 * (1 - pW) + 1 * (pW * 1) * (1 - pW)) with (pW * (1 - pW)) by ring.
  replace (0 + 1 + pW * 1) with (1 + pW) by ring.
  rewrite (Rabs_pos_eq (pW * (1 - pW))) by (apply Rlt_le, Rmult_lt_0_compat; lra).
  rewrite (Rmult_comm (kl_bern q qr)). unfold Rdiv. ring.
Qed.

Theorem theorem_3_2_kl_ratio_limit_T2 ts tC tW qr pCr pWr :
  0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 -> sigmoid ts <> qr ->
  (exists N, forall L, (N <= L)%nat ->
     0 < sqrt (dKL_dtheta_dC L 2 ts tC tW qr pCr pWr ^ 2 + dKL_dtheta_dW L 2 ts tC tW qr pCr pWr ^ 2)) /\
  is_lim_seq (fun L => kl_attribution_ratio L 2 ts tC tW qr pCr pWr)
             (Finite ((1 + sigmoid tW) * Rabs (kl_tok_dlogit (sigmoid ts) qr)
                      / (sigmoid tW * (1 - sigmoid tW) * kl_bern (sigmoid ts) qr))).
Proof.
  intros Hqr HCr HWr Hne.
  destruct (theorem_3_2_kl_ratio_limit 2 ts tC tW qr pCr pWr) as [_ [HN [_ Hlim]]];
    [lia | assumption | assumption | assumption | assumption |].
  split; [exact HN|].
  rewrite <- ratio_limit_T2 by apply sigmoid_bounds. exact Hlim.
Qed.

(** ** A concrete sigmoid policy meeting every hypothesis *)

(** theta = (theta_s, theta_dC, theta_dW) = (0.8, 0.5, 0.2), reference logits (0.5, 0.2, -0.1):
    every hypothesis of [theorem_3_2_kl_ratio_limit] holds, so for every budget [T >= 2] the ratio
    converges to a finite positive limit (dsproof's sympy gives 40.308..., 22.942..., 17.459... at
    T = 2, 3, 4). *)
Theorem witness_theorem_3_2_kl_ratio_limit :
  let ts := 8 / 10 in let tC := 5 / 10 in let tW := 2 / 10 in
  let qr := sigmoid (5 / 10) in let pCr := sigmoid (2 / 10) in let pWr := sigmoid (- (1 / 10)) in
  (0 < qr < 1 /\ 0 < pCr < 1 /\ 0 < pWr < 1 /\ sigmoid ts <> qr) /\
  (forall T, (2 <= T)%nat ->
     (exists N, forall L, (N <= L)%nat ->
        0 < sqrt (dKL_dtheta_dC L T ts tC tW qr pCr pWr ^ 2 + dKL_dtheta_dW L T ts tC tW qr pCr pWr ^ 2)) /\
     0 < ratio_limit T (sigmoid ts) (sigmoid tW) qr /\
     is_lim_seq (fun L => kl_attribution_ratio L T ts tC tW qr pCr pWr)
                (Finite (ratio_limit T (sigmoid ts) (sigmoid tW) qr))).
Proof.
  intros ts tC tW qr pCr pWr.
  assert (Hh : 0 < qr < 1 /\ 0 < pCr < 1 /\ 0 < pWr < 1 /\ sigmoid ts <> qr).
  { unfold qr, pCr, pWr. repeat split; try apply sigmoid_bounds.
    apply Rgt_not_eq, sigmoid_strict_incr. unfold ts. lra. }
  split; [exact Hh|].
  destruct Hh as [Hqr [HCr [HWr Hne]]].
  intros T HT. apply theorem_3_2_kl_ratio_limit; assumption.
Qed.

Theorem witness_theorem_3_2_kl_ratio_limit_T2 :
  let ts := 8 / 10 in let tC := 5 / 10 in let tW := 2 / 10 in
  let qr := sigmoid (5 / 10) in let pCr := sigmoid (2 / 10) in let pWr := sigmoid (- (1 / 10)) in
  (0 < qr < 1 /\ 0 < pCr < 1 /\ 0 < pWr < 1 /\ sigmoid ts <> qr) /\
  is_lim_seq (fun L => kl_attribution_ratio L 2 ts tC tW qr pCr pWr)
             (Finite ((1 + sigmoid tW) * Rabs (kl_tok_dlogit (sigmoid ts) qr)
                      / (sigmoid tW * (1 - sigmoid tW) * kl_bern (sigmoid ts) qr))).
Proof.
  intros ts tC tW qr pCr pWr.
  destruct witness_theorem_3_2_kl_ratio_limit as [Hh _]. split; [exact Hh|].
  destruct Hh as [Hqr [HCr [HWr Hne]]].
  apply theorem_3_2_kl_ratio_limit_T2; assumption.
Qed.
