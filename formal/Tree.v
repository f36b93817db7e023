(** * Tree.v -- bookkeeping lemmas about the definitions of Process.v.

    Finite sums over lists, the chain rule over concatenated blocks, the stage mask, and the "tower"
    equations that split a sum over the trajectory set into sums over the blocks of the autoregressive
    tree.  No claim of the paper is proved here. *)

From Coq Require Import Reals List Lia Arith FinFun.
From Coquelicot Require Import Coquelicot.
From DSProof Require Import Process.
Import ListNotations.
Open Scope R_scope.

(** ** Sums and products *)

Lemma lsum_nil {A} (f : A -> R) : lsum f [] = 0.
Proof. reflexivity. Qed.

Lemma lsum_cons {A} (f : A -> R) x l : lsum f (x :: l) = f x + lsum f l.
Proof. reflexivity. Qed.

Lemma lsum_app {A} (f : A -> R) l1 l2 : lsum f (l1 ++ l2) = lsum f l1 + lsum f l2.
Proof. induction l1 as [|x l1 IH]; simpl; [ring | rewrite IH; ring]. Qed.

Lemma lsum_ext {A} (f g : A -> R) l : (forall x, f x = g x) -> lsum f l = lsum g l.
Proof. intros H; induction l as [|x l IH]; simpl; [reflexivity | rewrite H, IH; reflexivity]. Qed.

Lemma lsum_ext_in {A} (f g : A -> R) l : (forall x, In x l -> f x = g x) -> lsum f l = lsum g l.
Proof.
  induction l as [|x l IH]; intros H; simpl; [reflexivity|].
  rewrite (H x (or_introl eq_refl)), IH; [reflexivity|].
  intros y Hy; apply H; right; exact Hy.
Qed.

Lemma lsum_plus {A} (f g : A -> R) l : lsum (fun x => f x + g x) l = lsum f l + lsum g l.
Proof. induction l as [|x l IH]; simpl; [ring | rewrite IH; ring]. Qed.

Lemma lsum_scal {A} (c : R) (f : A -> R) l : lsum (fun x => c * f x) l = c * lsum f l.
Proof. induction l as [|x l IH]; simpl; [ring | rewrite IH; ring]. Qed.

Lemma lsum_zero {A} (l : list A) : lsum (fun _ => 0) l = 0.
Proof. induction l as [|x l IH]; simpl; [reflexivity | rewrite IH; ring]. Qed.

Lemma lsum_map {A B} (f : B -> R) (g : A -> B) l : lsum f (map g l) = lsum (fun x => f (g x)) l.
Proof. induction l as [|x l IH]; simpl; [reflexivity | rewrite IH; reflexivity]. Qed.

Lemma lsum_flat_map {A B} (f : B -> R) (g : A -> list B) l :
  lsum f (flat_map g l) = lsum (fun x => lsum f (g x)) l.
Proof. induction l as [|x l IH]; simpl; [reflexivity | rewrite lsum_app, IH; reflexivity]. Qed.

Lemma lprod_cons {A} (f : A -> R) x l : lprod f (x :: l) = f x * lprod f l.
Proof. reflexivity. Qed.

Section Chain.
Context {Tok : Type}.

(** ** The chain rule over concatenated blocks *)

Lemma seq_prob_app (pi : list Tok -> Tok -> R) h xs ys :
  seq_prob pi h (xs ++ ys) = seq_prob pi h xs * seq_prob pi (h ++ xs) ys.
Proof.
  revert h; induction xs as [|x xs IH]; intros h; simpl.
  - rewrite app_nil_r; ring.
  - rewrite IH, <- app_assoc; simpl; ring.
Qed.

Lemma seq_sum_app (f : list Tok -> Tok -> R) h xs ys :
  seq_sum f h (xs ++ ys) = seq_sum f h xs + seq_sum f (h ++ xs) ys.
Proof.
  revert h; induction xs as [|x xs IH]; intros h; simpl.
  - rewrite app_nil_r; ring.
  - rewrite IH, <- app_assoc; simpl; ring.
Qed.

