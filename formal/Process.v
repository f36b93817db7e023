(** * Process.v -- the two-stage decision-sampling process, from first principles.

    Paper: Zhao, Zha, Zhang, Xu, "The Two-Stage Decision-Sampling Hypothesis" (arXiv:2601.01580), §3.1.

    Nothing in this file is a closed form of the paper: a trajectory is a token sequence produced by one
    autoregressive policy (a function from a prefix to a distribution over the next token); its probability
    is the product of the token probabilities along the path (the chain rule, every token conditioned on its
    whole prefix); the objectives are finite sums over the enumerated trajectory set of the process.

    The process with budget [T] (one query):
    - an attempt is a block of sampling tokens; which token sequences form a complete attempt is given by an
      [attempt_shape] (a finite tree over the vocabulary, any function of the history);
    - after an attempt comes a decision, a block of decision tokens whose complete sequences are the leaves
      of a [decision_shape] (any function of the history), each leaf labelled STOP or RESAMPLE;
    - STOP ends the episode; RESAMPLE starts the next attempt;
    - budget cap: after the T-th attempt the episode ends without a decision.
    The stage mask (which token is a sampling token and which a decision token) is the one these blocks
    induce; since both shapes are arbitrary functions of the prefix, so is the mask. *)

From Coq Require Import Reals List Lia Arith.
From Coquelicot Require Import Coquelicot.
Import ListNotations.
Open Scope R_scope.

(** ** Finite sums and products over lists *)

Definition lsum {A : Type} (f : A -> R) (l : list A) : R :=
  fold_right (fun x acc => f x + acc) 0 l.

Definition lprod {A : Type} (f : A -> R) (l : list A) : R :=
  fold_right (fun x acc => f x * acc) 1 l.

(** ** Stages and decisions *)

Inductive stage : Type := Sampling | Decision.

Definition stage_eqb (s t : stage) : bool :=
  match s, t with
  | Sampling, Sampling | Decision, Decision => true
  | _, _ => false
  end.

Inductive decision : Type := STOP | RESAMPLE.

(** The label of a complete attempt (an attempt carries no decision). *)
Inductive attempt_end : Type := EndOfAttempt.

(** ** Block shapes: finite trees over the vocabulary.
    [Done l]: the block is complete (with label [l]); [More k]: one more token [y], then the shape [k y].
    The leaves enumerate the complete blocks; at an inner node every token of the vocabulary continues
    (the autoregressive tree). *)

Inductive shape (Tok L : Type) : Type :=
| Done (l : L)
| More (k : Tok -> shape Tok L).
Arguments Done {Tok L} l.
Arguments More {Tok L} k.

(** A process: the vocabulary (a finite list of tokens), the shape of an attempt and the shape of a
    decision, each a function of the history (the prefix before the block). *)
Record process (Tok : Type) : Type := {
  alphabet : list Tok;
  attempt_shape : list Tok -> shape Tok attempt_end;
  decision_shape : list Tok -> shape Tok decision
}.
Arguments alphabet {Tok} p.
Arguments attempt_shape {Tok} p _.
Arguments decision_shape {Tok} p _.

(** A trajectory (episode): attempt blocks and decision blocks, in order. *)
Inductive episode (Tok : Type) : Type :=
| Capped (a : list Tok)                                (** last attempt, budget cap, no decision *)
| Stopped (a d : list Tok)                             (** last attempt, then a STOP decision *)
| Resampled (a d : list Tok) (rest : episode Tok).     (** attempt, RESAMPLE decision, the rest *)
Arguments Capped {Tok} a.
Arguments Stopped {Tok} a d.
Arguments Resampled {Tok} a d rest.

Section Process.
Context {Tok : Type}.

(** The complete blocks of a shape, with their labels. *)
Fixpoint leaves {L : Type} (voc : list Tok) (s : shape Tok L) : list (list Tok * L) :=
  match s with
  | Done l => [([], l)]
  | More k => flat_map (fun y => map (fun pl => (y :: fst pl, snd pl)) (leaves voc (k y))) voc
  end.

