(** * KLFixedPs: Theorem 3.2's KL attribution ratio when the first-attempt accuracy is held

    Paper: arXiv:2601.01580, Theorem 3.2 ("|d^sample| / |d^decision| ~ L_k").  [KLLimit] holds every
    logit fixed, so [p_s = q ^ L -> 0].  Here the policy's sampling logit moves with [L] so that the
    first-attempt accuracy stays [P]: [q_L = P ^ (1/L)] (the [fixed-p_s] scalings of dsproof's
    [theory/asymptotics.py]; at [L = 1] they pass through the policy [q = P]).  Two references:

    - [fixed-p_s-ref]: the reference's per-token accuracy [q_ref] is held (per-token KL tends to
      [- log q_ref > 0]);  [theorem_3_2_kl_ratio_limit_fixed_ps_ref]: for every [T >= 2] the ratio tends to
      [P log(1/P) |1 - p_dC - p_dW| / sqrt ((P p_dC (1 - p_dC))^2 + ((1 - P) p_dW (1 - p_dW))^2)],
      independent of [T] and of the reference;
    - [fixed-p_s]: the reference's sampling logit sits a fixed [Delta] below the policy's (per-token KL
      ~ 1/L, the KL and its gradients stay O(1));  [theorem_3_2_kl_ratio_limit_fixed_ps]: for every
      [T >= 2] the ratio tends to an explicit finite limit given by a recursion over the budget, provided
      that limit's decision part is not zero (true whenever [theta_dW >= theta_dW_ref]).

    In both the derivatives are Coquelicot's [Derive] of the trajectory-sum KL of [ToyKL] (the
    definitions [dKL_dtheta_*] and [kl_attribution_ratio] of [KLLimit]).

    Depends on the Coq standard library, Coquelicot, [ToyKL], [KLDerive], [KLLimit]. *)

From Coq Require Import Reals Lra Lia.
From Coquelicot Require Import Coquelicot.
From DSProof Require Import ToyKL KLDerive KLLimit.
Local Open Scope R_scope.

(** ** Helpers *)

Lemma eventually_ge1 (Pr : nat -> Prop) : (forall L, (1 <= L)%nat -> Pr L) -> eventually Pr.
Proof. intros H. exists 1%nat. exact H. Qed.

Lemma eventually_pos_lim (u : nat -> R) (l : R) :
  is_lim_seq u l -> 0 < l -> eventually (fun n => 0 < u n).
Proof.
  intros Hu Hl. apply is_lim_seq_spec in Hu.
  destruct (Hu (mkposreal (l / 2) ltac:(lra))) as [N HN].
  exists N. intros n Hn. specialize (HN n Hn). simpl in HN. apply Rabs_def2 in HN. lra.
Qed.

Lemma INR_pos_ge1 L : (1 <= L)%nat -> 0 < INR L.
Proof. intros. apply lt_0_INR. lia. Qed.

Lemma kl_bern_nonneg p r : 0 < p < 1 -> 0 < r < 1 -> 0 <= kl_bern p r.
Proof.
  intros Hp Hr. destruct (Req_dec p r) as [->|Hne].
  - unfold kl_bern. unfold Rdiv. rewrite !Rinv_r by lra. rewrite ln_1. lra.
  - apply Rlt_le, kl_bern_pos; assumption.
Qed.

(** The ratio of a sequence's gradients tends to the ratio of the limits. *)
Lemma ratio_lim_direct (s c w : nat -> R) (ls lc lw : R) :
  is_lim_seq s ls -> is_lim_seq c lc -> is_lim_seq w lw -> 0 < lc ^ 2 + lw ^ 2 ->
  eventually (fun L => 0 < sqrt (c L ^ 2 + w L ^ 2)) /\
  is_lim_seq (fun L => Rabs (s L) / sqrt (c L ^ 2 + w L ^ 2)) (Rabs ls / sqrt (lc ^ 2 + lw ^ 2)).
Proof.
  intros Hs Hc Hw Hpos.
  assert (Hd : is_lim_seq (fun L => c L ^ 2 + w L ^ 2) (lc ^ 2 + lw ^ 2))
    by (apply lim_plus; apply lim_sq; assumption).
  split.
  - destruct (eventually_pos_lim _ _ Hd Hpos) as [N HN]. exists N. intros L HL.
    apply sqrt_lt_R0, HN, HL.
  - apply is_lim_seq_div'.
    + exact (is_lim_seq_abs _ (Finite _) Hs).
    + apply (is_lim_seq_continuous sqrt); [apply continuity_pt_sqrt; lra | exact Hd].
    + apply Rgt_not_eq, sqrt_lt_R0, Hpos.
Qed.

Lemma ratio_lim_scaled (s c w : nat -> R) (ls lc lw : R) :
  is_lim_seq (fun L => s L / INR L) ls -> is_lim_seq (fun L => c L / INR L) lc ->
  is_lim_seq (fun L => w L / INR L) lw -> 0 < lc ^ 2 + lw ^ 2 ->
  eventually (fun L => 0 < sqrt (c L ^ 2 + w L ^ 2)) /\
  is_lim_seq (fun L => Rabs (s L) / sqrt (c L ^ 2 + w L ^ 2)) (Rabs ls / sqrt (lc ^ 2 + lw ^ 2)).
Proof.
  intros Hs Hc Hw Hpos.
  destruct (ratio_lim_direct _ _ _ _ _ _ Hs Hc Hw Hpos) as [[N HN] Hlim]. split.
  - exists (max N 1). intros L HL. specialize (HN L ltac:(lia)).
    assert (HL0 : 0 < INR L) by (apply INR_pos_ge1; lia).
    apply sqrt_lt_R0.
    destruct (Rle_or_lt ((c L / INR L) ^ 2 + (w L / INR L) ^ 2) 0) as [Hle|Hlt].
    + rewrite sqrt_neg_0 in HN by exact Hle. lra.
    + replace (c L ^ 2 + w L ^ 2) with (((c L / INR L) ^ 2 + (w L / INR L) ^ 2) * (INR L * INR L))
        by (field; lra).
      apply Rmult_lt_0_compat; [exact Hlt | apply Rmult_lt_0_compat; exact HL0].
  - apply (is_lim_seq_ext_loc
             (fun L => Rabs (s L / INR L) / sqrt ((c L / INR L) ^ 2 + (w L / INR L) ^ 2))).
    + apply eventually_ge1. intros L HL. symmetry. apply ratio_rescale, INR_pos_ge1, HL.
    + exact Hlim.
Qed.

(** ** Asymptotics of the recursion along a sequence of points *)

(** Limit of [b]: the probability of RESAMPLE when [p_s -> pi]. *)
Definition beta_lim (pi pC pW : R) : R := pi * (1 - pC) + (1 - pi) * pW.

Lemma lim_resample_seq (qs : nat -> R) (pC pW pi : R) :
  is_lim_seq (fun L => qs L ^ L) pi ->
  is_lim_seq (fun L => resample_prob L (qs L) pC pW) (beta_lim pi pC pW).
Proof.
  intros Hps. unfold resample_prob, p_s, beta_lim.
  eapply lim_eq.
  - apply lim_plus; apply lim_mult; try apply lim_const; try exact Hps.
    apply lim_minus; [apply lim_const | exact Hps].
  - ring.
Qed.

Lemma lim_d_resample_seq (qs dqs : nat -> R) (pC pW dC dW pi rh : R) :
  is_lim_seq (fun L => qs L ^ L) pi ->
  is_lim_seq (fun L => INR L * dqs L * qs L ^ pred L) rh ->
  is_lim_seq (fun L => d_resample_prob L (qs L) pC pW (dqs L) dC dW)
             (rh * (1 - pC - pW) - pi * dC + (1 - pi) * dW).
Proof.
  intros Hps Hr. unfold d_resample_prob.
  apply lim_plus; [apply lim_minus|]; apply lim_mult; try apply lim_const; try assumption.
  apply lim_minus; [apply lim_const | exact Hps].
Qed.

(** *** O(L) regime: the KL and its gradients divided by [L] *)

Fixpoint gL (k pi sg rh pC pW dC dW : R) (m : nat) : R :=
  match m with
  | O => sg
  | S m' => sg + (rh * (1 - pC - pW) - pi * dC + (1 - pi) * dW) * (k * E_lim (beta_lim pi pC pW) (S m'))
            + beta_lim pi pC pW * gL k pi sg rh pC pW dC dW m'
  end.