Lemma stage_prod_app st (f : list Tok -> Tok -> R) h xs ys ms1 ms2 :
  length ms1 = length xs ->
  stage_prod st f h (xs ++ ys) (ms1 ++ ms2) = stage_prod st f h xs ms1 * stage_prod st f (h ++ xs) ys ms2.
Proof.
  revert h ms1; induction xs as [|x xs IH]; intros h ms1 Hl; destruct ms1 as [|m ms1]; simpl in *;
    try discriminate.
  - rewrite app_nil_r; ring.
  - rewrite IH by lia. rewrite <- app_assoc; simpl; ring.
Qed.

Lemma stage_sum_app st (f : list Tok -> Tok -> R) h xs ys ms1 ms2 :
  length ms1 = length xs ->
  stage_sum st f h (xs ++ ys) (ms1 ++ ms2) = stage_sum st f h xs ms1 + stage_sum st f (h ++ xs) ys ms2.
Proof.
  revert h ms1; induction xs as [|x xs IH]; intros h ms1 Hl; destruct ms1 as [|m ms1]; simpl in *;
    try discriminate.
  - rewrite app_nil_r; ring.
  - rewrite IH by lia. rewrite <- app_assoc; simpl; ring.
Qed.

Lemma stage_prod_repeat_same st (f : list Tok -> Tok -> R) h xs :
  stage_prod st f h xs (repeat st (length xs)) = seq_prob f h xs.
Proof.
  revert h; induction xs as [|x xs IH]; intros h; simpl; [reflexivity|].
  destruct st; simpl; rewrite IH; reflexivity.
Qed.

Lemma stage_prod_repeat_other st st' (f : list Tok -> Tok -> R) h xs :
  stage_eqb st' st = false -> stage_prod st f h xs (repeat st' (length xs)) = 1.
Proof.
  intros Hne; revert h; induction xs as [|x xs IH]; intros h; simpl; [reflexivity|].
  rewrite Hne, IH; ring.
Qed.

Lemma stage_sum_repeat_same st (f : list Tok -> Tok -> R) h xs :
  stage_sum st f h xs (repeat st (length xs)) = seq_sum f h xs.
Proof.
  revert h; induction xs as [|x xs IH]; intros h; simpl; [reflexivity|].
  destruct st; simpl; rewrite IH; reflexivity.
Qed.

Lemma stage_sum_repeat_other st st' (f : list Tok -> Tok -> R) h xs :
  stage_eqb st' st = false -> stage_sum st f h xs (repeat st' (length xs)) = 0.
Proof.
  intros Hne; revert h; induction xs as [|x xs IH]; intros h; simpl; [reflexivity|].
  rewrite Hne, IH; ring.
Qed.

(** Any stage mask splits the chain-rule product (and sum) into its sampling and decision parts. *)
Lemma seq_prob_split (f : list Tok -> Tok -> R) h ys ms :
  length ms = length ys ->
  seq_prob f h ys = stage_prod Sampling f h ys ms * stage_prod Decision f h ys ms.
Proof.
  revert h ms; induction ys as [|y ys IH]; intros h ms Hl; destruct ms as [|m ms]; simpl in *;
    try discriminate; [ring|].
  rewrite (IH (h ++ [y]) ms) by lia. destruct m; simpl; ring.
Qed.

Lemma seq_sum_split (f : list Tok -> Tok -> R) h ys ms :
  length ms = length ys ->
  seq_sum f h ys = stage_sum Sampling f h ys ms + stage_sum Decision f h ys ms.
Proof.
  revert h ms; induction ys as [|y ys IH]; intros h ms Hl; destruct ms as [|m ms]; simpl in *;
    try discriminate; [ring|].
  rewrite (IH (h ++ [y]) ms) by lia. destruct m; simpl; ring.
Qed.

Lemma mask_length (e : episode Tok) : length (mask e) = length (tokens e).
Proof.
  induction e as [a|a d|a d r IH]; simpl; rewrite ?app_length, ?repeat_length; try rewrite IH; reflexivity.
Qed.

(** ** The mask of an episode, block by block *)

Lemma stage_prod_episode_S (f : list Tok -> Tok -> R) h e :
  stage_prod Sampling f h (tokens e) (mask e) = lprod (fun sa => seq_prob f (fst sa) (snd sa)) (attempts h e).
