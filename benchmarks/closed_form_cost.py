"""How long the closed-form derivations of the two-stage model take for a large budget T with a symbolic attempt
length L (printed, never asserted): J_T, its per-stage gradient, E[attempts], the sequence KL and its gradient, the
future-KL cross-term, the k2/k3 token-loss gradients, the induction checks of every recursion, and the derived
fixed-logits leading order of every objective's attribution ratio (derived once for symbolic T, then evaluated at
T: the P-expansion with a numeric T would differentiate b^T term by term and take longer).  Each T runs in a fresh process (no sympy cache
carried over).

    python benchmarks/closed_form_cost.py [--T 16 32 64]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

ONE = """
import json, time, sympy as sp
t0 = time.perf_counter()
from theory.closed_form import ClosedForm, L, T as T_sym, objective_gradients
from theory.asymptotics import ratio_asymptotics
T = {T}
c = ClosedForm(T, L)
steps = {{}}
t = time.perf_counter(); J = c.J; gJ = c.gradient(J); steps["J and dJ/dtheta"] = time.perf_counter() - t
t = time.perf_counter(); N = c.expected_attempts; D = c.expected_decisions; steps["E[N], E[D]"] = time.perf_counter() - t
t = time.perf_counter(); K = c.kl_sequence; gK = c.gradient(K); fut = c.future_kl()
steps["KL, dKL/dtheta, future-KL"] = time.perf_counter() - t
t = time.perf_counter(); tl = [c.token_loss_gradient(e) for e in ("k2", "k3")]; steps["k2/k3 token-loss gradients"] = time.perf_counter() - t
t = time.perf_counter(); ind = [c.induction(n) for n in ("J", "expected_attempts", "expected_decisions", "kl_sequence")]
assert all(i == (0, 0) for i in ind); steps["induction checks"] = time.perf_counter() - t
t = time.perf_counter()
lead = {{k: ratio_asymptotics(g, "fixed-logits") for k, g in objective_gradients(T_sym, L).items()}}
lead = {{k: (a.power, a.coeff.subs(T_sym, T)) for k, a in lead.items()}}
steps["fixed-logits leading orders (6 objectives)"] = time.perf_counter() - t
steps["total"] = time.perf_counter() - t0
print(json.dumps(steps))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, nargs="+", default=[16, 32, 64], help="budgets to time")
    args = ap.parse_args(argv)
    rows = {}
    for T in args.T:
        out = subprocess.run([sys.executable, "-c", ONE.format(T=T)], capture_output=True, text=True, check=True)
        rows[T] = json.loads(out.stdout.strip().splitlines()[-1])
    names = list(next(iter(rows.values())))
    print(f"closed-form derivations, symbolic L, seconds (incl. imports in 'total')")
    print(f"{'step':45s}" + "".join(f"{'T=' + str(T):>10s}" for T in rows))
    for n in names:
        print(f"{n:45s}" + "".join(f"{rows[T][n]:10.2f}" for T in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
