"""Claims about training dynamics the paper states in words (abstract, §5): what KL, SFT and RL do to p_s, p_dC and
p_dW when the toy model is trained; finite-group GRPO advantages; SFT's echo chamber and the power of negative
feedback."""

from __future__ import annotations