Proof.
  revert h; induction e as [a|a d|a d r IH]; intros h; simpl.
  - rewrite stage_prod_repeat_same; ring.
  - rewrite stage_prod_app by apply repeat_length.
    rewrite stage_prod_repeat_same, stage_prod_repeat_other by reflexivity; ring.
  - rewrite stage_prod_app by apply repeat_length.
    rewrite stage_prod_app by apply repeat_length.
    rewrite stage_prod_repeat_same, stage_prod_repeat_other by reflexivity.
    rewrite <- app_assoc, IH; simpl; ring.
Qed.

Lemma stage_prod_episode_D (f : list Tok -> Tok -> R) h e :
  stage_prod Decision f h (tokens e) (mask e) =
  lprod (fun sd => seq_prob f (fst sd) (snd sd)) (resamples h e)
  * lprod (fun sd => seq_prob f (fst sd) (snd sd)) (stops h e).
Proof.
  revert h; induction e as [a|a d|a d r IH]; intros h; simpl.
  - rewrite stage_prod_repeat_other by reflexivity; ring.
  - rewrite stage_prod_app by apply repeat_length.
    rewrite stage_prod_repeat_same, stage_prod_repeat_other by reflexivity; ring.
  - rewrite stage_prod_app by apply repeat_length.
    rewrite stage_prod_app by apply repeat_length.
    rewrite stage_prod_repeat_same, stage_prod_repeat_other by reflexivity.
    rewrite <- app_assoc, IH; simpl; ring.
Qed.

Lemma stage_sum_episode_S (f : list Tok -> Tok -> R) h e :
  stage_sum Sampling f h (tokens e) (mask e) = lsum (fun sa => seq_sum f (fst sa) (snd sa)) (attempts h e).
Proof.
  revert h; induction e as [a|a d|a d r IH]; intros h; simpl.
  - rewrite stage_sum_repeat_same; ring.
  - rewrite stage_sum_app by apply repeat_length.
    rewrite stage_sum_repeat_same, stage_sum_repeat_other by reflexivity; ring.
  - rewrite stage_sum_app by apply repeat_length.
    rewrite stage_sum_app by apply repeat_length.
    rewrite stage_sum_repeat_same, stage_sum_repeat_other by reflexivity.
    rewrite <- app_assoc, IH; simpl; ring.
Qed.

Lemma stage_sum_episode_D (f : list Tok -> Tok -> R) h e :
  stage_sum Decision f h (tokens e) (mask e) =
  lsum (fun sd => seq_sum f (fst sd) (snd sd)) (resamples h e)
  + lsum (fun sd => seq_sum f (fst sd) (snd sd)) (stops h e).
Proof.
  revert h; induction e as [a|a d|a d r IH]; intros h; simpl.
  - rewrite stage_sum_repeat_other by reflexivity; ring.
  - rewrite stage_sum_app by apply repeat_length.
    rewrite stage_sum_repeat_same, stage_sum_repeat_other by reflexivity; ring.
  - rewrite stage_sum_app by apply repeat_length.
    rewrite stage_sum_app by apply repeat_length.
    rewrite stage_sum_repeat_same, stage_sum_repeat_other by reflexivity.
    rewrite <- app_assoc, IH; simpl; ring.
Qed.

(** The chain rule over an episode equals the product over its blocks, each conditioned on its state. *)
Lemma seq_prob_episode (f : list Tok -> Tok -> R) h e :
  seq_prob f h (tokens e) =
  lprod (fun sa => seq_prob f (fst sa) (snd sa)) (attempts h e)
  * lprod (fun sd => seq_prob f (fst sd) (snd sd)) (resamples h e)
  * lprod (fun sd => seq_prob f (fst sd) (snd sd)) (stops h e).
Proof.
  rewrite (seq_prob_split f h (tokens e) (mask e)) by apply mask_length.
  rewrite stage_prod_episode_S, stage_prod_episode_D; ring.
Qed.

(** ** The trajectory set: what its members look like *)

