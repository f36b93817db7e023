(** * ToyKL: the token-level two-stage toy process and its sequence-level KL

    Paper: Zhao, Zha, Zhang, Xu, "The Two-Stage Decision-Sampling Hypothesis" (arXiv:2601.01580),
    Appendix C toy model generalised as in dsproof's [theory/toy.py]:

    - an attempt is [L] i.i.d. answer tokens, each correct with probability [q]; the attempt is correct
      iff all [L] tokens are ([p_s = q ^ L]); all [L] tokens are always sampled;
    - after attempt [k < T] one decision token: STOP with probability [pC] after a correct attempt,
      RESAMPLE with probability [pW] after a wrong one; after attempt [T] the episode ends (budget cap);
    - a reference policy of the same form with probabilities [qr, pCr, pWr].

    Everything below is defined from the token level: the trajectory set [trajectories L T] is the list
    of full token sequences, [traj_prob] is the product of the per-token (prefix-conditioned) policy
    probabilities along the path, and [KL] is [sum_tau P log (P / P_ref)] over that set.  The attempt
    recursion of the closed form ([KL_one_attempt], [KL_recursion]) is a theorem.

    Depends only on the Coq standard library. *)

From Coq Require Import Reals List Bool Lra Lia FinFun.
Import ListNotations.
Local Open Scope R_scope.

(** ** Tokens and trajectories *)

(** A token is an answer token of an attempt (correct or wrong) or a decision token
    ([Dec true] = STOP, [Dec false] = RESAMPLE). *)
Inductive token : Set :=
  | Ans (correct : bool)
  | Dec (stop : bool).

Definition STOP : token := Dec true.
Definition RESAMPLE : token := Dec false.

(** A history (prefix) is the list of tokens generated so far, oldest first. *)
Definition history : Set := list token.