Theorem KLc_asymptotics_seq (qs qrs dqs : nat -> R) (pC pW pCr pWr dC dW k pi sg rh : R) m :
  is_lim_seq (fun L => kl_bern (qs L) (qrs L)) k ->
  is_lim_seq (fun L => qs L ^ L) pi ->
  is_lim_seq (fun L => dqs L * dkl_bern (qs L) (qrs L)) sg ->
  is_lim_seq (fun L => INR L * dqs L * qs L ^ pred L) rh ->
  is_lim_seq (fun L => KLc L m (qs L) pC pW (qrs L) pCr pWr / INR L)
             (k * E_lim (beta_lim pi pC pW) (S m)) /\
  is_lim_seq (fun L => dKLc L m (qs L) pC pW (qrs L) pCr pWr (dqs L) dC dW / INR L)
             (gL k pi sg rh pC pW dC dW m).
Proof.
  intros Hk Hps Hsg Hrh. induction m as [|m [IHK IHD]].
  - split.
    + apply (is_lim_seq_ext_loc (fun L => kl_bern (qs L) (qrs L))).
      * apply eventually_ge1. intros L HL. simpl KLc. field. apply Rgt_not_eq, INR_pos_ge1, HL.
      * eapply lim_eq; [exact Hk | unfold E_lim; simpl; ring].
    + apply (is_lim_seq_ext_loc (fun L => dqs L * dkl_bern (qs L) (qrs L))).
      * apply eventually_ge1. intros L HL. simpl dKLc. field. apply Rgt_not_eq, INR_pos_ge1, HL.
      * exact Hsg.
  - split.
    + apply (is_lim_seq_ext_loc
               (fun L => (kl_bern (qs L) (qrs L) + qs L ^ L * kl_bern pC pCr * / INR L
                          + (1 - qs L ^ L) * kl_bern pW pWr * / INR L)
                         + resample_prob L (qs L) pC pW * (KLc L m (qs L) pC pW (qrs L) pCr pWr / INR L))).
      * apply eventually_ge1. intros L HL. simpl KLc. unfold kl_step, p_s. field.
        apply Rgt_not_eq, INR_pos_ge1, HL.
      * eapply lim_eq.
        -- apply lim_plus; [apply lim_plus; [apply lim_plus|] | apply lim_mult].
           ++ exact Hk.
           ++ apply lim_mult; [apply lim_mult; [exact Hps | apply lim_const] | apply lim_inv_INR].
           ++ apply lim_mult; [apply lim_mult; [|apply lim_const] | apply lim_inv_INR].
              apply lim_minus; [apply lim_const | exact Hps].
           ++ apply lim_resample_seq; exact Hps.
           ++ exact IHK.
        -- rewrite (E_lim_S _ (S m)). ring.
    + apply (is_lim_seq_ext_loc
               (fun L => (dqs L * dkl_bern (qs L) (qrs L)
                          + INR L * dqs L * qs L ^ pred L * (kl_bern pC pCr - kl_bern pW pWr) * / INR L
                          + qs L ^ L * (dC * dkl_bern pC pCr) * / INR L
                          + (1 - qs L ^ L) * (dW * dkl_bern pW pWr) * / INR L)
                         + (d_resample_prob L (qs L) pC pW (dqs L) dC dW
                              * (KLc L m (qs L) pC pW (qrs L) pCr pWr / INR L)
                            + resample_prob L (qs L) pC pW
                              * (dKLc L m (qs L) pC pW (qrs L) pCr pWr (dqs L) dC dW / INR L)))).
      * apply eventually_ge1. intros L HL. simpl dKLc. unfold d_kl_step. field.
        apply Rgt_not_eq, INR_pos_ge1, HL.
      * eapply lim_eq.
        -- apply lim_plus; [apply lim_plus; [apply lim_plus; [apply lim_plus|]|] | apply lim_plus].
           ++ exact Hsg.
           ++ apply lim_mult; [apply lim_mult; [exact Hrh | apply lim_const] | apply lim_inv_INR].
           ++ apply lim_mult; [apply lim_mult; [exact Hps | apply lim_const] | apply lim_inv_INR].
           ++ apply lim_mult; [apply lim_mult; [|apply lim_const] | apply lim_inv_INR].
              apply lim_minus; [apply lim_const | exact Hps].
           ++ apply lim_mult; [eapply lim_d_resample_seq; eassumption | exact IHK].
           ++ apply lim_mult; [apply lim_resample_seq; exact Hps | exact IHD].
        -- simpl gL. ring.
Qed.

(** [G_m]: [G_0 = 0], [G_(m+1) = E_(m+1) + beta G_m]. *)
Fixpoint G_lim (b : R) (m : nat) : R :=
  match m with
  | O => 0
  | S m' => E_lim b (S m') + b * G_lim b m'
  end.

Lemma gL_sg0 k pi rh pC pW dC dW m :
  gL k pi 0 rh pC pW dC dW m
  = (rh * (1 - pC - pW) - pi * dC + (1 - pi) * dW) * k * G_lim (beta_lim pi pC pW) m.
Proof. induction m as [|m IH]; simpl; [ring | rewrite IH; ring]. Qed.

Lemma G_lim_ge1 b m : 0 <= b -> 1 <= G_lim b (S m).
Proof.
  intros Hb. assert (H0 : forall k, 0 <= G_lim b k).
  { induction k as [|k IH]; simpl; [lra|].
    pose proof (E_lim_ge_1 b k Hb). pose proof (Rmult_le_pos _ _ Hb IH). lra. }
  simpl. pose proof (E_lim_ge_1 b m Hb). pose proof (Rmult_le_pos _ _ Hb (H0 m)). lra.
Qed.

(** *** O(1) regime: the KL and its gradients themselves *)

Fixpoint K1 (k pi pC pW pCr pWr : R) (m : nat) : R :=
  match m with
  | O => k
  | S m' => k + pi * kl_bern pC pCr + (1 - pi) * kl_bern pW pWr
            + beta_lim pi pC pW * K1 k pi pC pW pCr pWr m'
  end.

Fixpoint h1 (k pi sg rh pC pW pCr pWr dC dW : R) (m : nat) : R :=
  match m with
  | O => sg
  | S m' => sg + rh * (kl_bern pC pCr - kl_bern pW pWr) + pi * (dC * dkl_bern pC pCr)
            + (1 - pi) * (dW * dkl_bern pW pWr)
            + (rh * (1 - pC - pW) - pi * dC + (1 - pi) * dW) * K1 k pi pC pW pCr pWr m'
            + beta_lim pi pC pW * h1 k pi sg rh pC pW pCr pWr dC dW m'
  end.

