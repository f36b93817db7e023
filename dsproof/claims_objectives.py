"""Claims about the objectives (surrogate, KL, SFT, DFT): registered by the objectives work."""
