"""The Appendix C toy model, generalised to a budget of T attempts of L_k tokens each.

Model (one query, final-answer reward):

* an attempt k is L_k i.i.d. answer tokens, each correct with probability q = sigmoid(theta_s); the answer
  is correct iff every token is, so p_s,k = q**L_k.  With L_k = 1 this is exactly the paper's App. C
  model (p_s = sigmoid(theta_s));
* after attempt k < T a one-token decision: STOP with probability p_dC = sigmoid(theta_dC) when the answer
  is correct, RESAMPLE with probability p_dW = sigmoid(theta_dW) when it is wrong (the paper's p_{d|C},
  p_{d|W});
* budget cap: after attempt T the episode stops without a decision token;
* reward R = r_C if the final answer is correct, r_W otherwise (the paper: r_C = 1, r_W = 0).

Everything is expressed first in the probabilities (q, p_dC, p_dW) and mapped to logits by the chain rule
dp/dtheta = p (1 - p), which keeps the expressions small for larger T.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from .terms import Term
from .validate import check_budget, check_lengths

#: logits (the parameters of the disjoint parameterisation)
theta_s, theta_dC, theta_dW = sp.symbols("theta_s theta_dC theta_dW", real=True)
LOGITS = (theta_s, theta_dC, theta_dW)
#: the probabilities they parameterise
q, p_dC, p_dW = sp.symbols("q p_dC p_dW", positive=True)
PROBS = (q, p_dC, p_dW)
#: reference-policy probabilities (for KL terms)
q_ref, p_dC_ref, p_dW_ref = sp.symbols("q_ref p_dC_ref p_dW_ref", positive=True)
REF_PROBS = (q_ref, p_dC_ref, p_dW_ref)
#: rewards of a correct / wrong final answer
r_C, r_W = sp.symbols("r_C r_W", real=True)

STAGE_OF = {theta_s: "sampling", theta_dC: "decision", theta_dW: "decision"}
PROB_OF = {theta_s: q, theta_dC: p_dC, theta_dW: p_dW}


def sigmoid(x):
    return 1 / (1 + sp.exp(-x))


def kl_bernoulli(p, p_ref):
    """KL(Bern(p) || Bern(p_ref)), the per-step reverse KL of a binary choice."""
    return p * sp.log(p / p_ref) + (1 - p) * sp.log((1 - p) / (1 - p_ref))


@dataclass(frozen=True)
class Path:
    """An attempt-level trajectory: the correctness of each attempt taken, and how it ended.

    ``outcomes[k]`` is ``"C"`` or ``"W"``; the decisions are RESAMPLE after every attempt but the last, and
    STOP after the last unless ``forced`` (the budget cap ended the episode).
    """

    outcomes: tuple[str, ...]
    forced: bool

    @property
    def n_attempts(self) -> int:
        return len(self.outcomes)

    @property
    def decisions(self) -> tuple[str, ...]:
        tail = () if self.forced else ("STOP",)
        return ("RESAMPLE",) * (self.n_attempts - 1) + tail

    @property
    def final_correct(self) -> bool:
        return self.outcomes[-1] == "C"


class ToyModel:
    """Symbolic two-stage model with budget ``T`` and attempt lengths ``lengths`` (int or T ints)."""

    def __init__(self, T: int = 1, lengths=1, rewards=(1, 0)):
        self.T = check_budget(T)
        self.lengths = check_lengths(lengths, self.T)
        self.r_C, self.r_W = (sp.sympify(r) for r in rewards)

    # ---------------------------------------------------------------- Lemma 3.1 on the toy model
    def p_s(self, k: int):
        """First-attempt-style accuracy of attempt k (1-based): q**L_k."""
        return q ** self.lengths[k - 1]

    def paths(self) -> list[Path]:
        """All attempt-level trajectories: stop voluntarily after attempt t < T, or be capped at T."""
        out = []
        for t in range(1, self.T + 1):
            for outcomes in itertools.product("CW", repeat=t):
                out.append(Path(outcomes, forced=(t == self.T)))
        return out

    def decision_prob(self, outcome: str, decision: str):
        stop = p_dC if outcome == "C" else 1 - p_dW
        return stop if decision == "STOP" else 1 - stop

    def sampling_factor(self, path: Path):
        """prod_k pi_sample(A_k | s_{k-1}) at attempt level (correct: q**L_k, wrong: 1 - q**L_k)."""
        return sp.Mul(*[self.p_s(k) if o == "C" else 1 - self.p_s(k) for k, o in enumerate(path.outcomes, 1)])

    def decision_factor(self, path: Path):
        """prod_k pi_d(d_k | s_k): RESAMPLE after attempts 1..t-1, STOP after t (absent when capped)."""
        return sp.Mul(*[self.decision_prob(o, d) for o, d in zip(path.outcomes, path.decisions)])

    def path_prob(self, path: Path):
        """Lemma 3.1: P(tau) = prod pi_sample * prod pi_d(RESAMPLE) * pi_d(STOP) (STOP absent when capped)."""
        return self.sampling_factor(path) * self.decision_factor(path)

    def reward(self, path: Path):
        return self.r_C if path.final_correct else self.r_W

    def total_probability(self):
        """Sum of P(tau) over all trajectories; Lemma 3.1 defines a distribution iff this is 1."""
        return sp.simplify(sp.Add(*[self.path_prob(p) for p in self.paths()]))

    # ---------------------------------------------------------------- expected reward J
    @cached_property
    def J_enumerated(self):
        """J = E[R] = sum_tau P(tau) R(tau), by enumeration (in q, p_dC, p_dW)."""
        return sp.expand(sp.Add(*[self.path_prob(p) * self.reward(p) for p in self.paths()]))

    @cached_property
    def J_backward(self):
        """J by backward recursion over attempts (value of the state before attempt k):

        V_T = p_s,T r_C + (1 - p_s,T) r_W,
        V_k = p_s,k [p_dC r_C + (1 - p_dC) V_{k+1}] + (1 - p_s,k) [(1 - p_dW) r_W + p_dW V_{k+1}].
        """
        V = self.p_s(self.T) * self.r_C + (1 - self.p_s(self.T)) * self.r_W
        for k in range(self.T - 1, 0, -1):
            ps = self.p_s(k)
            V = ps * (p_dC * self.r_C + (1 - p_dC) * V) + (1 - ps) * ((1 - p_dW) * self.r_W + p_dW * V)
        return sp.expand(V)

    def continue_prob(self, k: int):
        """b_k = P(RESAMPLE after attempt k) = p_s,k (1 - p_dC) + (1 - p_s,k) p_dW."""
        ps = self.p_s(k)
        return ps * (1 - p_dC) + (1 - ps) * p_dW

    def reach_prob(self, k: int):
        """P(attempt k is taken) = prod_{j<k} b_j."""
        return sp.Mul(*[self.continue_prob(j) for j in range(1, k)])

    @cached_property
    def expected_attempts(self):
        return sp.Add(*[self.reach_prob(k) for k in range(1, self.T + 1)])

    # ---------------------------------------------------------------- KL(P_theta || P_ref), sequence level
    @cached_property
    def kl_sequence(self):
        """Sequence-level reverse KL, by the chain rule of KL over the token steps:

        KL = sum_k P(reach k) [L_k kl(q||q_ref)]
             + sum_{k<T} P(reach k) [p_s,k kl(p_dC||p_dC_ref) + (1-p_s,k) kl(p_dW||p_dW_ref)].

        This is E[sum_t k1_t], the expected k1 penalty the paper puts in the reward (Theorem 3.2).
        """
        tok = kl_bernoulli(q, q_ref)
        dC, dW = kl_bernoulli(p_dC, p_dC_ref), kl_bernoulli(p_dW, p_dW_ref)
        out = 0
        for k in range(1, self.T + 1):
            out += self.reach_prob(k) * self.lengths[k - 1] * tok
            if k < self.T:
                ps = self.p_s(k)
                out += self.reach_prob(k) * (ps * dC + (1 - ps) * dW)
        return out

    def kl_sequence_enumerated(self):
        """The same KL from its definition, sum_tau P log(P/P_ref), over token-level trajectories.

        Within an attempt of L tokens with n wrong ones (multiplicity binomial(L, n)) the token
        log-ratio is (L-n) log(q/q_ref) + n log((1-q)/(1-q_ref)).  Used to check :attr:`kl_sequence`.
        """
        ref = dict(zip(PROBS, REF_PROBS))
        total = 0
        for t in range(1, self.T + 1):
            for wrong in itertools.product(*[range(self.lengths[k] + 1) for k in range(t)]):
                mult, logr, prob = 1, 0, 1
                outcomes = []
                for k, n in enumerate(wrong):
                    L = self.lengths[k]
                    mult *= sp.binomial(L, n)
                    prob *= q ** (L - n) * (1 - q) ** n
                    logr += (L - n) * sp.log(q / q_ref) + n * sp.log((1 - q) / (1 - q_ref))
                    outcomes.append("C" if n == 0 else "W")
                path = Path(tuple(outcomes), forced=(t == self.T))
                for o, d in zip(path.outcomes, path.decisions):
                    pd = self.decision_prob(o, d)
                    prob *= pd
                    logr += sp.log(pd / pd.subs(ref))
                total += mult * prob * logr
        return total

    # ---------------------------------------------------------------- gradients, labelled by stage
    def to_logits(self, expr):
        """Substitute probabilities by sigmoids of the logits."""
        return expr.subs({q: sigmoid(theta_s), p_dC: sigmoid(theta_dC), p_dW: sigmoid(theta_dW)})

    @staticmethod
    def d_logit(expr, logit):
        """d expr / d logit through the chain rule dp/dtheta = p (1 - p), kept in probability form."""
        p = PROB_OF[logit]
        return sp.diff(expr, p) * p * (1 - p)

    def gradient_terms(self, expr, source: str, name: str = "J", factor: bool = True) -> list[Term]:
        """d expr/d theta for each logit, each labelled sampling or decision; ``factor=False`` skips sympy's factor
        (for display only: it can take minutes on long layouts, and lambdify does not need it)."""
        tidy = sp.factor if factor else (lambda e: e)
        return [Term(f"d{name}/d{th}", tidy(self.d_logit(expr, th)), STAGE_OF[th], source) for th in LOGITS]

    def hessian_cross_terms(self, expr, source: str, name: str = "J") -> list[Term]:
        """Mixed second derivatives d2 expr / dtheta_s dtheta_d: how improving sampling moves the decision
        gradient (and back).  Zero would mean the stages decouple; they do not."""
        return [
            Term(
                f"d2{name}/dtheta_s d{th}",
                sp.factor(self.d_logit(self.d_logit(expr, theta_s), th)),
                "cross",
                source,
                "mixed second derivative across stages",
            )
            for th in (theta_dC, theta_dW)
        ]

    # ---------------------------------------------------------------- score functions per stage
    def score_terms(self, path: Path):
        """Per-stage score of one attempt-level path, d log P / d theta, returned as
        (sampling part, decision part), each a dict logit -> expression.  Disjoint parameters: the
        sampling factor depends on theta_s only, the decision factor on theta_dC, theta_dW only."""
        log_s, log_d = sp.log(self.sampling_factor(path)), sp.log(self.decision_factor(path))
        samp = {th: sp.simplify(self.d_logit(log_s, th)) for th in LOGITS}
        dec = {th: sp.simplify(self.d_logit(log_d, th)) for th in LOGITS}
        return samp, dec

    def expected_score_product(self, stage_a: str, stage_b: str):
        """E[g_a g_b^T] (3x3) for the stage scores g_sampling, g_decision: the Fisher blocks.
        The cross block (sampling, decision) is the expected score cross-term."""
        M = sp.zeros(3, 3)
        for path in self.paths():
            samp, dec = self.score_terms(path)
            ga = samp if stage_a == "sampling" else dec
            gb = samp if stage_b == "sampling" else dec
            P = self.path_prob(path)
            for i, a in enumerate(LOGITS):
                for j, b in enumerate(LOGITS):
                    M[i, j] += P * ga[a] * gb[b]
        return M.applyfunc(sp.simplify)


# ---------------------------------------------------------------------------- shared parameters
def shared_parameterisation(m: int = 2):
    """One shared theta in R^m with logits z = U theta (U a 3 x m symbol matrix), the real case of one
    network.  Returns (theta vector, U)."""
    theta = sp.Matrix(sp.symbols(f"vartheta_1:{m + 1}", real=True))
    U = sp.Matrix(3, m, lambda i, j: sp.Symbol(f"u_{('s', 'dC', 'dW')[i]}{j + 1}", real=True))
    return theta, U


def shared_gradient_terms(dJ_dz: sp.Matrix, d2J_dz2: sp.Matrix, U: sp.Matrix, source: str) -> list[Term]:
    """Stage split of the gradient and Hessian in a shared parameterisation z = U theta.

    g_s = U_s^T dJ/dz_s (sampling), g_d = U_dC^T dJ/dz_dC + U_dW^T dJ/dz_dW (decision);
    cross-terms: <g_s, g_d> (so ||g||^2 = ||g_s||^2 + ||g_d||^2 + 2 <g_s, g_d>) and the Hessian block
    U_s^T (d2J/dz_s dz_d) U_d + its transpose.
    """
    Us, Ud = U[0, :].T, U[1:, :].T
    g_s = Us * dJ_dz[0]
    g_d = Ud * dJ_dz[1:, 0]
    inner = sp.expand((g_s.T * g_d)[0, 0])
    H_sd = d2J_dz2[0, 1:]
    H_cross = Us * H_sd * Ud.T
    H_cross = H_cross + H_cross.T
    return [
        Term("g_sampling", g_s, "sampling", source, "U_s^T dJ/dz_s"),
        Term("g_decision", g_d, "decision", source, "U_d^T dJ/dz_d"),
        Term("<g_sampling, g_decision>", inner, "cross", source, "inner product of the stage gradients"),
        Term("H_cross", H_cross, "cross", source, "cross block of the Hessian in theta"),
    ]