Theorem KLc_asymptotics_seq1 (qs qrs dqs : nat -> R) (pC pW pCr pWr dC dW k pi sg rh : R) m :
  is_lim_seq (fun L => INR L * kl_bern (qs L) (qrs L)) k ->
  is_lim_seq (fun L => qs L ^ L) pi ->
  is_lim_seq (fun L => INR L * (dqs L * dkl_bern (qs L) (qrs L))) sg ->
  is_lim_seq (fun L => INR L * dqs L * qs L ^ pred L) rh ->
  is_lim_seq (fun L => KLc L m (qs L) pC pW (qrs L) pCr pWr) (K1 k pi pC pW pCr pWr m) /\
  is_lim_seq (fun L => dKLc L m (qs L) pC pW (qrs L) pCr pWr (dqs L) dC dW)
             (h1 k pi sg rh pC pW pCr pWr dC dW m).
Proof.
  intros Hk Hps Hsg Hrh. induction m as [|m [IHK IHD]]; [split; assumption|].
  split.
  - apply (is_lim_seq_ext
             (fun L => (INR L * kl_bern (qs L) (qrs L) + qs L ^ L * kl_bern pC pCr
                        + (1 - qs L ^ L) * kl_bern pW pWr)
                       + resample_prob L (qs L) pC pW * KLc L m (qs L) pC pW (qrs L) pCr pWr));
      [intro L; reflexivity|].
    eapply lim_eq.
    + apply lim_plus; [apply lim_plus; [apply lim_plus|] | apply lim_mult].
      * exact Hk.
      * apply lim_mult; [exact Hps | apply lim_const].
      * apply lim_mult; [apply lim_minus; [apply lim_const | exact Hps] | apply lim_const].
      * apply lim_resample_seq; exact Hps.
      * exact IHK.
    + simpl K1. unfold beta_lim. ring.
  - apply (is_lim_seq_ext
             (fun L => (INR L * (dqs L * dkl_bern (qs L) (qrs L))
                        + INR L * dqs L * qs L ^ pred L * (kl_bern pC pCr - kl_bern pW pWr)
                        + qs L ^ L * (dC * dkl_bern pC pCr)
                        + (1 - qs L ^ L) * (dW * dkl_bern pW pWr))
                       + (d_resample_prob L (qs L) pC pW (dqs L) dC dW
                            * KLc L m (qs L) pC pW (qrs L) pCr pWr
                          + resample_prob L (qs L) pC pW
                            * dKLc L m (qs L) pC pW (qrs L) pCr pWr (dqs L) dC dW)));
      [intro L; reflexivity|].
    eapply lim_eq.
    + apply lim_plus; [apply lim_plus; [apply lim_plus; [apply lim_plus|]|] | apply lim_plus].
      * exact Hsg.
      * apply lim_mult; [exact Hrh | apply lim_const].
      * apply lim_mult; [exact Hps | apply lim_const].
      * apply lim_mult; [apply lim_minus; [apply lim_const | exact Hps] | apply lim_const].
      * apply lim_mult; [eapply lim_d_resample_seq; eassumption | exact IHK].
      * apply lim_mult; [apply lim_resample_seq; exact Hps | exact IHD].
    + simpl h1. ring.
Qed.

(** ** The fixed-p_s path: [q_L = P ^ (1/L)] *)

(** [P ^ (1/L)] and the logit. *)
Definition p_root (P : R) (L : nat) : R := exp (ln P / INR L).
Definition logit (p : R) : R := ln (p / (1 - p)).

Lemma sigmoid_logit p : 0 < p < 1 -> sigmoid (logit p) = p.
Proof.
  intros Hp. unfold sigmoid, logit.
  rewrite exp_Ropp, exp_ln by (apply Rdiv_lt_0_compat; lra).
  field. lra.
Qed.

Lemma logit_sigmoid x : logit (sigmoid x) = x.
Proof.
  unfold logit. pose proof (exp_pos (- x)) as He.
  replace (sigmoid x / (1 - sigmoid x)) with (exp x).
  - apply ln_exp.
  - unfold sigmoid. rewrite exp_Ropp in *. pose proof (exp_pos x).
    field. split; lra.
Qed.

Lemma dkl_bern_logit p r : 0 < p < 1 -> 0 < r < 1 -> dkl_bern p r = logit p - logit r.
Proof.
  intros Hp Hr. unfold dkl_bern, logit. rewrite !ln_div_pos by lra. ring.
Qed.

Lemma exp_pow_nat x n : exp x ^ n = exp (INR n * x).
Proof.
  induction n as [|n IH]; [simpl; rewrite Rmult_0_l, exp_0; reflexivity|].
  rewrite S_INR. simpl pow. rewrite IH, <- exp_plus. f_equal. ring.
Qed.

Lemma ln_P_neg P : 0 < P < 1 -> ln P < 0.
Proof. intros HP. rewrite <- ln_1. apply ln_increasing; lra. Qed.

Lemma p_root_bounds P L : 0 < P < 1 -> (1 <= L)%nat -> 0 < p_root P L < 1.
Proof.
  intros HP HL. unfold p_root. split; [apply exp_pos|].
  rewrite <- exp_0. apply exp_increasing.
  pose proof (ln_P_neg P HP). pose proof (INR_pos_ge1 L HL).
  unfold Rdiv. assert (0 < / INR L) by (apply Rinv_0_lt_compat; lra).
  assert (0 < - ln P * / INR L) by (apply Rmult_lt_0_compat; lra). lra.
Qed.

Lemma p_root_pow P L : 0 < P -> (1 <= L)%nat -> p_root P L ^ L = P.
Proof.
  intros HP HL. unfold p_root. rewrite exp_pow_nat.
  replace (INR L * (ln P / INR L)) with (ln P) by (field; apply Rgt_not_eq, INR_pos_ge1, HL).
  apply exp_ln, HP.
Qed.

Lemma p_root_pow_pred P L : 0 < P -> (1 <= L)%nat -> p_root P L * p_root P L ^ pred L = P.
Proof.
  intros HP HL. destruct L as [|L]; [lia|]. simpl pred.
  change (p_root P (S L) ^ S L = P). apply p_root_pow; assumption.
Qed.

Lemma ln_p_root P L : ln (p_root P L) = ln P * / INR L.
Proof. unfold p_root. rewrite ln_exp. reflexivity. Qed.

(** [L (1 - P^(1/L)) -> log (1/P)]. *)
Lemma lim_L_one_minus_root P :
  0 < P < 1 -> is_lim_seq (fun L => INR L * (1 - p_root P L)) (- ln P).
Proof.
  intros HP. pose proof (ln_P_neg P HP) as Ha.
  set (u := fun L => ln P / INR L).
  assert (Hu : is_lim_seq u 0).
  { unfold u, Rdiv. eapply lim_eq; [apply lim_mult; [apply lim_const | apply lim_inv_INR] | ring]. }
  assert (Hne : eventually (fun L => Finite (u L) <> Finite 0)).
  { apply eventually_ge1. intros L HL H. injection H as H. unfold u in H.
    pose proof (INR_pos_ge1 L HL).
    apply (Rmult_eq_compat_r (INR L)) in H. unfold Rdiv in H.
    rewrite Rmult_assoc, Rinv_l, Rmult_1_r, Rmult_0_l in H by lra. lra. }
  pose proof (is_lim_comp_seq (fun y => (exp y - 1) / y) u 0 1 is_lim_div_expm1_0 Hne Hu) as H.
  apply (is_lim_seq_ext_loc (fun L => (- ln P) * ((exp (u L) - 1) / u L))).
  - apply eventually_ge1. intros L HL. pose proof (INR_pos_ge1 L HL).
    unfold u, p_root. field. split; lra.
  - eapply lim_eq; [apply lim_mult; [apply lim_const | exact H] | ring].
