"""The paper's claims as statements, each with its computations: one module per part of the paper (core: the
two-stage model itself; objectives: Theorems 3.1, 3.2, Definition 3.1, Appendix D; values: the per-stage value
functions and the discounted cases; training: what training does to the stages; empirical: §4).  Each check returns
:class:`dsproof.ledger.Result`; the verdicts come from :mod:`dsproof.verdict`."""