(** The trajectory set of the process with budget [T], started after the history [h]:
    attempt; if the budget is spent (this was attempt T), the episode is capped; otherwise a decision,
    and STOP ends it, RESAMPLE continues with budget T-1 after the history h ++ a ++ d. *)
Fixpoint episodes (M : process Tok) (T : nat) (h : list Tok) : list (episode Tok) :=
  match T with
  | O => []
  | S T' =>
      flat_map (fun al =>
        match T' with
        | O => [Capped (fst al)]
        | S _ =>
            flat_map (fun dl =>
              match snd dl with
              | STOP => [Stopped (fst al) (fst dl)]
              | RESAMPLE => map (Resampled (fst al) (fst dl)) (episodes M T' (h ++ fst al ++ fst dl))
              end) (leaves (alphabet M) (decision_shape M (h ++ fst al)))
        end) (leaves (alphabet M) (attempt_shape M h))
  end.

(** The token sequence of an episode, and its stage mask (one stage per token). *)
Fixpoint tokens (e : episode Tok) : list Tok :=
  match e with
  | Capped a => a
  | Stopped a d => a ++ d
  | Resampled a d r => a ++ d ++ tokens r
  end.

Fixpoint mask (e : episode Tok) : list stage :=
  match e with
  | Capped a => repeat Sampling (length a)
  | Stopped a d => repeat Sampling (length a) ++ repeat Decision (length d)
  | Resampled a d r => repeat Sampling (length a) ++ repeat Decision (length d) ++ mask r
  end.

(** The blocks with the state (prefix) they are conditioned on, started after history [h]:
    (s_{k-1}, A_k) for the attempts, (s_k, d_k) for the RESAMPLE decisions and for the STOP decision. *)
Fixpoint attempts (h : list Tok) (e : episode Tok) : list (list Tok * list Tok) :=
  match e with
  | Capped a => [(h, a)]
  | Stopped a d => [(h, a)]
  | Resampled a d r => (h, a) :: attempts (h ++ a ++ d) r
  end.

Fixpoint resamples (h : list Tok) (e : episode Tok) : list (list Tok * list Tok) :=
  match e with
  | Capped _ => []
  | Stopped _ _ => []
  | Resampled a d r => (h ++ a, d) :: resamples (h ++ a ++ d) r
  end.

Fixpoint stops (h : list Tok) (e : episode Tok) : list (list Tok * list Tok) :=
  match e with
  | Capped _ => []
  | Stopped a d => [(h ++ a, d)]
  | Resampled a d r => stops (h ++ a ++ d) r
  end.

Fixpoint last_attempt (e : episode Tok) : list Tok :=
  match e with
  | Capped a => a
  | Stopped a _ => a
  | Resampled _ _ r => last_attempt r
  end.

(** ** Policies.  A policy maps a prefix and a next token to that token's probability. *)

(** The chain rule: probability of the tokens [ys] after the prefix [h], each token conditioned on its
    whole prefix. *)
Fixpoint seq_prob (pi : list Tok -> Tok -> R) (h : list Tok) (ys : list Tok) : R :=
  match ys with
  | [] => 1
  | y :: ys' => pi h y * seq_prob pi (h ++ [y]) ys'
  end.

(** The same sum along the path (used for scores: f = derivative of the log token probability). *)
Fixpoint seq_sum (f : list Tok -> Tok -> R) (h : list Tok) (ys : list Tok) : R :=
  match ys with
  | [] => 0
  | y :: ys' => f h y + seq_sum f (h ++ [y]) ys'
  end.

(** Products / sums over the tokens that a stage mask [ms] assigns to stage [st] (each token still
    conditioned on its whole prefix). *)
Fixpoint stage_prod (st : stage) (f : list Tok -> Tok -> R) (h : list Tok) (ys : list Tok)
    (ms : list stage) : R :=
  match ys, ms with
  | y :: ys', m :: ms' => (if stage_eqb m st then f h y else 1) * stage_prod st f (h ++ [y]) ys' ms'
  | _, _ => 1
  end.

Fixpoint stage_sum (st : stage) (f : list Tok -> Tok -> R) (h : list Tok) (ys : list Tok)
    (ms : list stage) : R :=
  match ys, ms with
  | y :: ys', m :: ms' => (if stage_eqb m st then f h y else 0) + stage_sum st f (h ++ [y]) ys' ms'
  | _, _ => 0
  end.

(** P(tau): the probability of a trajectory, the product along its path from the empty prefix. *)
Definition traj_prob (pi : list Tok -> Tok -> R) (e : episode Tok) : R := seq_prob pi [] (tokens e).

(** pi_sample(A_k | s_{k-1}) and pi_d(d_k | s_k): the products of the token probabilities of a block. *)
Definition pi_sample (pi : list Tok -> Tok -> R) (s a : list Tok) : R := seq_prob pi s a.
Definition pi_d (pi : list Tok -> Tok -> R) (s d : list Tok) : R := seq_prob pi s d.

(** E_{tau ~ P}[F]: the sum over the process's trajectory set with budget [T]. *)
Definition expect (M : process Tok) (pi : list Tok -> Tok -> R) (T : nat) (F : episode Tok -> R) : R :=
  lsum (fun e => traj_prob pi e * F e) (episodes M T []).

End Process.

(** ** Parameters and derivatives.  theta : nat -> R (coordinates 0, 1, 2, ...). *)

(** theta with coordinate [i] replaced by [x]. *)
Definition upd (theta : nat -> R) (i : nat) (x : R) : nat -> R :=
  fun j => if Nat.eqb j i then x else theta j.
Arguments upd : simpl never.

(** The partial derivative of F : R^N -> R along coordinate [i] at [theta] (Coquelicot's [Derive]). *)
Definition pd (i : nat) (F : (nat -> R) -> R) (theta : nat -> R) : R :=
  Derive (fun x => F (upd theta i x)) (theta i).

Definition grad (F : (nat -> R) -> R) (theta : nat -> R) : nat -> R := fun i => pd i F theta.

(** Inner product and squared norm on the first [n] coordinates. *)
Definition inner (n : nat) (u v : nat -> R) : R := lsum (fun i => u i * v i) (seq 0 n).
Definition norm2 (n : nat) (u : nat -> R) : R := inner n u u.

Section Scores.
Context {Tok : Type}.
(** A parametrised policy: theta -> prefix -> next token -> probability. *)
Variable pi : (nat -> R) -> list Tok -> Tok -> R.

(** d/dtheta_i log pi(y | h). *)
Definition tok_score (theta : nat -> R) (i : nat) (h : list Tok) (y : Tok) : R :=
  pd i (fun th => ln (pi th h y)) theta.

(** g_S and g_D (coordinate i): the derivative of log pi summed over the sampling tokens, resp. the
    decision tokens, of the trajectory. *)
Definition score_S (theta : nat -> R) (i : nat) (e : episode Tok) : R :=
  stage_sum Sampling (tok_score theta i) [] (tokens e) (mask e).
Definition score_D (theta : nat -> R) (i : nat) (e : episode Tok) : R :=
  stage_sum Decision (tok_score theta i) [] (tokens e) (mask e).

(** The trajectory-level, unclipped surrogate E_{tau ~ P_old}[P_theta(tau) / P_old(tau) * A(tau)]. *)
Definition surrogate (M : process Tok) (T : nat) (A : episode Tok -> R) (theta_old theta : nat -> R) : R :=
  expect M (pi theta_old) T (fun e => traj_prob (pi theta) e / traj_prob (pi theta_old) e * A e).

End Scores.