Qed.

Lemma lim_one_minus_root P : 0 < P < 1 -> is_lim_seq (fun L => 1 - p_root P L) 0.
Proof.
  intros HP.
  apply (is_lim_seq_ext_loc (fun L => INR L * (1 - p_root P L) * / INR L)).
  - apply eventually_ge1. intros L HL. field. apply Rgt_not_eq, INR_pos_ge1, HL.
  - eapply lim_eq; [apply lim_mult; [apply lim_L_one_minus_root, HP | apply lim_inv_INR] | ring].
Qed.

Lemma lim_root P : 0 < P < 1 -> is_lim_seq (fun L => p_root P L) 1.
Proof.
  intros HP. apply (is_lim_seq_ext (fun L => 1 - (1 - p_root P L))); [intro; ring|].
  eapply lim_eq; [apply lim_minus; [apply lim_const | apply lim_one_minus_root, HP] | ring].
Qed.

Lemma lim_ln_INR_div : is_lim_seq (fun L => ln (INR L) / INR L) 0.
Proof.
  apply (is_lim_comp_seq (fun y => ln y / y) INR p_infty 0 is_lim_div_ln_p).
  - exists 0%nat. intros n _. discriminate.
  - apply is_lim_seq_INR.
Qed.

(** [x log x -> 0] along [x = 1 - P^(1/L)]. *)
Lemma lim_x_ln_x P : 0 < P < 1 -> is_lim_seq (fun L => (1 - p_root P L) * ln (1 - p_root P L)) 0.
Proof.
  intros HP. pose proof (lim_L_one_minus_root P HP) as Hy.
  assert (Hlam : 0 < - ln P) by (pose proof (ln_P_neg P HP); lra).
  assert (Hln : is_lim_seq (fun L => ln (INR L * (1 - p_root P L))) (ln (- ln P))).
  { apply (is_lim_seq_continuous ln); [|exact Hy].
    apply continuity_pt_filterlim. apply continuous_ln. exact Hlam. }
  apply (is_lim_seq_ext_loc
           (fun L => INR L * (1 - p_root P L) * / INR L * ln (INR L * (1 - p_root P L))
                     - INR L * (1 - p_root P L) * (ln (INR L) / INR L))).
  - apply eventually_ge1. intros L HL.
    pose proof (INR_pos_ge1 L HL). pose proof (p_root_bounds P L HP HL).
    rewrite ln_mult by lra. field. lra.
  - eapply lim_eq.
    + apply lim_minus; apply lim_mult; try exact Hln; try exact lim_ln_INR_div; try exact Hy.
      apply lim_mult; [exact Hy | apply lim_inv_INR].
    + ring.
Qed.

(** The sampling logit of the fixed-p_s path: [theta_s(L) = logit (P ^ (1/L))], so
    [sigmoid theta_s(L) = P ^ (1/L)] and the first-attempt accuracy is [P] for every [L >= 1]. *)
Definition theta_s_fixed_ps (P : R) (L : nat) : R := logit (p_root P L).

Lemma p_s_held P L : 0 < P < 1 -> (1 <= L)%nat -> sigmoid (theta_s_fixed_ps P L) ^ L = P.
Proof.
  intros HP HL. unfold theta_s_fixed_ps. rewrite sigmoid_logit by (apply p_root_bounds; assumption).
  apply p_root_pow; [lra | exact HL].
Qed.

