"""The one tolerance table: every numeric comparison in dsproof reads its tolerance from here."""

from __future__ import annotations

import torch

#: (rtol, atol) by dtype.  float64: agreement of a symbolic derivation with autograd is exact up to
#: round-off; float32 / bfloat16: for real models on GPU (issue: per-stage probe).
TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-9, 1e-11),
    torch.float32: (1e-4, 1e-6),
    torch.bfloat16: (3e-2, 1e-3),
}

#: |z| above which a Monte-Carlo estimate is declared inconsistent with its exact expectation.
#: 5 sigma: with a fixed seed the test is deterministic; a wrong derivation gives z in the hundreds.
MC_Z_MAX = 5.0


def tolerance(dtype: torch.dtype) -> tuple[float, float]:
    try:
        return TOLERANCES[dtype]
    except KeyError:
        raise KeyError(f"no tolerance registered for dtype {dtype}; add it to numerics/tolerances.py") from None


def error_ratio(actual: torch.Tensor, expected: torch.Tensor, dtype: torch.dtype | None = None) -> float:
    """max |a - e| / (atol + rtol |e|) with the table's tolerance: <= 1 means "agrees" (the same criterion
    as torch.testing.assert_close).  This is the figure the ledger reports."""
    rtol, atol = tolerance(dtype or expected.dtype)
    a, e = actual.detach().to(expected.dtype), expected.detach()
    return float(((a - e).abs() / (atol + rtol * e.abs())).max())


def assert_close(actual: torch.Tensor, expected: torch.Tensor, what: str, dtype: torch.dtype | None = None) -> None:
    """torch.testing.assert_close with the table's tolerance and a message that says what was compared."""
    rtol, atol = tolerance(dtype or expected.dtype)
    torch.testing.assert_close(
        actual.detach().to(expected.dtype), expected.detach(), rtol=rtol, atol=atol,
        msg=lambda m: f"{what}: expected agreement within rtol={rtol}, atol={atol}\n{m}",
    )

#: central finite differences in float64 (step FD_STEP): truncation + round-off stay far below this.
FD_STEP = 1e-6
FD_RTOL = 1e-6