Lemma episodes_inv (M : process Tok) T h e :
  In e (episodes M T h) ->
  exists T' a, T = S T' /\ In (a, EndOfAttempt) (leaves (alphabet M) (attempt_shape M h)) /\
    ((T' = O /\ e = Capped a) \/
     (T' <> O /\ exists d, In (d, STOP) (leaves (alphabet M) (decision_shape M (h ++ a))) /\ e = Stopped a d) \/
     (T' <> O /\ exists d r, In (d, RESAMPLE) (leaves (alphabet M) (decision_shape M (h ++ a))) /\
                     In r (episodes M T' (h ++ a ++ d)) /\ e = Resampled a d r)).
Proof.
  destruct T as [|T']; simpl; [intros []|].
  intros He; apply in_flat_map in He; destruct He as [[a u] [Ha He]]; destruct u; simpl in He.
  exists T', a; split; [reflexivity|]; split; [exact Ha|].
  destruct T' as [|T'']; simpl in He.
  - left; destruct He as [He|[]]; split; [reflexivity|symmetry; exact He].
  - right. apply in_flat_map in He; destruct He as [[d l] [Hd He]]; simpl in He.
    destruct l.
    + left; split; [discriminate|]; exists d; destruct He as [He|[]]; split; [exact Hd|symmetry; exact He].
    + right; split; [discriminate|]; apply in_map_iff in He; destruct He as [r [Er Hr]].
      exists d, r; split; [exact Hd|]; split; [exact Hr|symmetry; exact Er].
Qed.

(** ** Expectations from a history [h], block by block (the towers of the autoregressive tree) *)

Definition sE {L} (voc : list Tok) (pi : list Tok -> Tok -> R) (s : shape Tok L) (h : list Tok)
    (F : list Tok -> L -> R) : R :=
  lsum (fun pl => seq_prob pi h (fst pl) * F (fst pl) (snd pl)) (leaves voc s).

Definition eE (M : process Tok) (pi : list Tok -> Tok -> R) (T : nat) (h : list Tok)
    (F : episode Tok -> R) : R :=
  lsum (fun e => seq_prob pi h (tokens e) * F e) (episodes M T h).

Lemma sE_Done {L} voc pi (l : L) h F : sE voc pi (Done l) h F = F [] l.
Proof. unfold sE; simpl; ring. Qed.

Lemma sE_More {L} voc pi (k : Tok -> shape Tok L) h F :
  sE voc pi (More k) h F = lsum (fun y => pi h y * sE voc pi (k y) (h ++ [y]) (fun p l => F (y :: p) l)) voc.
Proof.
  unfold sE; simpl. rewrite lsum_flat_map. apply lsum_ext; intros y.
  rewrite lsum_map, <- lsum_scal. apply lsum_ext; intros [p l]; simpl; ring.
Qed.

Lemma sE_ext {L} voc pi (s : shape Tok L) h F G :
  (forall p l, F p l = G p l) -> sE voc pi s h F = sE voc pi s h G.
Proof. intros H; unfold sE; apply lsum_ext; intros [p l]; simpl; rewrite H; reflexivity. Qed.

Lemma sE_plus {L} voc pi (s : shape Tok L) h F G :
  sE voc pi s h (fun p l => F p l + G p l) = sE voc pi s h F + sE voc pi s h G.
Proof. unfold sE; rewrite <- lsum_plus; apply lsum_ext; intros x; ring. Qed.

Lemma sE_scal {L} voc pi (s : shape Tok L) h c F :
  sE voc pi s h (fun p l => c * F p l) = c * sE voc pi s h F.
Proof. unfold sE; rewrite <- lsum_scal; apply lsum_ext; intros x; ring. Qed.

Lemma sE_zero {L} voc pi (s : shape Tok L) h : sE voc pi s h (fun _ _ => 0) = 0.
Proof.
  unfold sE; transitivity (lsum (fun _ : list Tok * L => 0) (leaves voc s));
    [apply lsum_ext; intros x; ring | apply lsum_zero].
Qed.

(** Per-prefix normalisation makes every block a distribution. *)
Lemma sE_one {L} voc pi (s : shape Tok L) h :
  (forall h', lsum (pi h') voc = 1) -> sE voc pi s h (fun _ _ => 1) = 1.
Proof.
  intros Hn; revert h; induction s as [l|k IH]; intros h.
  - apply sE_Done.
  - rewrite sE_More. transitivity (lsum (pi h) voc); [|apply Hn]. apply lsum_ext; intros y. cbv beta.
    rewrite (IH y (h ++ [y])); ring.
Qed.

Lemma sE_const {L} voc pi (s : shape Tok L) h c :
  (forall h', lsum (pi h') voc = 1) -> sE voc pi s h (fun _ _ => c) = c.