(** The derivatives along the path, as directional derivatives of the recursion. *)
Lemma dKL_fixed_ps_eqs P L m tC tW qr pCr pWr :
  0 < P < 1 -> (1 <= L)%nat -> 0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  let q := p_root P L in
  dKL_dtheta_s L (S m) (theta_s_fixed_ps P L) tC tW qr pCr pWr
    = dKLc L m q (sigmoid tC) (sigmoid tW) qr pCr pWr (q * (1 - q)) 0 0 /\
  dKL_dtheta_dC L (S m) (theta_s_fixed_ps P L) tC tW qr pCr pWr
    = dKLc L m q (sigmoid tC) (sigmoid tW) qr pCr pWr 0 (sig' tC) 0 /\
  dKL_dtheta_dW L (S m) (theta_s_fixed_ps P L) tC tW qr pCr pWr
    = dKLc L m q (sigmoid tC) (sigmoid tW) qr pCr pWr 0 0 (sig' tW).
Proof.
  intros HP HL Hqr HCr HWr q.
  assert (Hs : sigmoid (theta_s_fixed_ps P L) = q)
    by (apply sigmoid_logit, p_root_bounds; assumption).
  rewrite dKL_dtheta_s_eq, dKL_dtheta_dC_eq, dKL_dtheta_dW_eq by assumption.
  unfold sig' at 1. rewrite Hs. repeat split.
Qed.

Lemma lim_dq_root_pred P :
  0 < P < 1 ->
  is_lim_seq (fun L => INR L * (p_root P L * (1 - p_root P L)) * p_root P L ^ pred L) (- ln P * P).
Proof.
  intros HP.
  apply (is_lim_seq_ext_loc (fun L => INR L * (1 - p_root P L) * P)).
  - apply eventually_ge1. intros L HL.
    pose proof (p_root_pow_pred P L ltac:(lra) HL) as E.
    transitivity (INR L * (1 - p_root P L) * (p_root P L * p_root P L ^ pred L)); [rewrite E; reflexivity | ring].
  - apply lim_mult; [apply lim_L_one_minus_root, HP | apply lim_const].
Qed.

Lemma lim_zero_dir (qs : nat -> R) (f : nat -> R) :
  is_lim_seq (fun L => INR L * (fun _ => 0) L * qs L ^ pred L) 0 /\
  is_lim_seq (fun L => (fun _ => 0) L * f L) 0 /\
  is_lim_seq (fun L => INR L * ((fun _ => 0) L * f L)) 0.
Proof.
  repeat split; apply (is_lim_seq_ext (fun _ => 0)); try (intro; ring); apply lim_const.
Qed.

(** ** fixed-p_s-ref: the reference's per-token accuracy held *)

(** The limit: [P log(1/P) |1 - p_dC - p_dW| / sqrt ((P p_dC (1 - p_dC))^2 + ((1 - P) p_dW (1 - p_dW))^2)]. *)
Definition ratio_limit_fixed_ps_ref (P pC pW : R) : R :=
  P * (- ln P) * Rabs (1 - pC - pW) / sqrt ((P * (pC * (1 - pC))) ^ 2 + ((1 - P) * (pW * (1 - pW))) ^ 2).

Lemma fixed_ps_ref_hyps P qr :
  0 < P < 1 -> 0 < qr < 1 ->
  is_lim_seq (fun L => kl_bern (p_root P L) qr) (- ln qr) /\
  is_lim_seq (fun L => p_root P L ^ L) P /\
  is_lim_seq (fun L => p_root P L * (1 - p_root P L) * dkl_bern (p_root P L) qr) 0.
Proof.
  intros HP Hqr.
  pose proof (lim_root P HP) as Hq. pose proof (lim_one_minus_root P HP) as Hx.
  pose proof (lim_x_ln_x P HP) as Hxl.
  assert (Hlnq : is_lim_seq (fun L => ln P * / INR L - ln qr) (- ln qr)).
  { eapply lim_eq; [apply lim_minus; [apply lim_mult; [apply lim_const | apply lim_inv_INR] | apply lim_const] | ring]. }
  split; [|split].
  - apply (is_lim_seq_ext_loc
             (fun L => p_root P L * (ln P * / INR L - ln qr)
                       + ((1 - p_root P L) * ln (1 - p_root P L) - (1 - p_root P L) * ln (1 - qr)))).
    + apply eventually_ge1. intros L HL. pose proof (p_root_bounds P L HP HL).
      unfold kl_bern. rewrite !ln_div_pos by lra. rewrite ln_p_root. ring.
    + eapply lim_eq.
      * apply lim_plus; [apply lim_mult; eassumption | apply lim_minus; [exact Hxl|]].
        apply lim_mult; [exact Hx | apply lim_const].
      * ring.
  - apply (is_lim_seq_ext_loc (fun _ => P)); [|apply lim_const].
    apply eventually_ge1. intros L HL. symmetry. apply p_root_pow; [lra | exact HL].
  - apply (is_lim_seq_ext_loc
             (fun L => p_root P L * ((1 - p_root P L) * (ln P * / INR L - ln qr)
                                     - (1 - p_root P L) * ln (1 - p_root P L)
                                     + (1 - p_root P L) * ln (1 - qr)))).
    + apply eventually_ge1. intros L HL. pose proof (p_root_bounds P L HP HL).
      unfold dkl_bern. rewrite !ln_div_pos by lra. rewrite ln_p_root. ring.
    + eapply lim_eq.
      * apply lim_mult; [exact Hq|].
        apply lim_plus; [apply lim_minus; [apply lim_mult; eassumption | exact Hxl]|].
        apply lim_mult; [exact Hx | apply lim_const].
      * ring.
Qed.

Theorem theorem_3_2_kl_ratio_limit_fixed_ps_ref T P tC tW qr pCr pWr :
  (2 <= T)%nat -> 0 < P < 1 -> 0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  (forall L, (1 <= L)%nat -> sigmoid (theta_s_fixed_ps P L) ^ L = P) /\
  (exists N, forall L, (N <= L)%nat ->
     0 < sqrt (dKL_dtheta_dC L T (theta_s_fixed_ps P L) tC tW qr pCr pWr ^ 2
               + dKL_dtheta_dW L T (theta_s_fixed_ps P L) tC tW qr pCr pWr ^ 2)) /\
  is_lim_seq (fun L => kl_attribution_ratio L T (theta_s_fixed_ps P L) tC tW qr pCr pWr)
             (Finite (ratio_limit_fixed_ps_ref P (sigmoid tC) (sigmoid tW))).
Proof.
  intros HT HP Hqr HCr HWr.
  split; [intros L HL; apply p_s_held; assumption|].
  destruct T as [|[|n]]; [lia | lia |].
  set (pC := sigmoid tC). set (pW := sigmoid tW).
  pose proof (sigmoid_bounds tC) as HpC. pose proof (sigmoid_bounds tW) as HpW. fold pC in HpC. fold pW in HpW.
  destruct (fixed_ps_ref_hyps P qr HP Hqr) as [Hk [Hps Hsg]].
  pose proof (lim_dq_root_pred P HP) as Hrh.
  destruct (lim_zero_dir (p_root P) (fun L => dkl_bern (p_root P L) qr)) as [Hz1 [Hz2 _]].
  set (qs := p_root P) in *. set (qrs := fun _ : nat => qr).
  (* the three scaled limits *)
  destruct (KLc_asymptotics_seq qs qrs (fun L => qs L * (1 - qs L)) pC pW pCr pWr 0 0
              (- ln qr) P 0 (- ln P * P) (S n) Hk Hps Hsg Hrh) as [_ Hs].
  destruct (KLc_asymptotics_seq qs qrs (fun _ => 0) pC pW pCr pWr (sig' tC) 0
              (- ln qr) P 0 0 (S n) Hk Hps Hz2 Hz1) as [_ Hc].
  destruct (KLc_asymptotics_seq qs qrs (fun _ => 0) pC pW pCr pWr 0 (sig' tW)
              (- ln qr) P 0 0 (S n) Hk Hps Hz2 Hz1) as [_ Hw].
  rewrite gL_sg0 in Hs, Hc, Hw.
  set (b := beta_lim P pC pW) in *.
  set (kG := - ln qr * G_lim b (S n)).
  assert (HkG : 0 < kG).
  { unfold kG. apply Rmult_lt_0_compat.
    - pose proof (ln_P_neg qr Hqr). lra.
    - apply Rlt_le_trans with 1; [lra|]. apply G_lim_ge1. unfold b, beta_lim.
      apply Rplus_le_le_0_compat; apply Rmult_le_pos; lra. }
  set (cs := - ln P * P * (1 - pC - pW) - P * 0 + (1 - P) * 0) in *.
  set (cc := 0 * (1 - pC - pW) - P * sig' tC + (1 - P) * 0) in *.
  set (cw := 0 * (1 - pC - pW) - P * 0 + (1 - P) * sig' tW) in *.
  assert (Hcw : 0 < cw).
  { unfold cw, sig'. fold pW. assert (0 < pW * (1 - pW)) by (apply Rmult_lt_0_compat; lra).
    assert (0 < (1 - P) * (pW * (1 - pW))) by (apply Rmult_lt_0_compat; lra). lra. }
  assert (Hpos : 0 < (cc * kG) ^ 2 + (cw * kG) ^ 2).
  { pose proof (pow2_ge_0 (cc * kG)). pose proof (pow_lt (cw * kG) 2 ltac:(apply Rmult_lt_0_compat; lra)). lra. }
  destruct (ratio_lim_scaled
              (fun L => dKL_dtheta_s L (S (S n)) (theta_s_fixed_ps P L) tC tW qr pCr pWr)
              (fun L => dKL_dtheta_dC L (S (S n)) (theta_s_fixed_ps P L) tC tW qr pCr pWr)
              (fun L => dKL_dtheta_dW L (S (S n)) (theta_s_fixed_ps P L) tC tW qr pCr pWr)
              (cs * kG) (cc * kG) (cw * kG)) as [[N HN] Hlim].
  - apply (is_lim_seq_ext_loc (fun L => dKLc L (S n) (qs L) pC pW (qrs L) pCr pWr (qs L * (1 - qs L)) 0 0 / INR L)).
    + apply eventually_ge1. intros L HL. f_equal. symmetry.
      exact (proj1 (dKL_fixed_ps_eqs P L (S n) tC tW qr pCr pWr HP HL Hqr HCr HWr)).
    + eapply lim_eq; [exact Hs | unfold kG; ring].
  - apply (is_lim_seq_ext_loc (fun L => dKLc L (S n) (qs L) pC pW (qrs L) pCr pWr 0 (sig' tC) 0 / INR L)).
    + apply eventually_ge1. intros L HL. f_equal. symmetry.
      exact (proj1 (proj2 (dKL_fixed_ps_eqs P L (S n) tC tW qr pCr pWr HP HL Hqr HCr HWr))).
    + eapply lim_eq; [exact Hc | unfold kG; ring].
  - apply (is_lim_seq_ext_loc (fun L => dKLc L (S n) (qs L) pC pW (qrs L) pCr pWr 0 0 (sig' tW) / INR L)).
    + apply eventually_ge1. intros L HL. f_equal. symmetry.
      exact (proj2 (proj2 (dKL_fixed_ps_eqs P L (S n) tC tW qr pCr pWr HP HL Hqr HCr HWr))).
    + eapply lim_eq; [exact Hw | unfold kG; ring].
  - exact Hpos.
  - split; [exists N; exact HN|].
    unfold kl_attribution_ratio. eapply lim_eq; [exact Hlim|].
    (* cancel the common positive factor kG *)
    replace ((cc * kG) ^ 2 + (cw * kG) ^ 2) with ((cc ^ 2 + cw ^ 2) * kG ^ 2) by ring.
    rewrite sqrt_mult, sqrt_pow2, Rabs_mult, (Rabs_pos_eq kG)
      by (try apply pow2_ge_0; try (apply Rplus_le_le_0_compat; apply pow2_ge_0); lra).
    unfold ratio_limit_fixed_ps_ref, cs, cc, cw, sig'. fold pC pW.
    assert (Hlam : 0 < - ln P) by (pose proof (ln_P_neg P HP); lra).
    replace (- ln P * P * (1 - pC - pW) - P * 0 + (1 - P) * 0) with ((P * - ln P) * (1 - pC - pW)) by ring.
    rewrite Rabs_mult, (Rabs_pos_eq (P * - ln P)) by (apply Rlt_le, Rmult_lt_0_compat; lra).
    replace ((0 * (1 - pC - pW) - P * (pC * (1 - pC)) + (1 - P) * 0) ^ 2) with ((P * (pC * (1 - pC))) ^ 2) by ring.
    replace (0 * (1 - pC - pW) - P * 0 + (1 - P) * (pW * (1 - pW))) with ((1 - P) * (pW * (1 - pW))) by ring.
    assert (Hsq : 0 < sqrt ((P * (pC * (1 - pC))) ^ 2 + ((1 - P) * (pW * (1 - pW))) ^ 2)).
    { apply sqrt_lt_R0. pose proof (pow2_ge_0 (P * (pC * (1 - pC)))).
      assert (0 < (1 - P) * (pW * (1 - pW))) by (apply Rmult_lt_0_compat; [lra | apply Rmult_lt_0_compat; lra]).
      pose proof (pow_lt _ 2 H0). lra. }
    field. split; lra.
Qed.

(** ** fixed-p_s: the reference's sampling logit a fixed [Delta] below the policy's *)

(** The reference's per-token accuracy on the path. *)
Definition q_ref_fixed_ps (P Delta : R) (L : nat) : R := sigmoid (theta_s_fixed_ps P L - Delta).

Lemma sigmoid_shift q Delta : 0 < q < 1 -> sigmoid (logit q - Delta) = q / (q + (1 - q) * exp Delta).
Proof.
  intros Hq. unfold sigmoid, logit.
  replace (- (ln (q / (1 - q)) - Delta)) with (Delta + - ln (q / (1 - q))) by ring.
  rewrite exp_plus, exp_Ropp, exp_ln by (apply Rdiv_lt_0_compat; lra).
  pose proof (exp_pos Delta).
  assert (0 < (1 - q) * exp Delta) by (apply Rmult_lt_0_compat; lra).
  field. repeat split; lra.
Qed.

(** With [x = 1 - q] and [c = exp Delta - 1]: [kl_tok = log (1 + x c) - x Delta], [kl_tok' = Delta]. *)
Lemma kl_shift q Delta :
  0 < q < 1 ->
  let qr := q / (q + (1 - q) * exp Delta) in
  kl_bern q qr = ln (1 + (1 - q) * (exp Delta - 1)) - (1 - q) * Delta /\ dkl_bern q qr = Delta.
Proof.
  intros Hq qr. pose proof (exp_pos Delta) as He.
  assert (Hd : 0 < q + (1 - q) * exp Delta) by (assert (0 < (1 - q) * exp Delta) by (apply Rmult_lt_0_compat; lra); lra).
  assert (E1 : q / qr = 1 + (1 - q) * (exp Delta - 1)) by (unfold qr; field; split; lra).
  assert (E2 : (1 - q) / (1 - qr) = (1 + (1 - q) * (exp Delta - 1)) * / exp Delta).
  { unfold qr. field. repeat split; try lra.
    replace (q + (1 - q) * exp Delta - q) with ((1 - q) * exp Delta) by ring.
    apply Rgt_not_eq, Rmult_lt_0_compat; lra. }
  assert (Hpos : 0 < 1 + (1 - q) * (exp Delta - 1)) by (replace (1 + (1 - q) * (exp Delta - 1)) with (q + (1 - q) * exp Delta) by ring; exact Hd).
  unfold kl_bern, dkl_bern. rewrite E1, E2, ln_mult, ln_Rinv, ln_exp by (try apply Rinv_0_lt_compat; lra).
  split; ring.
Qed.

Definition kappa_fixed_ps (P Delta : R) : R := - ln P * (exp Delta - 1 - Delta).

Lemma fixed_ps_hyps P Delta :
  0 < P < 1 -> Delta <> 0 ->
  is_lim_seq (fun L => INR L * kl_bern (p_root P L) (q_ref_fixed_ps P Delta L)) (kappa_fixed_ps P Delta) /\
  is_lim_seq (fun L => INR L * (p_root P L * (1 - p_root P L)
                                * dkl_bern (p_root P L) (q_ref_fixed_ps P Delta L))) (- ln P * Delta) /\
  (forall L, (1 <= L)%nat -> dkl_bern (p_root P L) (q_ref_fixed_ps P Delta L) = Delta).
Proof.
  intros HP HD.
  pose proof (lim_L_one_minus_root P HP) as Hy. pose proof (lim_root P HP) as Hq.
  set (c := exp Delta - 1).
  assert (Hc : c <> 0).
  { unfold c. intro H. apply HD. apply exp_inv. rewrite exp_0. lra. }
  assert (Hshift : forall L, (1 <= L)%nat ->
            q_ref_fixed_ps P Delta L = p_root P L / (p_root P L + (1 - p_root P L) * exp Delta)).
  { intros L HL. unfold q_ref_fixed_ps, theta_s_fixed_ps. apply sigmoid_shift, p_root_bounds; assumption. }
  split; [|split].
  - (* L log (1 + x c) -> c log(1/P), by log(1 + y) / y -> 1 *)
    set (y := fun L => (1 - p_root P L) * c).
    assert (Hy0 : is_lim_seq y 0).
    { unfold y. eapply lim_eq; [apply lim_mult; [apply lim_one_minus_root, HP | apply lim_const] | ring]. }
    assert (Hne : eventually (fun L => Finite (y L) <> Finite 0)).
    { apply eventually_ge1. intros L HL H. injection H as H. unfold y in H.
      pose proof (p_root_bounds P L HP HL). apply Rmult_integral in H as [H|H]; [lra | exact (Hc H)]. }
    pose proof (is_lim_comp_seq (fun z => ln (1 + z) / z) y 0 1 is_lim_div_ln1p_0 Hne Hy0) as Hl.
    apply (is_lim_seq_ext_loc
             (fun L => (INR L * (1 - p_root P L)) * c * (ln (1 + y L) / y L)
                       - (INR L * (1 - p_root P L)) * Delta)).
    + apply eventually_ge1. intros L HL. pose proof (p_root_bounds P L HP HL).
      rewrite Hshift by exact HL. destruct (kl_shift (p_root P L) Delta) as [Hkl _]; [assumption|].
      rewrite Hkl. fold c. unfold y. field. split; [exact Hc | lra].
    + eapply lim_eq.
      * apply lim_minus; [apply lim_mult; [apply lim_mult; [exact Hy | apply lim_const] | exact Hl]|].
        apply lim_mult; [exact Hy | apply lim_const].
      * unfold kappa_fixed_ps, c. ring.
  - apply (is_lim_seq_ext_loc (fun L => p_root P L * (INR L * (1 - p_root P L)) * Delta)).
    + apply eventually_ge1. intros L HL. pose proof (p_root_bounds P L HP HL).
      rewrite Hshift by exact HL. destruct (kl_shift (p_root P L) Delta) as [_ Hdk]; [assumption|].
      rewrite Hdk. ring.
    + eapply lim_eq; [apply lim_mult; [apply lim_mult; [exact Hq | exact Hy] | apply lim_const] | ring].
  - intros L HL. rewrite Hshift by exact HL. apply kl_shift, p_root_bounds; assumption.
Qed.

(** The limits of [dKL/dtheta_s], [dKL/dtheta_dC], [dKL/dtheta_dW] along the fixed-p_s path
    (budget [T = S m]): the recursion [h1] at the path's constants. *)
Definition fixed_ps_grad_s (P Delta pC pW pCr pWr : R) (m : nat) : R :=
  h1 (kappa_fixed_ps P Delta) P (- ln P * Delta) (- ln P * P) pC pW pCr pWr 0 0 m.
Definition fixed_ps_grad_dC (P Delta pC pW pCr pWr : R) (m : nat) : R :=
  h1 (kappa_fixed_ps P Delta) P 0 0 pC pW pCr pWr (pC * (1 - pC)) 0 m.
Definition fixed_ps_grad_dW (P Delta pC pW pCr pWr : R) (m : nat) : R :=
  h1 (kappa_fixed_ps P Delta) P 0 0 pC pW pCr pWr 0 (pW * (1 - pW)) m.

Definition ratio_limit_fixed_ps (T : nat) (P Delta pC pW pCr pWr : R) : R :=
  Rabs (fixed_ps_grad_s P Delta pC pW pCr pWr (pred T))
  / sqrt (fixed_ps_grad_dC P Delta pC pW pCr pWr (pred T) ^ 2
          + fixed_ps_grad_dW P Delta pC pW pCr pWr (pred T) ^ 2).

Theorem theorem_3_2_kl_ratio_limit_fixed_ps T P Delta tC tW pCr pWr :
  (2 <= T)%nat -> 0 < P < 1 -> Delta <> 0 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  0 < fixed_ps_grad_dC P Delta (sigmoid tC) (sigmoid tW) pCr pWr (pred T) ^ 2
      + fixed_ps_grad_dW P Delta (sigmoid tC) (sigmoid tW) pCr pWr (pred T) ^ 2 ->
  (forall L, (1 <= L)%nat -> sigmoid (theta_s_fixed_ps P L) ^ L = P) /\
  (forall L, (1 <= L)%nat ->
     q_ref_fixed_ps P Delta L = sigmoid (theta_s_fixed_ps P L - Delta)) /\
  (exists N, forall L, (N <= L)%nat ->
     0 < sqrt (dKL_dtheta_dC L T (theta_s_fixed_ps P L) tC tW (q_ref_fixed_ps P Delta L) pCr pWr ^ 2
               + dKL_dtheta_dW L T (theta_s_fixed_ps P L) tC tW (q_ref_fixed_ps P Delta L) pCr pWr ^ 2)) /\
  is_lim_seq (fun L => kl_attribution_ratio L T (theta_s_fixed_ps P L) tC tW (q_ref_fixed_ps P Delta L) pCr pWr)
             (Finite (ratio_limit_fixed_ps T P Delta (sigmoid tC) (sigmoid tW) pCr pWr)).
Proof.
  intros HT HP HD HCr HWr Hpos.
  split; [intros L HL; apply p_s_held; assumption|].
  split; [intros L HL; reflexivity|].
  destruct T as [|m]; [lia|]. simpl pred in Hpos |- *.
  set (pC := sigmoid tC) in *. set (pW := sigmoid tW) in *.
  destruct (fixed_ps_hyps P Delta HP HD) as [Hk [Hsg Hdk]].
  pose proof (lim_dq_root_pred P HP) as Hrh.
  assert (Hps : is_lim_seq (fun L => p_root P L ^ L) P).
  { apply (is_lim_seq_ext_loc (fun _ => P)); [|apply lim_const].
    apply eventually_ge1. intros L HL. symmetry. apply p_root_pow; [lra | exact HL]. }
  destruct (lim_zero_dir (p_root P) (fun L => dkl_bern (p_root P L) (q_ref_fixed_ps P Delta L)))
    as [Hz1 [_ Hz3]].
  set (qs := p_root P) in *. set (qrs := q_ref_fixed_ps P Delta) in *.
  destruct (KLc_asymptotics_seq1 qs qrs (fun L => qs L * (1 - qs L)) pC pW pCr pWr 0 0
              (kappa_fixed_ps P Delta) P (- ln P * Delta) (- ln P * P) m Hk Hps) as [_ Hs];
    [eapply is_lim_seq_ext; [|exact Hsg]; intro; simpl; ring | exact Hrh |].
  destruct (KLc_asymptotics_seq1 qs qrs (fun _ => 0) pC pW pCr pWr (sig' tC) 0
              (kappa_fixed_ps P Delta) P 0 0 m Hk Hps Hz3 Hz1) as [_ Hc].
  destruct (KLc_asymptotics_seq1 qs qrs (fun _ => 0) pC pW pCr pWr 0 (sig' tW)
              (kappa_fixed_ps P Delta) P 0 0 m Hk Hps Hz3 Hz1) as [_ Hw].
  assert (Hqr : forall L, (1 <= L)%nat -> 0 < qrs L < 1) by (intros; apply sigmoid_bounds).
  assert (Heqs : forall L, (1 <= L)%nat ->
            dKL_dtheta_s L (S m) (theta_s_fixed_ps P L) tC tW (qrs L) pCr pWr
              = dKLc L m (qs L) pC pW (qrs L) pCr pWr (qs L * (1 - qs L)) 0 0 /\
            dKL_dtheta_dC L (S m) (theta_s_fixed_ps P L) tC tW (qrs L) pCr pWr
              = dKLc L m (qs L) pC pW (qrs L) pCr pWr 0 (sig' tC) 0 /\
            dKL_dtheta_dW L (S m) (theta_s_fixed_ps P L) tC tW (qrs L) pCr pWr
              = dKLc L m (qs L) pC pW (qrs L) pCr pWr 0 0 (sig' tW)).
  { intros L HL. exact (dKL_fixed_ps_eqs P L m tC tW (qrs L) pCr pWr HP HL (Hqr L HL) HCr HWr). }
  destruct (ratio_lim_direct
              (fun L => dKL_dtheta_s L (S m) (theta_s_fixed_ps P L) tC tW (qrs L) pCr pWr)
              (fun L => dKL_dtheta_dC L (S m) (theta_s_fixed_ps P L) tC tW (qrs L) pCr pWr)
              (fun L => dKL_dtheta_dW L (S m) (theta_s_fixed_ps P L) tC tW (qrs L) pCr pWr)
              (fixed_ps_grad_s P Delta pC pW pCr pWr m)
              (fixed_ps_grad_dC P Delta pC pW pCr pWr m)
              (fixed_ps_grad_dW P Delta pC pW pCr pWr m)) as [[N HN] Hlim].
  - apply (is_lim_seq_ext_loc (fun L => dKLc L m (qs L) pC pW (qrs L) pCr pWr (qs L * (1 - qs L)) 0 0)).
    + apply eventually_ge1. intros L HL. symmetry. exact (proj1 (Heqs L HL)).
    + exact Hs.
  - apply (is_lim_seq_ext_loc (fun L => dKLc L m (qs L) pC pW (qrs L) pCr pWr 0 (sig' tC) 0)).
    + apply eventually_ge1. intros L HL. symmetry. exact (proj1 (proj2 (Heqs L HL))).
    + exact Hc.
  - apply (is_lim_seq_ext_loc (fun L => dKLc L m (qs L) pC pW (qrs L) pCr pWr 0 0 (sig' tW))).
    + apply eventually_ge1. intros L HL. symmetry. exact (proj2 (proj2 (Heqs L HL))).
    + exact Hw.
  - exact Hpos.
  - split; [exists N; exact HN|]. exact Hlim.
Qed.

(** A sufficient condition for the hypothesis on the decision gradient's limit: the policy's
    [theta_dW] is at least the reference's ([dkl_bern pW pWr = theta_dW - theta_dW_ref >= 0]). *)
Lemma fixed_ps_grad_dW_pos P Delta pC pW pCr pWr m :
  0 < P < 1 -> Delta <> 0 -> 0 < pC < 1 -> 0 < pW < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  0 <= dkl_bern pW pWr -> 0 < fixed_ps_grad_dW P Delta pC pW pCr pWr (S m).
Proof.
  intros HP HD HC HW HCr HWr Hdk.
  set (k := kappa_fixed_ps P Delta).
  assert (Hk : 0 < k).
  { unfold k, kappa_fixed_ps. apply Rmult_lt_0_compat.
    - pose proof (ln_P_neg P HP). lra.
    - pose proof (exp_ineq1 Delta HD). lra. }
  set (b := beta_lim P pC pW).
  assert (Hb : 0 <= b) by (unfold b, beta_lim; apply Rplus_le_le_0_compat; apply Rmult_le_pos; lra).
  pose proof (kl_bern_nonneg pC pCr HC HCr) as HkC. pose proof (kl_bern_nonneg pW pWr HW HWr) as HkW.
  assert (HK : forall j, k <= K1 k P pC pW pCr pWr j).
  { induction j as [|j IH]; simpl K1; [lra|]. fold b.
    assert (0 <= P * kl_bern pC pCr) by (apply Rmult_le_pos; lra).
    assert (0 <= (1 - P) * kl_bern pW pWr) by (apply Rmult_le_pos; lra).
    assert (0 <= b * K1 k P pC pW pCr pWr j) by (apply Rmult_le_pos; lra).
    lra. }
  set (w := (1 - P) * (pW * (1 - pW))).
  assert (Hw : 0 < w) by (unfold w; apply Rmult_lt_0_compat; [lra | apply Rmult_lt_0_compat; lra]).
  (* one step of the recursion: h(S j) = w dkl_W + w K1_j + b h_j *)
  assert (Hstep : forall j, fixed_ps_grad_dW P Delta pC pW pCr pWr (S j)
                  = w * dkl_bern pW pWr + w * K1 k P pC pW pCr pWr j
                    + b * fixed_ps_grad_dW P Delta pC pW pCr pWr j).
  { intro j. unfold fixed_ps_grad_dW. fold k. simpl h1. fold b. unfold w. ring. }
  assert (H0 : forall j, 0 <= fixed_ps_grad_dW P Delta pC pW pCr pWr j).
  { induction j as [|j IH]; [unfold fixed_ps_grad_dW; simpl; lra|].
    rewrite Hstep. pose proof (HK j).
    assert (0 <= w * dkl_bern pW pWr) by (apply Rmult_le_pos; lra).
    assert (0 <= w * K1 k P pC pW pCr pWr j) by (apply Rmult_le_pos; lra).
    assert (0 <= b * fixed_ps_grad_dW P Delta pC pW pCr pWr j) by (apply Rmult_le_pos; lra).
    lra. }
  rewrite Hstep. pose proof (HK m).
  assert (0 <= w * dkl_bern pW pWr) by (apply Rmult_le_pos; lra).
  assert (0 < w * K1 k P pC pW pCr pWr m) by (apply Rmult_lt_0_compat; lra).
  assert (0 <= b * fixed_ps_grad_dW P Delta pC pW pCr pWr m) by (apply Rmult_le_pos; [lra | apply H0]).
  lra.
Qed.

(** ** Concrete instances of both scalings *)

(** The fixed-p_s paths through the policy theta = (0.8, 0.5, 0.2) with reference (0.5, 0.2, -0.1)
    at [L = 1]: [P = sigmoid 0.8]; fixed-p_s-ref holds [q_ref = sigmoid 0.5]; fixed-p_s holds
    [Delta = 0.3].  Every hypothesis holds, for every budget [T >= 2]. *)
Theorem witness_theorem_3_2_kl_ratio_limit_fixed_ps :
  let P := sigmoid (8 / 10) in let tC := 5 / 10 in let tW := 2 / 10 in
  let qr := sigmoid (5 / 10) in let Delta := 3 / 10 in
  let pCr := sigmoid (2 / 10) in let pWr := sigmoid (- (1 / 10)) in
  (forall T, (2 <= T)%nat ->
     is_lim_seq (fun L => kl_attribution_ratio L T (theta_s_fixed_ps P L) tC tW qr pCr pWr)
                (Finite (ratio_limit_fixed_ps_ref P (sigmoid tC) (sigmoid tW)))) /\
  (forall T, (2 <= T)%nat ->
     0 < fixed_ps_grad_dC P Delta (sigmoid tC) (sigmoid tW) pCr pWr (pred T) ^ 2
         + fixed_ps_grad_dW P Delta (sigmoid tC) (sigmoid tW) pCr pWr (pred T) ^ 2 /\
     is_lim_seq (fun L => kl_attribution_ratio L T (theta_s_fixed_ps P L) tC tW
                            (q_ref_fixed_ps P Delta L) pCr pWr)
                (Finite (ratio_limit_fixed_ps T P Delta (sigmoid tC) (sigmoid tW) pCr pWr))).
Proof.
  intros P tC tW qr Delta pCr pWr.
  assert (HP : 0 < P < 1) by apply sigmoid_bounds.
  assert (Hqr : 0 < qr < 1) by apply sigmoid_bounds.
  assert (HCr : 0 < pCr < 1) by apply sigmoid_bounds.
  assert (HWr : 0 < pWr < 1) by apply sigmoid_bounds.
  assert (HD : Delta <> 0) by (unfold Delta; lra).
  split.
  - intros T HT. apply theorem_3_2_kl_ratio_limit_fixed_ps_ref; assumption.
  - intros T HT.
    assert (Hpos : 0 < fixed_ps_grad_dC P Delta (sigmoid tC) (sigmoid tW) pCr pWr (pred T) ^ 2
                       + fixed_ps_grad_dW P Delta (sigmoid tC) (sigmoid tW) pCr pWr (pred T) ^ 2).
    { destruct T as [|[|n]]; [lia | lia |]. simpl pred.
      pose proof (pow2_ge_0 (fixed_ps_grad_dC P Delta (sigmoid tC) (sigmoid tW) pCr pWr (S n))).
      assert (HdW : 0 < fixed_ps_grad_dW P Delta (sigmoid tC) (sigmoid tW) pCr pWr (S n)).
      { apply fixed_ps_grad_dW_pos; try apply sigmoid_bounds; try assumption.
        unfold pWr. rewrite dkl_bern_logit by apply sigmoid_bounds. rewrite !logit_sigmoid.
        unfold tW. lra. }
      pose proof (pow_lt _ 2 HdW). lra. }
    split; [exact Hpos|].
    apply theorem_3_2_kl_ratio_limit_fixed_ps; assumption.
Qed.