(** All [2 ^ L] correctness patterns of the [L] answer tokens of one attempt. *)
Fixpoint attempts (L : nat) : list (list bool) :=
  match L with
  | O => [ [] ]
  | S L' => map (cons true) (attempts L') ++ map (cons false) (attempts L')
  end.

(** The token string of an attempt. *)
Definition attempt (a : list bool) : list token := map Ans a.

(** An attempt is correct iff all its answer tokens are. *)
Definition all_correct (a : list bool) : bool := forallb (fun c => c) a.

(** [episodes L m]: all token sequences of an episode that has the current attempt and at most [m]
    further attempts.  With [m = 0] the attempt is the last one allowed: no decision token follows
    (budget cap).  Otherwise the attempt is followed by STOP (end) or by RESAMPLE and an episode with
    [m - 1] further attempts. *)
Fixpoint episodes (L m : nat) : list (list token) :=
  match m with
  | O => map attempt (attempts L)
  | S m' =>
      flat_map (fun a => (attempt a ++ [STOP])
                           :: map (fun t => attempt a ++ RESAMPLE :: t) (episodes L m'))
               (attempts L)
  end.

(** The trajectory set of the process with budget [T] attempts of [L] tokens. *)
Definition trajectories (L T : nat) : list (list token) :=
  match T with
  | O => []
  | S m => episodes L m
  end.

(** ** The policy: a next-token distribution given the prefix *)

(** Correctness of the attempt in progress (or just finished): scanning the history left to right, a
    decision token starts a new attempt, an answer token must be correct. *)
Fixpoint correct_since_decision (acc : bool) (h : history) : bool :=
  match h with
  | [] => acc
  | Ans c :: h' => correct_since_decision (acc && c) h'
  | Dec _ :: h' => correct_since_decision true h'
  end.

Definition last_attempt_correct (h : history) : bool := correct_since_decision true h.

(** [toy_policy q pC pW h x]: probability of the next token [x] after the prefix [h]. *)
Definition toy_policy (q pC pW : R) (h : history) (x : token) : R :=
  match x with
  | Ans true => q
  | Ans false => 1 - q
  | Dec true => if last_attempt_correct h then pC else 1 - pW       (* STOP *)
  | Dec false => if last_attempt_correct h then 1 - pC else pW      (* RESAMPLE *)
  end.

(** Probability of the token string [tr] generated after the prefix [h]: the product of the
    per-token probabilities, each conditioned on everything before it. *)
Fixpoint prob_from (pi : history -> token -> R) (h : history) (tr : list token) : R :=
  match tr with
  | [] => 1
  | x :: tr' => pi h x * prob_from pi (h ++ [x]) tr'
  end.

Definition traj_prob (pi : history -> token -> R) (tr : list token) : R := prob_from pi [] tr.

(** Finite sums over lists. *)
Definition sumR {A : Type} (f : A -> R) (l : list A) : R := fold_right (fun x s => f x + s) 0 l.

(** ** The sequence-level reverse KL *)

Definition kl_term (pi pr : history -> token -> R) (tr : list token) : R :=
  traj_prob pi tr * ln (traj_prob pi tr / traj_prob pr tr).

(** KL(P_theta || P_ref) = sum over the trajectory set of P log (P / P_ref). *)
Definition KL (L T : nat) (q pC pW qr pCr pWr : R) : R :=
  sumR (kl_term (toy_policy q pC pW) (toy_policy qr pCr pWr)) (trajectories L T).

(** ** The quantities of the closed form *)

(** KL(Bern(p) || Bern(r)). *)
Definition kl_bern (p r : R) : R := p * ln (p / r) + (1 - p) * ln ((1 - p) / (1 - r)).

(** First-attempt accuracy [p_s = q ^ L]. *)
Definition p_s (L : nat) (q : R) : R := q ^ L.

(** [b]: probability of RESAMPLE after an attempt. *)
Definition resample_prob (L : nat) (q pC pW : R) : R := p_s L q * (1 - pC) + (1 - p_s L q) * pW.

(** [u]: KL of one attempt and the decision after it. *)
Definition kl_step (L : nat) (q pC pW qr pCr pWr : R) : R :=
  INR L * kl_bern q qr + p_s L q * kl_bern pC pCr + (1 - p_s L q) * kl_bern pW pWr.

(** ** Finite sums *)

Lemma sumR_nil {A} (f : A -> R) : sumR f [] = 0.
Proof. reflexivity. Qed.

Lemma sumR_cons {A} (f : A -> R) x l : sumR f (x :: l) = f x + sumR f l.
Proof. reflexivity. Qed.

Lemma sumR_app {A} (f : A -> R) l1 l2 : sumR f (l1 ++ l2) = sumR f l1 + sumR f l2.
Proof. induction l1 as [|x l1 IH]; simpl; [ring | rewrite IH; ring]. Qed.

Lemma sumR_map {A B} (f : B -> R) (g : A -> B) l :
  sumR f (map g l) = sumR (fun x => f (g x)) l.
Proof. induction l as [|x l IH]; simpl; [reflexivity | rewrite IH; reflexivity]. Qed.

Lemma sumR_flat_map {A B} (f : B -> R) (g : A -> list B) l :
  sumR f (flat_map g l) = sumR (fun x => sumR f (g x)) l.
Proof. induction l as [|x l IH]; simpl; [reflexivity | rewrite sumR_app, IH; reflexivity]. Qed.

Lemma sumR_ext {A} (f g : A -> R) l : (forall x, f x = g x) -> sumR f l = sumR g l.
Proof. intros H; induction l as [|x l IH]; simpl; [reflexivity | rewrite H, IH; reflexivity]. Qed.

Lemma sumR_plus {A} (f g : A -> R) l : sumR (fun x => f x + g x) l = sumR f l + sumR g l.
Proof. induction l as [|x l IH]; simpl; [ring | rewrite IH; ring]. Qed.

Lemma sumR_scal {A} (c : R) (f : A -> R) l : sumR (fun x => c * f x) l = c * sumR f l.
Proof. induction l as [|x l IH]; simpl; [ring | rewrite IH; ring]. Qed.

(** ** Logarithms *)

Lemma ln_div_pos x y : 0 < x -> 0 < y -> ln (x / y) = ln x - ln y.
Proof.
  intros Hx Hy. unfold Rdiv. rewrite ln_mult, ln_Rinv; [ring | lra | lra | apply Rinv_0_lt_compat; lra].
Qed.

Lemma ln_ratio_mult a b c d :
  0 < a -> 0 < b -> 0 < c -> 0 < d -> ln (a * b / (c * d)) = ln (a / c) + ln (b / d).
Proof.
  intros Ha Hb Hc Hd.
  rewrite !ln_div_pos, !ln_mult; try ring; try lra; apply Rmult_lt_0_compat; lra.
Qed.

(** ** The policy is a next-token distribution with positive probabilities *)

Lemma toy_policy_normalised q pC pW h :
  toy_policy q pC pW h (Ans true) + toy_policy q pC pW h (Ans false) = 1 /\
  toy_policy q pC pW h STOP + toy_policy q pC pW h RESAMPLE = 1.
Proof.
  unfold toy_policy, STOP, RESAMPLE; destruct (last_attempt_correct h); split; ring.
Qed.

Lemma toy_policy_pos q pC pW h x :
  0 < q < 1 -> 0 < pC < 1 -> 0 < pW < 1 -> 0 < toy_policy q pC pW h x.
Proof.
  intros Hq HC HW. destruct x as [[|]|[|]]; simpl; try lra;
    destruct (last_attempt_correct h); lra.
Qed.

Lemma prob_from_pos pi :
  (forall h x, 0 < pi h x) -> forall tr h, 0 < prob_from pi h tr.
Proof.
  intros Hpi tr. induction tr as [|x tr IH]; intro h; simpl; [lra|].
  apply Rmult_lt_0_compat; auto.
Qed.

Lemma traj_prob_pos q pC pW tr :
  0 < q < 1 -> 0 < pC < 1 -> 0 < pW < 1 -> 0 < traj_prob (toy_policy q pC pW) tr.
Proof.
  intros Hq HC HW. apply prob_from_pos. intros; apply toy_policy_pos; auto.
Qed.

(** ** Factorisation along the path *)

Lemma prob_from_app pi h xs ys :
  prob_from pi h (xs ++ ys) = prob_from pi h xs * prob_from pi (h ++ xs) ys.
Proof.
  revert h. induction xs as [|x xs IH]; intro h; simpl.
  - rewrite app_nil_r. ring.
  - rewrite IH, <- app_assoc. simpl. ring.
Qed.

(** Product of the answer-token probabilities of an attempt. *)
Definition tok_prob (q : R) (c : bool) : R := if c then q else 1 - q.
Definition attempt_prob (q : R) (a : list bool) : R := fold_right (fun c r => tok_prob q c * r) 1 a.

Lemma prob_from_attempt q pC pW h a :
  prob_from (toy_policy q pC pW) h (attempt a) = attempt_prob q a.
Proof.
  revert h. induction a as [|c a IH]; intro h; [reflexivity|].
  change (toy_policy q pC pW h (Ans c) * prob_from (toy_policy q pC pW) (h ++ [Ans c]) (attempt a)
          = tok_prob q c * attempt_prob q a).
  rewrite IH. destruct c; reflexivity.
Qed.

Lemma correct_after_decision h acc d h' :
  correct_since_decision acc (h ++ Dec d :: h') = correct_since_decision true h'.
Proof.
  revert acc. induction h as [|x h IH]; intro acc; [reflexivity|].
  destruct x; simpl; apply IH.
Qed.

Lemma correct_attempt acc a : correct_since_decision acc (attempt a) = acc && all_correct a.
Proof.
  revert acc. induction a as [|c a IH]; intro acc.
  - simpl. rewrite andb_true_r. reflexivity.
  - change (correct_since_decision (acc && c) (attempt a) = acc && (c && all_correct a)).
    rewrite IH, andb_assoc. reflexivity.
Qed.

(** After a decision token the process restarts: the probability of what follows does not depend on
    the tokens before the decision. *)
Lemma prob_from_after_decision q pC pW tr h d h' :
  prob_from (toy_policy q pC pW) (h ++ Dec d :: h') tr = prob_from (toy_policy q pC pW) h' tr.
Proof.
  revert h'. induction tr as [|x tr IH]; intro h'; [reflexivity|].
  simpl. f_equal.
  - unfold toy_policy, last_attempt_correct. rewrite correct_after_decision. reflexivity.
  - rewrite <- app_assoc. simpl. apply IH.
Qed.

(** Decision probabilities after an attempt whose correctness is [c]. *)
Definition stop_prob (pC pW : R) (c : bool) : R := if c then pC else 1 - pW.
Definition cont_prob (pC pW : R) (c : bool) : R := if c then 1 - pC else pW.

Lemma traj_prob_stop q pC pW a :
  traj_prob (toy_policy q pC pW) (attempt a ++ [STOP])
  = attempt_prob q a * stop_prob pC pW (all_correct a).
Proof.
  unfold traj_prob. rewrite prob_from_app, prob_from_attempt. f_equal.
  change (toy_policy q pC pW ([] ++ attempt a) (Dec true) * 1 = stop_prob pC pW (all_correct a)).
  unfold toy_policy, last_attempt_correct, stop_prob. simpl app.
  rewrite correct_attempt. simpl andb. ring.
Qed.

Lemma traj_prob_resample q pC pW a t :
  traj_prob (toy_policy q pC pW) (attempt a ++ RESAMPLE :: t)
  = attempt_prob q a * cont_prob pC pW (all_correct a) * traj_prob (toy_policy q pC pW) t.
Proof.
  unfold traj_prob. rewrite prob_from_app, prob_from_attempt. rewrite Rmult_assoc. f_equal.
  change (toy_policy q pC pW ([] ++ attempt a) (Dec false)
          * prob_from (toy_policy q pC pW) (([] ++ attempt a) ++ [Dec false]) t
          = cont_prob pC pW (all_correct a) * prob_from (toy_policy q pC pW) [] t).
  simpl app. rewrite prob_from_after_decision. f_equal.
  unfold toy_policy, last_attempt_correct, cont_prob.
  rewrite correct_attempt. reflexivity.
Qed.

(** ** Sums over the attempts of [L] tokens *)

Lemma sumR_attempts_S (f : list bool -> R) L :
  sumR f (attempts (S L)) = sumR (fun a => f (true :: a)) (attempts L)
                            + sumR (fun a => f (false :: a)) (attempts L).
Proof. simpl attempts. rewrite sumR_app, !sumR_map. reflexivity. Qed.

Lemma attempt_prob_pos q a : 0 < q < 1 -> 0 < attempt_prob q a.
Proof.
  intros Hq. induction a as [|c a IH]; simpl; [lra|].
  apply Rmult_lt_0_compat; [destruct c; simpl; lra | exact IH].
Qed.

Lemma attempt_prob_sum q L : sumR (attempt_prob q) (attempts L) = 1.
Proof.
  induction L as [|L IH]; [simpl; ring|].
  rewrite sumR_attempts_S.
  rewrite (sumR_ext (fun a => attempt_prob q (true :: a)) (fun a => q * attempt_prob q a))
    by reflexivity.
  rewrite (sumR_ext (fun a => attempt_prob q (false :: a)) (fun a => (1 - q) * attempt_prob q a))
    by reflexivity.
  rewrite !sumR_scal, IH. ring.
Qed.

(** The correctness of an attempt: probability [q ^ L] of all [L] tokens right. *)
Lemma attempt_outcome_sum q (g : bool -> R) L :
  sumR (fun a => attempt_prob q a * g (all_correct a)) (attempts L)
  = q ^ L * g true + (1 - q ^ L) * g false.
Proof.
  induction L as [|L IH]; [simpl; ring|].
  rewrite sumR_attempts_S.
  rewrite (sumR_ext (fun a => attempt_prob q (true :: a) * g (all_correct (true :: a)))
                    (fun a => q * (attempt_prob q a * g (all_correct a))))
    by (intro; simpl; ring).
  rewrite (sumR_ext (fun a => attempt_prob q (false :: a) * g (all_correct (false :: a)))
                    (fun a => ((1 - q) * g false) * attempt_prob q a))
    by (intro; simpl; ring).
  rewrite !sumR_scal, IH, attempt_prob_sum. simpl. ring.
Qed.

(** KL of a product of i.i.d. tokens is the sum: an attempt contributes [L kl_tok]. *)
Lemma attempt_kl_sum q qr L :
  0 < q < 1 -> 0 < qr < 1 ->
  sumR (fun a => attempt_prob q a * ln (attempt_prob q a / attempt_prob qr a)) (attempts L)
  = INR L * kl_bern q qr.
Proof.
  intros Hq Hr. induction L as [|L IH]; [simpl; unfold Rdiv; rewrite Rinv_1, Rmult_1_r, ln_1; ring|].
  rewrite sumR_attempts_S.
  rewrite (sumR_ext (fun a => attempt_prob q (true :: a)
                              * ln (attempt_prob q (true :: a) / attempt_prob qr (true :: a)))
                    (fun a => (q * ln (q / qr)) * attempt_prob q a
                              + q * (attempt_prob q a * ln (attempt_prob q a / attempt_prob qr a)))).
  2:{ intro a. change (q * attempt_prob q a * ln (q * attempt_prob q a / (qr * attempt_prob qr a))
                       = q * ln (q / qr) * attempt_prob q a
                         + q * (attempt_prob q a * ln (attempt_prob q a / attempt_prob qr a))).
      rewrite ln_ratio_mult by (try apply attempt_prob_pos; lra). ring. }
  rewrite (sumR_ext (fun a => attempt_prob q (false :: a)
                              * ln (attempt_prob q (false :: a) / attempt_prob qr (false :: a)))
                    (fun a => ((1 - q) * ln ((1 - q) / (1 - qr))) * attempt_prob q a
                              + (1 - q) * (attempt_prob q a * ln (attempt_prob q a / attempt_prob qr a)))).
  2:{ intro a. change ((1 - q) * attempt_prob q a
                         * ln ((1 - q) * attempt_prob q a / ((1 - qr) * attempt_prob qr a))
                       = (1 - q) * ln ((1 - q) / (1 - qr)) * attempt_prob q a
                         + (1 - q) * (attempt_prob q a * ln (attempt_prob q a / attempt_prob qr a))).
      rewrite ln_ratio_mult by (try apply attempt_prob_pos; lra). ring. }
  rewrite !sumR_plus, !sumR_scal, IH, attempt_prob_sum, S_INR. unfold kl_bern. ring.
Qed.

(** ** The trajectory set carries a probability distribution *)

Theorem trajectories_normalised L m q pC pW :
  sumR (traj_prob (toy_policy q pC pW)) (episodes L m) = 1.
Proof.
  induction m as [|m IH].
  - simpl episodes. rewrite sumR_map.
    rewrite (sumR_ext _ (attempt_prob q)) by (intro a; apply prob_from_attempt).
    apply attempt_prob_sum.
  - simpl episodes. rewrite sumR_flat_map.
    rewrite (sumR_ext _ (fun a => attempt_prob q a * 1)).
    { rewrite (sumR_ext (fun a => attempt_prob q a * 1) (attempt_prob q)) by (intro; ring).
      apply attempt_prob_sum. }
    intro a. rewrite sumR_cons, sumR_map, traj_prob_stop.
    rewrite (sumR_ext _ (fun t => (attempt_prob q a * cont_prob pC pW (all_correct a))
                                   * traj_prob (toy_policy q pC pW) t))
      by (intro t; apply traj_prob_resample).
    rewrite sumR_scal, IH. unfold stop_prob, cont_prob. destruct (all_correct a); ring.
Qed.

Corollary KL_trajectories_normalised L T q pC pW :
  (1 <= T)%nat -> sumR (traj_prob (toy_policy q pC pW)) (trajectories L T) = 1.
Proof. intros HT. destruct T as [|m]; [lia|]. apply trajectories_normalised. Qed.

(** ** The trajectory set has no repeated trajectory *)

Lemma NoDup_app_disjoint {A} (l1 l2 : list A) :
  NoDup l1 -> NoDup l2 -> (forall x, In x l1 -> ~ In x l2) -> NoDup (l1 ++ l2).
Proof.
  induction l1 as [|x l1 IH]; intros H1 H2 Hdis; [exact H2|].
  apply NoDup_cons_iff in H1 as [Hx H1]. simpl. constructor.
  - rewrite in_app_iff. intros [H|H]; [exact (Hx H) | exact (Hdis x (or_introl eq_refl) H)].
  - apply IH; auto. intros y Hy. apply Hdis. right. exact Hy.
Qed.

Lemma NoDup_flat_map_disjoint {A B} (g : A -> list B) (l : list A) :
  NoDup l -> (forall x, In x l -> NoDup (g x)) ->
  (forall x y z, In x l -> In y l -> In z (g x) -> In z (g y) -> x = y) ->
  NoDup (flat_map g l).
Proof.
  induction l as [|a l IH]; intros Hl Hg Hdis; [constructor|].
  apply NoDup_cons_iff in Hl as [Ha Hl]. simpl. apply NoDup_app_disjoint.
  - apply Hg. left. reflexivity.
  - apply IH; auto.
    + intros x Hx. apply Hg. right. exact Hx.
    + intros x y z Hx Hy. apply Hdis; right; assumption.
  - intros z Hz Hz'. apply in_flat_map in Hz' as [y [Hy Hzy]].
    assert (a = y) as <- by (apply (Hdis a y z); auto; [left; reflexivity | right; exact Hy]).
    exact (Ha Hy).
Qed.

Lemma attempts_length L a : In a (attempts L) -> length a = L.
Proof.
  revert a. induction L as [|L IH]; intros a Ha.
  - destruct Ha as [<-|[]]. reflexivity.
  - simpl in Ha. apply in_app_iff in Ha as [Ha|Ha]; apply in_map_iff in Ha as [a' [<- Ha']];
      simpl; rewrite (IH a' Ha'); reflexivity.
Qed.

Lemma attempts_NoDup L : NoDup (attempts L).
Proof.
  induction L as [|L IH]; [repeat constructor; intros []|].
  simpl. apply NoDup_app_disjoint.
  - apply Injective_map_NoDup; [intros x y H; injection H; auto | exact IH].
  - apply Injective_map_NoDup; [intros x y H; injection H; auto | exact IH].
  - intros x Hx Hx'. apply in_map_iff in Hx as [a [<- _]]. apply in_map_iff in Hx' as [b [Hb _]].
    discriminate Hb.
Qed.

Lemma attempt_prefix_inj a a' r r' :
  length a = length a' -> attempt a ++ r = attempt a' ++ r' -> a = a' /\ r = r'.
Proof.
  revert a'. induction a as [|c a IH]; intros [|c' a'] Hlen Heq; try discriminate Hlen.
  - split; [reflexivity | exact Heq].
  - simpl in Heq. injection Heq as Hc Heq. injection Hlen as Hlen.
    destruct (IH a' Hlen Heq) as [-> ->]. subst c'. split; reflexivity.
Qed.

Lemma episodes_block_shape L m a tr :
  In tr ((attempt a ++ [STOP]) :: map (fun t => attempt a ++ RESAMPLE :: t) (episodes L m)) ->
  exists r, tr = attempt a ++ r.
Proof.
  intros [<-|H]; [eexists; reflexivity|].
  apply in_map_iff in H as [t [<- _]]. eexists. reflexivity.
Qed.

Theorem trajectories_NoDup L T : NoDup (trajectories L T).
Proof.
  destruct T as [|m]; [constructor|]. simpl. induction m as [|m IH].
  - simpl. apply Injective_map_NoDup; [|apply attempts_NoDup].
    intros a a' H. induction a as [|c a IHa] in a', H |- *; destruct a' as [|c' a'];
      try discriminate H; [reflexivity|].
    simpl in H. injection H as -> H. f_equal. apply IHa, H.
  - simpl. apply NoDup_flat_map_disjoint; [apply attempts_NoDup | |].
    + intros a _. constructor.
      * intro H. apply in_map_iff in H as [t [Ht _]]. apply app_inv_head in Ht. discriminate Ht.
      * apply Injective_map_NoDup; [|exact IH].
        intros t t' H. apply app_inv_head in H. injection H as H. exact H.
    + intros a a' z Ha Ha' Hz Hz'.
      destruct (episodes_block_shape L m a z Hz) as [r ->].
      destruct (episodes_block_shape L m a' _ Hz') as [r' Heq].
      apply attempt_prefix_inj in Heq as [-> _]; [reflexivity|].
      rewrite (attempts_length L a Ha), (attempts_length L a' Ha'). reflexivity.
Qed.

(** ** The closed form of the KL, from the definition *)

(** The KL of the decision token after an attempt whose correctness is [c]. *)
Definition decision_kl (pC pW pCr pWr : R) (c : bool) : R :=
  if c then kl_bern pC pCr else kl_bern pW pWr.

Lemma kl_term_attempt q pC pW qr pCr pWr a :
  kl_term (toy_policy q pC pW) (toy_policy qr pCr pWr) (attempt a)
  = attempt_prob q a * ln (attempt_prob q a / attempt_prob qr a).
Proof. unfold kl_term, traj_prob. rewrite !prob_from_attempt. reflexivity. Qed.

Lemma kl_term_stop q pC pW qr pCr pWr a :
  0 < q < 1 -> 0 < pC < 1 -> 0 < pW < 1 -> 0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  kl_term (toy_policy q pC pW) (toy_policy qr pCr pWr) (attempt a ++ [STOP])
  = attempt_prob q a * stop_prob pC pW (all_correct a)
    * (ln (attempt_prob q a / attempt_prob qr a)
       + ln (stop_prob pC pW (all_correct a) / stop_prob pCr pWr (all_correct a))).
Proof.
  intros Hq HC HW Hqr HCr HWr. unfold kl_term. rewrite !traj_prob_stop.
  rewrite ln_ratio_mult; try (apply attempt_prob_pos; lra);
    unfold stop_prob; destruct (all_correct a); lra.
Qed.

Lemma kl_term_resample q pC pW qr pCr pWr a t :
  0 < q < 1 -> 0 < pC < 1 -> 0 < pW < 1 -> 0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  kl_term (toy_policy q pC pW) (toy_policy qr pCr pWr) (attempt a ++ RESAMPLE :: t)
  = (attempt_prob q a * cont_prob pC pW (all_correct a)
     * (ln (attempt_prob q a / attempt_prob qr a)
        + ln (cont_prob pC pW (all_correct a) / cont_prob pCr pWr (all_correct a))))
      * traj_prob (toy_policy q pC pW) t
    + (attempt_prob q a * cont_prob pC pW (all_correct a))
      * kl_term (toy_policy q pC pW) (toy_policy qr pCr pWr) t.
Proof.
  intros Hq HC HW Hqr HCr HWr. unfold kl_term. rewrite !traj_prob_resample.
  assert (Ha : 0 < attempt_prob q a) by (apply attempt_prob_pos; lra).
  assert (Har : 0 < attempt_prob qr a) by (apply attempt_prob_pos; lra).
  assert (Hc : 0 < cont_prob pC pW (all_correct a))
    by (unfold cont_prob; destruct (all_correct a); lra).
  assert (Hcr : 0 < cont_prob pCr pWr (all_correct a))
    by (unfold cont_prob; destruct (all_correct a); lra).
  assert (Ht : 0 < traj_prob (toy_policy q pC pW) t) by (apply traj_prob_pos; lra).
  assert (Htr : 0 < traj_prob (toy_policy qr pCr pWr) t) by (apply traj_prob_pos; lra).
  rewrite ln_ratio_mult by (try apply Rmult_lt_0_compat; lra).
  rewrite ln_ratio_mult by lra.
  ring.
Qed.

(** One attempt followed by its decision: STOP, or RESAMPLE and the rest of the episode. *)
Lemma kl_episode_block L m q pC pW qr pCr pWr a :
  0 < q < 1 -> 0 < pC < 1 -> 0 < pW < 1 -> 0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  sumR (kl_term (toy_policy q pC pW) (toy_policy qr pCr pWr))
       ((attempt a ++ [STOP]) :: map (fun t => attempt a ++ RESAMPLE :: t) (episodes L m))
  = attempt_prob q a * ln (attempt_prob q a / attempt_prob qr a)
    + attempt_prob q a * decision_kl pC pW pCr pWr (all_correct a)
    + attempt_prob q a * (cont_prob pC pW (all_correct a)
                          * sumR (kl_term (toy_policy q pC pW) (toy_policy qr pCr pWr)) (episodes L m)).
Proof.
  intros Hq HC HW Hqr HCr HWr.
  rewrite sumR_cons, sumR_map, kl_term_stop by assumption.
  rewrite (sumR_ext _ _ _ (fun t => kl_term_resample q pC pW qr pCr pWr a t Hq HC HW Hqr HCr HWr)).
  rewrite sumR_plus, !sumR_scal, trajectories_normalised.
  unfold decision_kl, stop_prob, cont_prob, kl_bern. destruct (all_correct a); ring.
Qed.

(** Closed form, one attempt (T = 1): [KL_1 = L kl_tok]. *)
Theorem KL_one_attempt L q pC pW qr pCr pWr :
  0 < q < 1 -> 0 < qr < 1 ->
  KL L 1 q pC pW qr pCr pWr = INR L * kl_bern q qr.
Proof.
  intros Hq Hqr. unfold KL. simpl trajectories. simpl episodes.
  rewrite sumR_map, (sumR_ext _ _ _ (kl_term_attempt q pC pW qr pCr pWr)).
  apply attempt_kl_sum; assumption.
Qed.

(** Closed form, the attempt recursion: [KL_(T+1) = u + b KL_T] for [T >= 1], with
    [u = L kl_tok + p_s kl_dC + (1 - p_s) kl_dW] and [b = p_s (1 - p_dC) + (1 - p_s) p_dW]. *)
Theorem KL_recursion L T q pC pW qr pCr pWr :
  0 < q < 1 -> 0 < pC < 1 -> 0 < pW < 1 -> 0 < qr < 1 -> 0 < pCr < 1 -> 0 < pWr < 1 ->
  (1 <= T)%nat ->
  KL L (S T) q pC pW qr pCr pWr
  = kl_step L q pC pW qr pCr pWr + resample_prob L q pC pW * KL L T q pC pW qr pCr pWr.
Proof.
  intros Hq HC HW Hqr HCr HWr HT. destruct T as [|m]; [lia|].
  unfold KL. simpl trajectories. simpl episodes. rewrite sumR_flat_map.
  rewrite (sumR_ext _ _ _ (fun a => kl_episode_block L m q pC pW qr pCr pWr a Hq HC HW Hqr HCr HWr)).
  rewrite !sumR_plus, attempt_kl_sum by assumption.
  rewrite (attempt_outcome_sum q (decision_kl pC pW pCr pWr)).
  rewrite (attempt_outcome_sum q (fun c => cont_prob pC pW c
             * sumR (kl_term (toy_policy q pC pW) (toy_policy qr pCr pWr)) (episodes L m))).
  unfold kl_step, resample_prob, p_s, decision_kl, cont_prob. ring.
Qed.
