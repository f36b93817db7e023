"""What ``dsproof decompose`` is given: the runs a command line names (files or run folders, by role), checked before
anything is read, and the buckets' order and bootstrap seeds."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

#: the models of a run, as the pooling rule names them: SFT without reflection (optional), then the two compared
ROLES = ("sft", "sft-reflect", "rl")
BEFORE, AFTER = "sft-reflect", "rl"
ROLE_LABELS = {"sft": "SFT", "sft-reflect": "SFT-reflect", "rl": "RL", "model": "model"}


class DecomposeError(ValueError):
    """A bad invocation or input (one line, exit code 2)."""


@dataclass
class RunSpec:
    """One run: its label and its files by role (``model`` for a file read alone)."""

    label: str
    files: dict[str, str]

    @property
    def paired(self) -> bool:
        return BEFORE in self.files and AFTER in self.files


def _role_file(folder: Path, role: str) -> str | None:
    for suffix in (".jsonl", ".jsonl.gz"):
        if (folder / f"{role}{suffix}").is_file():
            return str(folder / f"{role}{suffix}")
    return None


def run_specs(paths: list[str], compare: str | None = None, sft: str | None = None) -> list[RunSpec]:
    """The runs a command line names: files (one model each, or with ``compare`` one run: the file is SFT-reflect,
    ``compare`` RL, ``sft`` SFT) or folders (one run each, files named by role)."""
    if not paths:
        raise DecomposeError("no generations given: a file, or a run folder holding sft-reflect.jsonl and rl.jsonl")
    kinds = {Path(p).is_dir() for p in paths}
    for p in paths:
        if not Path(p).exists():
            raise DecomposeError(f"no such file or directory: {p}")
    if kinds == {True, False}:
        raise DecomposeError("give files or run folders, not both")
    if True in kinds:
        if compare or sft:
            raise DecomposeError("--compare and --sft go with one file; a run folder names its files by role "
                                 "(sft-reflect.jsonl, rl.jsonl, sft.jsonl)")
        specs = []
        for p in paths:
            files = {r: f for r in ROLES if (f := _role_file(Path(p), r))}
            missing = [r for r in (BEFORE, AFTER) if r not in files]
            if missing:
                raise DecomposeError(f"{p}: no {' or '.join(f'{r}.jsonl[.gz]' for r in missing)} (a run folder "
                                     "holds one file per model, named by role)")
            specs.append(RunSpec(str(p).rstrip("/"), files))
        return specs
    if compare:
        if len(paths) != 1:
            raise DecomposeError("--compare takes one file to compare with (the SFT-reflect generations); for "
                                 "several runs give run folders")
        return [RunSpec("run", {"sft-reflect": paths[0], "rl": compare} | ({"sft": sft} if sft else {}))]
    if sft:
        raise DecomposeError("--sft needs --compare (condition (2) of the pooling rule compares SFT with SFT-reflect "
                             "in a run)")
    return [RunSpec(p, {"model": p}) for p in paths]


def bucket_seed(b) -> int:
    """A bucket's offset of the bootstrap seeds: its number (the proxy's digit count), or for a label a checksum."""
    return b if isinstance(b, int) else zlib.crc32(str(b).encode()) % 100_000


def bucket_sort(buckets) -> list:
    order = {b: i for i, b in enumerate(buckets)}
    return sorted(buckets, key=lambda b: (0, b, 0) if isinstance(b, int) else (1, 0, order[b]))