Proof.
  intros Hn. rewrite (sE_ext voc pi s h (fun _ _ => c) (fun _ _ => c * 1)) by (intros; ring).
  rewrite sE_scal, sE_one by exact Hn; ring.
Qed.

(** The tree lemma: a per-token quantity [f] with zero mean at every prefix
    (sum_y pi(y|h) f(h,y) = 0) has zero mean summed over any block. *)
Lemma sE_zero_mean {L} voc pi (f : list Tok -> Tok -> R) (s : shape Tok L) h :
  (forall h', lsum (pi h') voc = 1) ->
  (forall h', lsum (fun y => pi h' y * f h' y) voc = 0) ->
  sE voc pi s h (fun p _ => seq_sum f h p) = 0.
Proof.
  intros Hn Hz; revert h; induction s as [l|k IH]; intros h.
  - rewrite sE_Done; reflexivity.
  - rewrite sE_More. transitivity (lsum (fun y => pi h y * f h y) voc); [|apply Hz]. apply lsum_ext; intros y. cbv beta. cbn [seq_sum].
    rewrite sE_plus, sE_const, (IH y (h ++ [y])) by exact Hn; ring.
Qed.

Lemma eE_ext M pi T h F G : (forall e, F e = G e) -> eE M pi T h F = eE M pi T h G.
Proof. intros H; unfold eE; apply lsum_ext; intros e; rewrite H; reflexivity. Qed.

Lemma eE_plus M pi T h F G : eE M pi T h (fun e => F e + G e) = eE M pi T h F + eE M pi T h G.
Proof. unfold eE; rewrite <- lsum_plus; apply lsum_ext; intros x; ring. Qed.

Lemma eE_scal M pi T h c F : eE M pi T h (fun e => c * F e) = c * eE M pi T h F.
Proof. unfold eE; rewrite <- lsum_scal; apply lsum_ext; intros x; ring. Qed.

Lemma eE_1 M pi h F :
  eE M pi 1 h F = sE (alphabet M) pi (attempt_shape M h) h (fun a _ => F (Capped a)).
Proof.
  unfold eE, sE; simpl. rewrite lsum_flat_map. apply lsum_ext; intros [a u]; simpl; ring.
Qed.

Lemma eE_SS M pi T h F :
  eE M pi (S (S T)) h F =
  sE (alphabet M) pi (attempt_shape M h) h (fun a _ =>
    sE (alphabet M) pi (decision_shape M (h ++ a)) (h ++ a) (fun d l =>
      match l with
      | STOP => F (Stopped a d)
      | RESAMPLE => eE M pi (S T) (h ++ a ++ d) (fun r => F (Resampled a d r))
      end)).
Proof.
  unfold eE at 1; unfold sE at 1. cbn [episodes]. rewrite lsum_flat_map. apply lsum_ext; intros [a u].
  cbn [fst snd]. rewrite lsum_flat_map. unfold sE. rewrite <- lsum_scal. apply lsum_ext; intros [d l].
  cbn [fst snd]. destruct l; cbn [lsum fold_right tokens].
  - rewrite seq_prob_app; ring.
  - rewrite lsum_map. unfold eE. rewrite <- lsum_scal, <- lsum_scal. apply lsum_ext; intros r.
    cbn [tokens]. rewrite seq_prob_app, seq_prob_app, <- app_assoc; ring.
Qed.

(** ** The trajectory set is a set: no trajectory is listed twice (when the vocabulary lists no token
    twice), so a sum over [episodes] is a sum over distinct trajectories. *)

Lemma NoDup_app_intro {A} (l1 l2 : list A) :
  NoDup l1 -> NoDup l2 -> (forall z, In z l1 -> ~ In z l2) -> NoDup (l1 ++ l2).
Proof.
  induction l1 as [|x l1 IH]; intros H1 H2 Hd; simpl; [exact H2|].
  inversion H1 as [|x' l1' Hx H1']; subst. constructor.
  - intros Hin. apply in_app_or in Hin. destruct Hin as [Hin|Hin]; [exact (Hx Hin)|].
    exact (Hd x (or_introl eq_refl) Hin).
  - apply IH; [exact H1'|exact H2|]. intros z Hz; apply Hd; right; exact Hz.
Qed.

Lemma NoDup_flat_map_key {A B K} (f : A -> list B) (key : B -> K) (g : A -> K) (l : list A) :
  NoDup (map g l) -> (forall x, In x l -> NoDup (f x)) -> (forall x z, In x l -> In z (f x) -> key z = g x) ->
  NoDup (flat_map f l).
Proof.
  induction l as [|x l IH]; intros Hg Hf Hk; simpl; [constructor|].
  inversion Hg as [|gx gl Hx Hg']; subst.
  apply NoDup_app_intro.
  - apply Hf; left; reflexivity.
  - apply IH; [exact Hg'| |]; intros; [apply Hf | apply Hk]; auto; right; assumption.
  - intros z Hz Hz'. apply in_flat_map in Hz'. destruct Hz' as [x' [Hx' Hz']].
    apply Hx. rewrite <- (Hk x z (or_introl eq_refl) Hz), (Hk x' z (or_intror Hx') Hz').
    apply in_map; exact Hx'.
Qed.

Lemma leaves_paths_nodup {L} (voc : list Tok) (s : shape Tok L) :
  NoDup voc -> NoDup (map fst (leaves voc s)).
Proof.
  intros Hv. induction s as [l|k IH]; simpl; [constructor; [intros []|constructor]|].
  rewrite flat_map_concat_map, concat_map, map_map, <- flat_map_concat_map.
  apply (NoDup_flat_map_key _ (@hd_error Tok) (@Some Tok)).
  - apply Injective_map_NoDup; [intros x y E; injection E; auto | exact Hv].
  - intros y _. rewrite map_map; simpl.
    rewrite <- (map_map fst (cons y)). apply Injective_map_NoDup; [intros p q E; injection E; auto | apply IH].
  - intros y z _ Hz. rewrite map_map in Hz. apply in_map_iff in Hz. destruct Hz as [pl [<- _]]. reflexivity.
Qed.

Definition first_attempt (e : episode Tok) : list Tok :=
  match e with Capped a | Stopped a _ | Resampled a _ _ => a end.

Definition first_decision (e : episode Tok) : option (list Tok) :=
  match e with Capped _ => None | Stopped _ d | Resampled _ d _ => Some d end.

Lemma episodes_nodup (M : process Tok) T h : NoDup (alphabet M) -> NoDup (episodes M T h).
Proof.
  intros Hv. revert h; induction T as [|T IH]; intros h; simpl; [constructor|].
  apply (NoDup_flat_map_key _ first_attempt fst); [apply leaves_paths_nodup, Hv| |].
  - intros [a u] _. destruct T as [|T']; [constructor; [intros []|constructor]|].
    apply (NoDup_flat_map_key _ first_decision (fun dl => Some (fst dl))).
    + rewrite <- map_map. apply Injective_map_NoDup; [intros x y E; injection E; auto|].
      apply leaves_paths_nodup, Hv.
    + intros [d l] _. destruct l; simpl; [constructor; [intros []|constructor]|].
      apply Injective_map_NoDup; [intros r r' E; injection E; auto | apply IH].
    + intros [d l] z _ Hz. destruct l; simpl in Hz.
      * destruct Hz as [<-|[]]; reflexivity.
      * apply in_map_iff in Hz. destruct Hz as [r [<- _]]; reflexivity.
  - intros [a u] z _ Hz. destruct T as [|T']; simpl in Hz.
    + destruct Hz as [<-|[]]; reflexivity.
    + apply in_flat_map in Hz. destruct Hz as [[d l] [_ Hz]]. destruct l; simpl in Hz.
      * destruct Hz as [<-|[]]; reflexivity.
      * apply in_map_iff in Hz. destruct Hz as [r [<- _]]; reflexivity.
Qed.

End Chain.
