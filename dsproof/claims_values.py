"""Claims about the per-stage value functions of §3 (Lemma 3.2's Q / V form and the Markov state, Definition 3.1's
statistic Phi) and the discounted (gamma < 1) cases of Theorems 3.1 and 3.2."""

from __future__ import annotations
