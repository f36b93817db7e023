(** * Factorisation.v -- Lemma 3.1 and Corollary 3.1 (paper §3.1).

    Lemma 3.1: the probability of a trajectory of the two-stage process (the chain rule over its tokens,
    each conditioned on its whole prefix) factorises into the attempt probabilities pi_sample(A_k | s_{k-1})
    and the decision probabilities pi_d(RESAMPLE | s_k), pi_d(STOP | s_t), for any attempt and decision
    shapes (hence any stage mask) and any budget T.  A trajectory with t attempts that ends with a STOP has
    t decisions (t-1 RESAMPLE, one STOP, t < T); a capped one has T attempts, T-1 RESAMPLE decisions and
    no STOP.  (The paper indexes its decision sum k = 0..T: T+1 decisions; the count here is the corrected
    one.)

    Corollary 3.1: d/dtheta_i log P(tau) = g_S + g_D (Coquelicot's [Derive], any coordinate), with g_S the
    sum over the sampling tokens and g_D over the decision tokens of d/dtheta_i log pi; and with one shared
    theta the squared norm of the score has the cross-term 2 <g_S, g_D>. *)

From Coq Require Import Reals Lra List Lia Arith FunctionalExtensionality.
From Coquelicot Require Import Coquelicot.
From DSProof Require Import Process Tree.
Import ListNotations.
Open Scope R_scope.

(** ** Structure of the trajectory set *)

Section Structure.
Context {Tok : Type}.
Variable M : process Tok.

Lemma episode_structure T h e :
  In e (episodes M T h) ->
  (1 <= length (attempts h e) <= T)%nat
  /\ length (resamples h e) = (length (attempts h e) - 1)%nat
  /\ ((length (stops h e) = 1 /\ length (attempts h e) < T)%nat \/
      (stops h e = [] /\ length (attempts h e) = T))
  /\ (forall s a, In (s, a) (attempts h e) -> In (a, EndOfAttempt) (leaves (alphabet M) (attempt_shape M s)))
  /\ (forall s d, In (s, d) (resamples h e) -> In (d, RESAMPLE) (leaves (alphabet M) (decision_shape M s)))
  /\ (forall s d, In (s, d) (stops h e) -> In (d, STOP) (leaves (alphabet M) (decision_shape M s)))
  /\ (forall s b, In (s, b) (attempts h e ++ resamples h e ++ stops h e) ->
        exists r, h ++ tokens e = s ++ b ++ r).
Proof.
  revert h e; induction T as [|T IH]; intros h e He;
    destruct (episodes_inv M _ h e He) as [T' [a [ET [Ha Hcase]]]]; [discriminate|].
  injection ET as <-.
  destruct Hcase as [[-> ->] | [[HT [d [Hd ->]]] | [HT [d [r [Hd [Hr ->]]]]]]]; cbn [attempts resamples stops tokens length app].
  - split; [lia|]. split; [reflexivity|]. split; [right; split; reflexivity|].
    split; [intros s' a' [E|[]]; injection E as E1 E2; subst; exact Ha|].
    split; [intros s' d' []|]. split; [intros s' d' []|].
    intros s' b [E|[]]; injection E as E1 E2; subst; exists []; rewrite app_nil_r; reflexivity.
  - split; [lia|]. split; [reflexivity|]. split; [left; split; [reflexivity|lia]|].
    split; [intros s' a' [E|[]]; injection E as E1 E2; subst; exact Ha|].
    split; [intros s' d' []|].
    split; [intros s' d' [E|[]]; injection E as E1 E2; subst; exact Hd|].
    intros s' b [E|[E|[]]]; injection E as E1 E2; subst.
    + exists d; reflexivity.
    + exists []; rewrite app_nil_r, <- app_assoc; reflexivity.
  - destruct (IH _ _ Hr) as [Hn [Hres [Hstop [Hatt [Hrs [Hst Hpre]]]]]].
    split; [lia|]. split; [lia|].
    split; [destruct Hstop as [[H1 H2]|[H1 H2]]; [left; split; [exact H1|lia] | right; split; [exact H1|lia]]|].
    split; [intros s' a' [E|Hin]; [injection E as E1 E2; subst; exact Ha | exact (Hatt _ _ Hin)]|].
    split; [intros s' d' [E|Hin]; [injection E as E1 E2; subst; exact Hd | exact (Hrs _ _ Hin)]|].
    split; [intros s' d' Hin; exact (Hst _ _ Hin)|].
    intros s' b Hin. destruct Hin as [E|Hin].
    + injection E as E1 E2; subst; exists (d ++ tokens r); reflexivity.
    + apply in_app_or in Hin; destruct Hin as [Hin|Hin].
      * destruct (Hpre s' b (in_or_app _ _ _ (or_introl Hin))) as [r' Er'].
        exists r'; rewrite <- Er', !app_assoc; reflexivity.
      * destruct Hin as [E|Hin].
        -- injection E as E1 E2; subst; exists (tokens r); rewrite <- app_assoc; reflexivity.
        -- destruct (Hpre s' b (in_or_app _ _ _ (or_intror Hin))) as [r' Er'].
           exists r'; rewrite <- Er', !app_assoc; reflexivity.
Qed.

End Structure.

(** ** Derivatives of the chain rule *)

Lemma upd_same (theta : nat -> R) (i : nat) : upd theta i (theta i) = theta.
Proof.
  apply functional_extensionality; intros j; unfold upd.
  destruct (Nat.eqb_spec j i) as [->|_]; reflexivity.
Qed.

Lemma is_derive_plus_R (f g : R -> R) x df dg :
  is_derive f x df -> is_derive g x dg -> is_derive (fun t => f t + g t) x (df + dg).
Proof. intros Hf Hg; exact (is_derive_plus f g x df dg Hf Hg). Qed.

Lemma is_derive_ext_R (f g : R -> R) x l :
  (forall t : R, f t = g t) -> is_derive f x l -> is_derive g x l.
Proof. apply is_derive_ext. Qed.

(** The derivative of a finite sum is the sum of the derivatives. *)
Lemma is_derive_lsum {A} (l : list A) (F : A -> R -> R) (dF : A -> R) x :
  (forall a, In a l -> is_derive (F a) x (dF a)) ->
  is_derive (fun t => lsum (fun a => F a t) l) x (lsum dF l).
Proof.
  induction l as [|a l IH]; intros H; simpl.
  - exact (is_derive_const 0 x).
  - apply (is_derive_plus_R (F a) (fun t => lsum (fun a => F a t) l)).
    + apply H; left; reflexivity.
    + apply IH; intros b Hb; apply H; right; exact Hb.
Qed.

(** The derivative of log (f x) is f' / f. *)
Lemma is_derive_ln_comp (f : R -> R) x df :
  is_derive f x df -> 0 < f x -> is_derive (fun t => ln (f t)) x (df / f x).
Proof.
  intros Hf Hpos.
  pose proof (is_derive_comp ln f x (/ f x) df (is_derive_ln (f x) Hpos) Hf) as H.
  exact H.
Qed.

Section Deriv.
Context {Tok : Type}.
Variable pi : (nat -> R) -> list Tok -> Tok -> R.
Hypothesis Hpos : forall th h y, 0 < pi th h y.

Lemma seq_prob_pos th h ys : 0 < seq_prob (pi th) h ys.
Proof.
  revert h; induction ys as [|y ys IH]; intros h; simpl; [lra|].
  apply Rmult_lt_0_compat; [apply Hpos | apply IH].
Qed.

Lemma traj_prob_pos th (e : episode Tok) : 0 < traj_prob (pi th) e.
Proof. apply seq_prob_pos. Qed.

Variables (theta : nat -> R) (i : nat).
Hypothesis Hdiff : forall h y, ex_derive (fun x => pi (upd theta i x) h y) (theta i).

Lemma tok_prob_is_derive h y :
  is_derive (fun x => pi (upd theta i x) h y) (theta i) (pd i (fun th => pi th h y) theta).
Proof. unfold pd; apply Derive_correct, Hdiff. Qed.

Lemma tok_score_eq h y : tok_score pi theta i h y = pd i (fun th => pi th h y) theta / pi theta h y.
Proof.
  unfold tok_score at 1, pd at 1. apply is_derive_unique.
  pose proof (is_derive_ln_comp (fun x => pi (upd theta i x) h y) (theta i) _
                (tok_prob_is_derive h y) (Hpos _ _ _)) as H.
  cbv beta in H; rewrite upd_same in H. exact H.
Qed.

(** pi(y|h) * d log pi(y|h) = d pi(y|h). *)
Lemma tok_score_mult h y : pi theta h y * tok_score pi theta i h y = pd i (fun th => pi th h y) theta.
Proof. rewrite tok_score_eq. field. apply Rgt_not_eq, Hpos. Qed.

(** d/dtheta_i of the chain rule: P * (sum of d log pi along the path). *)
Lemma seq_prob_is_derive h ys :
  is_derive (fun x => seq_prob (pi (upd theta i x)) h ys) (theta i)
    (seq_prob (pi theta) h ys * seq_sum (tok_score pi theta i) h ys).
Proof.
  revert h; induction ys as [|y ys IH]; intros h; simpl.
  - replace (1 * 0) with 0 by ring. exact (is_derive_const 1 (theta i)).
  - pose proof (is_derive_mult (fun x => pi (upd theta i x) h y)
                  (fun x => seq_prob (pi (upd theta i x)) (h ++ [y]) ys) (theta i) _ _
                  (tok_prob_is_derive h y) (IH (h ++ [y]))) as H.
    cbv beta in H; rewrite upd_same in H.
    replace (pi theta h y * seq_prob (pi theta) (h ++ [y]) ys *
             (tok_score pi theta i h y + seq_sum (tok_score pi theta i) (h ++ [y]) ys))
      with (pd i (fun th => pi th h y) theta * seq_prob (pi theta) (h ++ [y]) ys +
            pi theta h y * (seq_prob (pi theta) (h ++ [y]) ys * seq_sum (tok_score pi theta i) (h ++ [y]) ys)).
    + exact (H Rmult_comm).
    + rewrite <- tok_score_mult; ring.
Qed.

(** d/dtheta_i log (chain rule) = sum of d log pi along the path. *)
Lemma ln_seq_prob_pd h ys :
  pd i (fun th => ln (seq_prob (pi th) h ys)) theta = seq_sum (tok_score pi theta i) h ys.
Proof.
  unfold pd at 1. apply is_derive_unique.
  pose proof (is_derive_ln_comp (fun x => seq_prob (pi (upd theta i x)) h ys) (theta i) _
                (seq_prob_is_derive h ys) (seq_prob_pos _ _ _)) as H.
  cbv beta in H; rewrite upd_same in H.
  replace (seq_sum (tok_score pi theta i) h ys) with
    (seq_prob (pi theta) h ys * seq_sum (tok_score pi theta i) h ys / seq_prob (pi theta) h ys).
  - exact H.
  - field. apply Rgt_not_eq, seq_prob_pos.
Qed.

Lemma score_split e :
  pd i (fun th => ln (traj_prob (pi th) e)) theta = score_S pi theta i e + score_D pi theta i e.
Proof.
  unfold traj_prob. rewrite ln_seq_prob_pd. apply seq_sum_split, mask_length.
Qed.

Lemma score_S_blocks e :
  score_S pi theta i e =
  lsum (fun sa => pd i (fun th => ln (pi_sample (pi th) (fst sa) (snd sa))) theta) (attempts [] e).
Proof.
  unfold score_S. rewrite stage_sum_episode_S. apply lsum_ext; intros [s a]; simpl.
  unfold pi_sample; rewrite ln_seq_prob_pd; reflexivity.
Qed.

Lemma score_D_blocks e :
  score_D pi theta i e =
  lsum (fun sd => pd i (fun th => ln (pi_d (pi th) (fst sd) (snd sd))) theta) (resamples [] e ++ stops [] e).
Proof.
  unfold score_D. rewrite stage_sum_episode_D, lsum_app. f_equal; apply lsum_ext; intros [s d]; simpl;
    unfold pi_d; rewrite ln_seq_prob_pd; reflexivity.
Qed.

End Deriv.

Lemma lsum_square_split {A} (u v : A -> R) l :
  lsum (fun j => (u j + v j) * (u j + v j)) l =
  lsum (fun j => u j * u j) l + lsum (fun j => v j * v j) l + 2 * lsum (fun j => u j * v j) l.
Proof. induction l as [|x l IH]; simpl; [ring | rewrite IH; ring]. Qed.

(** ** Headline theorems *)

(** Paper Lemma 3.1 (§3.1): P(tau) = prod_k pi_sample(A_k | s_{k-1}) * prod_k pi_d(RESAMPLE | s_k)
    * pi_d(STOP | s_t), for every trajectory of the process with any attempt / decision shapes (any stage
    mask) and any budget T; the attempt product is the product of the token probabilities over the
    sampling positions of the mask, the decision products over the decision positions.  Counts: t attempts,
    1 <= t <= T; t-1 RESAMPLE decisions; one STOP and t < T, or no STOP and t = T (budget cap).  Every block
    is a complete block of its shape at its state, and every state is the actual prefix of the block. *)
Theorem lemma_3_1_factorisation :
  forall (Tok : Type) (M : process Tok) (pi : list Tok -> Tok -> R) (T : nat) (e : episode Tok),
  In e (episodes M T []) ->
  traj_prob pi e =
    lprod (fun sa => pi_sample pi (fst sa) (snd sa)) (attempts [] e)
    * lprod (fun sd => pi_d pi (fst sd) (snd sd)) (resamples [] e)
    * lprod (fun sd => pi_d pi (fst sd) (snd sd)) (stops [] e)
  /\ lprod (fun sa => pi_sample pi (fst sa) (snd sa)) (attempts [] e)
     = stage_prod Sampling pi [] (tokens e) (mask e)
  /\ lprod (fun sd => pi_d pi (fst sd) (snd sd)) (resamples [] e)
     * lprod (fun sd => pi_d pi (fst sd) (snd sd)) (stops [] e)
     = stage_prod Decision pi [] (tokens e) (mask e)
  /\ (1 <= length (attempts [] e) <= T)%nat
  /\ length (resamples [] e) = (length (attempts [] e) - 1)%nat
  /\ ((length (stops [] e) = 1 /\ length (attempts [] e) < T)%nat \/
      (stops [] e = [] /\ length (attempts [] e) = T))
  /\ (forall s a, In (s, a) (attempts [] e) -> In (a, EndOfAttempt) (leaves (alphabet M) (attempt_shape M s)))
  /\ (forall s d, In (s, d) (resamples [] e) -> In (d, RESAMPLE) (leaves (alphabet M) (decision_shape M s)))
  /\ (forall s d, In (s, d) (stops [] e) -> In (d, STOP) (leaves (alphabet M) (decision_shape M s)))
  /\ (forall s b, In (s, b) (attempts [] e ++ resamples [] e ++ stops [] e) -> exists r, tokens e = s ++ b ++ r).
Proof.
  intros Tok M pi T e He.
  destruct (episode_structure M T [] e He) as [H1 [H2 [H3 [H4 [H5 [H6 H7]]]]]].
  split; [|split; [|split]].
  - unfold traj_prob, pi_sample, pi_d. apply seq_prob_episode.
  - unfold pi_sample. symmetry; apply stage_prod_episode_S.
  - unfold pi_d. symmetry; apply stage_prod_episode_D.
  - repeat (split; [assumption|]). exact H7.
Qed.

(** Paper Corollary 3.1 (§3.1): d/dtheta_i log P(tau) = g_S + g_D, with g_S (g_D) the sum of
    d/dtheta_i log pi(y_t | y_<t) over the sampling (decision) tokens; equivalently g_S is the sum over
    attempts of d log pi_sample(A_k | s_{k-1}) and g_D the sum over the t decisions of d log pi_d.
    Hypotheses: every token probability positive, and differentiable along coordinate i at theta. *)
Theorem corollary_3_1_score_split :
  forall (Tok : Type) (pi : (nat -> R) -> list Tok -> Tok -> R) (e : episode Tok) (theta : nat -> R) (i : nat),
  (forall th h y, 0 < pi th h y) ->
  (forall h y, ex_derive (fun x => pi (upd theta i x) h y) (theta i)) ->
  pd i (fun th => ln (traj_prob (pi th) e)) theta = score_S pi theta i e + score_D pi theta i e
  /\ score_S pi theta i e =
     lsum (fun sa => pd i (fun th => ln (pi_sample (pi th) (fst sa) (snd sa))) theta) (attempts [] e)
  /\ score_D pi theta i e =
     lsum (fun sd => pd i (fun th => ln (pi_d (pi th) (fst sd) (snd sd))) theta) (resamples [] e ++ stops [] e).
Proof.
  intros Tok pi e theta i Hpos Hdiff. split; [|split].
  - apply score_split; assumption.
  - apply score_S_blocks; assumption.
  - apply score_D_blocks; assumption.
Qed.

(** Paper Corollary 3.1, the cross-term (reviewer objection 1): with one shared theta in R^n,
    ||grad log P||^2 = ||g_S||^2 + ||g_D||^2 + 2 <g_S, g_D>. *)
Theorem corollary_3_1_norm_identity :
  forall (Tok : Type) (pi : (nat -> R) -> list Tok -> Tok -> R) (e : episode Tok) (theta : nat -> R) (n : nat),
  (forall th h y, 0 < pi th h y) ->
  (forall i h y, (i < n)%nat -> ex_derive (fun x => pi (upd theta i x) h y) (theta i)) ->
  norm2 n (grad (fun th => ln (traj_prob (pi th) e)) theta)
  = norm2 n (fun i => score_S pi theta i e) + norm2 n (fun i => score_D pi theta i e)
    + 2 * inner n (fun i => score_S pi theta i e) (fun i => score_D pi theta i e).
Proof.
  intros Tok pi e theta n Hpos Hdiff. unfold norm2, inner, grad.
  rewrite (lsum_ext_in _ (fun j => (score_S pi theta j e + score_D pi theta j e)
                                   * (score_S pi theta j e + score_D pi theta j e))).
  - apply lsum_square_split.
  - intros j Hj. apply in_seq in Hj.
    rewrite score_split by (auto; intros; apply Hdiff; lia). reflexivity.
Qed.
