"""Anyone's multi-attempt generations as §4 episodes: read a JSONL file (plain or gzipped) line by line, split each
response into attempts and decisions, grade each attempt, and turn each response into the per-episode row of
numerics.reproduce.metrics.STAT_COLUMNS, through the proxy's own ``episode_stats``.  Metrics, bootstrap CIs, paired
differences and gain splits are then the proxy's (numerics.reproduce); dsproof.decompose assembles them.

    gens = read_generations("rl.jsonl.gz", Options(budget=3))
    gens.buckets[3].stats          # [episodes, 10] STAT_COLUMNS rows, one per kept response of digit count 3
    gens.excluded                  # reason -> line numbers of the responses left out

File format: one JSON object per line (blank lines are skipped).

* ``prompt_id`` (string or integer): which prompt the response answers.  Several lines may share one: several
  generations of a prompt, resampled together by the bootstrap (a cluster);
* ``bucket``: the difficulty: an integer (e.g. the digit count; a string of digits counts as one) or a label;
* ``response`` (string): the whole generation, every attempt and decision in it;
* ``answer``: the ground truth (string or number, or a list of accepted ones); not needed where the line has
  ``attempts_correct``;
* optional ``attempts_correct`` (list of booleans, one per attempt): grades the attempts instead of the answer
  regex; its length must match the attempts found;
* optional ``fresh_correct`` (list of booleans): whether each of k independent first attempts at the prompt was
  correct (pass@k, the headroom of perfect decisions; the proxy writes k = T).  Without it pass@T is not defined;
* optional ``truncated`` (boolean) or ``finish_reason`` (vLLM's: ``"length"`` means cut by the length limit): the
  response was cut, so its last attempt has no decision (budget-capped).

``Options.keys`` maps each field to another key, dotted for a nested one (``answer='reward_model.ground_truth'``).

Attempts and decisions.  The decision spans are found as ``dsproof segment`` finds them (numerics.rollouts.Segmenter:
the paper's lexical markers by default, or literal markers, regular expressions, tags).  Spans separated only by
spaces or punctuation are one decision ("I made a mistake. Let me recompute.").  A span is a STOP when its text is one
of ``stop_tags`` (``<stop>``, ``[STOP]``), else a RESAMPLE; the text between decisions is an attempt.  A
response that ends after an attempt without a decision STOPped there (the model chose to end), unless it was
truncated or reached the budget T (``Options.budget``): then it is budget-capped, and the last attempt has no
decision (the convention of the proxy, numerics.multiply).  Each attempt's answer is the last match of
``answer_regex`` in it (default: the last number; the first group where the regex has one); it is correct when it
equals a ground-truth answer (as numbers where both are numbers: 0408 = 408, 1,234 = 1234.0; else as stripped
text).  An attempt with no match is wrong, and counted.

Nothing is dropped silently.  A malformed line (not JSON, a missing or ill-typed field, a prompt in two buckets) is
a GenerationsError naming the file, the line and the field.  A well-formed line whose response cannot be read as
attempts and decisions is excluded with its reason (EXCLUSIONS), line by line; ``Options.strict`` makes that an
error too.

Memory: the text of a line is dropped once its row is built; what is kept is a row of 10 counts (uint16), a prompt
index and a line number per response (28 bytes), and an id per prompt.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from . import multiply
from .reproduce.metrics import STAT_COLUMNS, episode_stats
from .rollouts import DEFAULT_MARKERS, Segmenter, merge_spans

#: the fields of a line (the default key of each is its name)
FIELDS = ("prompt_id", "bucket", "response", "answer", "attempts_correct", "fresh_correct", "truncated",
          "finish_reason")
#: the last number (optional sign, thousands separators, decimals)
DEFAULT_ANSWER_REGEX = r"-?\d+(?:,\d{3})*(?:\.\d+)?"
#: decision spans that mean STOP (every other span is a RESAMPLE)
DEFAULT_STOP_TAGS = ("<stop>", "[STOP]")
#: finish_reason values that mean the response was cut by the length limit
TRUNCATED_REASONS = ("length",)

# why a well-formed response is excluded
NO_ATTEMPT = "no attempt: the response has no letter or digit"
DECISION_FIRST = "a decision before the first attempt"
RESAMPLE_AT_END = "ends with a RESAMPLE and no attempt after it"
AFTER_STOP = "text after a STOP decision"
STOP_AND_RESAMPLE = "a STOP and a RESAMPLE with no attempt between them"
OVER_BUDGET = "more attempts than the budget T"
GRADES_MISMATCH = "attempts_correct does not have one entry per attempt found"
EXCLUSIONS = (NO_ATTEMPT, DECISION_FIRST, RESAMPLE_AT_END, AFTER_STOP, STOP_AND_RESAMPLE, OVER_BUDGET,
              GRADES_MISMATCH)

_ALNUM = re.compile(r"\w")
_FLUSH = 4096  # responses turned into stats rows at once


class GenerationsError(ValueError):
    """A malformed generations file: the message names the file, the line and the field."""


class Excluded(Exception):
    """A well-formed response that cannot be read as attempts and decisions (``reason``: one of EXCLUSIONS)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason + (f" ({detail})" if detail else ""))
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Options:
    """How a file is read: the decision spans (``markers``, ``regexes``, ``tags`` as for ``dsproof segment``;
    ``stop_tags``: the spans that mean STOP), the answer regex, the budget T (None: no budget; only truncated
    responses are capped), the key of each field (``keys``: field -> key, dotted for nested), ``strict`` (an
    exclusion is an error)."""

    markers: tuple[str, ...] = DEFAULT_MARKERS
    regexes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    stop_tags: tuple[str, ...] = DEFAULT_STOP_TAGS
    answer_regex: str = DEFAULT_ANSWER_REGEX
    budget: int | None = None
    keys: tuple[tuple[str, str], ...] = ()
    strict: bool = False

    def key(self, name: str) -> str:
        return dict(self.keys).get(name, name)

    def __post_init__(self):
        unknown = [k for k, _ in self.keys if k not in FIELDS]
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; the fields are {FIELDS}")
        if self.budget is not None and (not isinstance(self.budget, int) or self.budget < 1):
            raise ValueError(f"the budget must be a positive integer, got {self.budget!r}")
        try:
            rx = re.compile(self.answer_regex)
        except re.error as exc:
            raise ValueError(f"bad answer regular expression {self.answer_regex!r}: {exc}") from None
        object.__setattr__(self, "_answer", rx)
        object.__setattr__(self, "_segmenter", Spans(tuple(self.markers), tuple(self.regexes),
                                                    tuple(self.tags) + tuple(self.stop_tags)))


class Spans:
    """numerics.rollouts.Segmenter's decision spans (the same markers, regexes and tags, the same merged spans),
    found faster on ASCII text: a case-insensitive ASCII marker's matches in ASCII text are exactly the occurrences
    of its lower case in the text's lower case, found by str.find instead of a case-insensitive regex scan.  Other
    text goes through the Segmenter itself."""

    def __init__(self, markers: tuple[str, ...], regexes: tuple[str, ...], tags: tuple[str, ...]):
        self.segmenter = Segmenter(markers, regexes, tags)  # validates, and reads non-ASCII text
        self.ascii = all(m.isascii() for m in markers)
        self.lower = [m.lower() for m in markers if m]
        self.tags = [t for t in tags if t]
        self.regexes = [re.compile(r) for r in regexes]

    @staticmethod
    def _find(text: str, literal: str, out: list):
        i = text.find(literal)
        while i >= 0:
            out.append((i, i + len(literal)))
            i = text.find(literal, i + len(literal))  # non-overlapping, left to right, as re.finditer

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Sorted, merged, non-empty character spans [start, end) of every match (Segmenter.spans)."""
        if not (self.ascii and text.isascii()):
            return self.segmenter.spans(text)
        found: list = []
        low = text.lower()
        for m in self.lower:
            self._find(low, m, found)
        for t in self.tags:
            self._find(text, t, found)
        for rx in self.regexes:
            found += [(m.start(), m.end()) for m in rx.finditer(text) if m.end() > m.start()]
        return merge_spans(found)


# ------------------------------------------------------------------------------------------ one response's parts
@dataclass(frozen=True)
class Parsed:
    """A response read as §4's trajectory: attempt character ranges, the decision after each (multiply.STOP /
    RESAMPLE; one fewer than the attempts when the episode was capped), the decision spans."""

    attempts: tuple[tuple[int, int], ...]
    decisions: tuple[int, ...]
    capped: bool
    spans: tuple[tuple[int, int, int], ...]  # (start, end, STOP or RESAMPLE)


def decision_spans(text: str, opts: Options) -> list[tuple[int, int, int]]:
    """The decision spans of ``text``: (start, end, kind), spans separated only by non-word characters merged into
    one; kind STOP when every matched piece is a stop tag, RESAMPLE when none is, -1 when it mixes them."""
    stops = set(opts.stop_tags)
    out: list[list[int]] = []
    for a, b in opts._segmenter.spans(text):
        kind = multiply.STOP if text[a:b].strip() in stops else multiply.RESAMPLE
        if out and not _ALNUM.search(text, out[-1][1], a):
            out[-1][1] = b
            out[-1][2] = out[-1][2] if out[-1][2] == kind else -1
        else:
            out.append([a, b, kind])
    return [(a, b, k) for a, b, k in out]


def parse_response(text: str, opts: Options, truncated: bool = False) -> Parsed:
    """Split a response into attempts and decisions (see the module doc); Excluded when it cannot be."""
    spans = decision_spans(text, opts)
    bounds = [0] + [x for a, b, _ in spans for x in (a, b)] + [len(text)]
    pieces = [(bounds[2 * i], bounds[2 * i + 1]) for i in range(len(spans) + 1)]
    has = [bool(_ALNUM.search(text, a, b)) for a, b in pieces]
    if not has[0]:
        raise Excluded(DECISION_FIRST if spans else NO_ATTEMPT)
    attempts, decisions = [pieces[0]], []
    for i, (_, _, kind) in enumerate(spans):
        after = has[i + 1]
        if kind == -1:
            raise Excluded(STOP_AND_RESAMPLE)
        if kind == multiply.STOP:
            if after or i + 1 < len(spans):
                raise Excluded(AFTER_STOP)
            decisions.append(multiply.STOP)
            break
        if not after:  # only at the end: spans with no word between them are one decision
            raise Excluded(RESAMPLE_AT_END)
        decisions.append(multiply.RESAMPLE)
        attempts.append(pieces[i + 1])
    T = opts.budget
    if T is not None and len(attempts) > T:
        raise Excluded(OVER_BUDGET, f"{len(attempts)} > {T}")
    ended = len(decisions) == len(attempts)  # an explicit STOP after the last attempt
    capped = (T is not None and len(attempts) == T) or (truncated and not ended)
    if capped:
        decisions = decisions[:len(attempts) - 1]  # at the budget the last attempt has no decision
    elif not ended:
        decisions.append(multiply.STOP)  # the response ended after an attempt: the model stopped
    return Parsed(tuple(attempts), tuple(decisions), capped, tuple(spans))


def extract_answer(attempt: str, opts: Options) -> str | None:
    """The last match of the answer regex in ``attempt`` (its first matched group where it has groups)."""
    last = None
    for last in opts._answer.finditer(attempt):
        pass
    if last is None:
        return None
    if last.re.groups:
        return next((g for g in last.groups() if g is not None), None)
    return last.group(0)


def _number(s: str) -> Decimal | None:
    t = s.strip().strip("$").replace(",", "").replace(" ", "")
    try:
        v = Decimal(t)
    except InvalidOperation:
        return None
    return v if v.is_finite() else None


def same_answer(got: str | None, truths: tuple[str, ...]) -> bool:
    """Whether an extracted answer equals one of the ground truths: as numbers when both read as numbers, else as
    stripped text."""
    if got is None:
        return False
    g = _number(got)
    for t in truths:
        v = _number(t)
        if (g == v) if (g is not None and v is not None) else got.strip() == t.strip():
            return True
    return False


# ------------------------------------------------------------------------------------------------ one file read
@dataclass
class Bucket:
    """One bucket of one file: the prompt ids in order of first appearance, and per kept response its prompt index
    and its STAT_COLUMNS row."""

    prompts: dict[str, int] = field(default_factory=dict)
    first: list[int] = field(default_factory=list)  # per prompt, the line it was first seen on
    _rows: list[np.ndarray] = field(default_factory=list)  # stored as uint16 (counts), 20 bytes a row
    _prompt_of: list[np.ndarray] = field(default_factory=list)
    _lines: list[np.ndarray] = field(default_factory=list)

    @staticmethod
    def _joined(parts: list, empty) -> np.ndarray:
        if len(parts) > 1:
            parts[:] = [np.concatenate(parts)]
        return parts[0] if parts else empty

    @property
    def stats(self) -> np.ndarray:
        """The STAT_COLUMNS rows, float64 as episode_stats makes them (the stored counts, exactly)."""
        return self._joined(self._rows, np.zeros((0, len(STAT_COLUMNS)), dtype=np.uint16)).astype(np.float64)

    @property
    def prompt_of(self) -> np.ndarray:
        """The prompt index (into ``prompts``) of every row."""
        return self._joined(self._prompt_of, np.zeros(0, dtype=np.int32)).astype(np.int64)

    @property
    def lines(self) -> np.ndarray:
        """The file line of every row."""
        return self._joined(self._lines, np.zeros(0, dtype=np.int32)).astype(np.int64)

    @property
    def ids(self) -> list[str]:
        return list(self.prompts)


@dataclass
class FileGenerations:
    """What one file holds: its buckets, what was excluded and why (reason -> line numbers), and counts."""

    path: str
    buckets: dict = field(default_factory=dict)  # bucket (int or label) -> Bucket
    excluded: dict = field(default_factory=dict)  # reason -> [line numbers]
    lines: int = 0  # non-blank lines read
    episodes: int = 0  # responses kept
    attempts: int = 0
    decisions_found: int = 0  # decision spans found in the kept responses (STOP tags and RESAMPLE markers)
    no_decision: int = 0  # kept responses with no decision span (one attempt, then the end)
    unanswered: int = 0  # attempts with no match of the answer regex (graded wrong)
    unanswered_lines: list = field(default_factory=list)  # the first few lines with one
    truncated: int = 0
    capped: int = 0
    max_attempts: int = 0
    graded_by: set = field(default_factory=set)  # 'answer regex' and / or 'attempts_correct'

    def excluded_count(self) -> int:
        return sum(len(v) for v in self.excluded.values())


def open_text(path):
    """A text stream over ``path``, gunzipped when it starts with the gzip magic bytes."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _get(obj: dict, key: str):
    """obj[key], or the dotted path key; KeyError when absent."""
    if key in obj:
        return obj[key]
    cur = obj
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(key)
        cur = cur[part]
    return cur


def bucket_key(v, where: str, key: str):
    """A bucket value as an int (integers, integral floats, strings of digits) or a label (other strings and
    numbers)."""
    if isinstance(v, bool) or v is None or isinstance(v, (list, dict)):
        raise GenerationsError(f"{where}: field {key!r} must be a number or a label, got {json.dumps(v)}")
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise GenerationsError(f"{where}: field {key!r} must be finite, got {v!r}")
        return int(v) if v == int(v) else repr(v)
    s = str(v).strip()
    if not s:
        raise GenerationsError(f"{where}: field {key!r} is empty")
    return int(s) if re.fullmatch(r"-?\d+", s) else s


def _bools(v, where: str, key: str) -> list[bool]:
    if not isinstance(v, list) or not all(isinstance(x, bool) or x in (0, 1) for x in v):
        raise GenerationsError(f"{where}: field {key!r} must be a list of booleans, got {json.dumps(v)[:80]}")
    return [bool(x) for x in v]


class _Reader:
    """Reads one file line by line, keeping only stats rows (flushed in blocks through episode_stats)."""

    def __init__(self, path, opts: Options):
        self.opts = opts
        self.out = FileGenerations(str(path))
        self.pending: list = []
        self.examples: list = []

    def flush(self):
        if not self.pending:
            return
        rows = episode_stats(SimpleNamespace(correct=[p[2] for p in self.pending],
                                             decisions=[p[3] for p in self.pending]))
        for (b, pid, _, _, fresh, _), row in zip(self.pending, rows):
            if fresh is not None:
                row[8], row[9] = sum(fresh), len(fresh)
        by_bucket: dict = {}
        for i, (b, *_rest) in enumerate(self.pending):
            by_bucket.setdefault(b, []).append(i)
        if rows.size and (rows.max() > np.iinfo(np.uint16).max or rows.min() < 0):
            raise GenerationsError(f"{self.out.path}: a response with more than 65,535 attempts or fresh attempts")
        for b, idx in by_bucket.items():
            bk = self.out.buckets[b]
            bk._rows.append(rows[idx].astype(np.uint16))
            bk._prompt_of.append(np.array([bk.prompts[self.pending[i][1]] for i in idx], dtype=np.int32))
            bk._lines.append(np.array([self.pending[i][5] for i in idx], dtype=np.int32))
        self.pending = []

    def line(self, n: int, text: str, keep_example: bool):
        opts, out = self.opts, self.out
        where = f"{out.path}: line {n}"
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GenerationsError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise GenerationsError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        out.lines += 1

        def need(name):
            key = opts.key(name)
            try:
                return _get(obj, key)
            except KeyError:
                hint = "" if name != "answer" else " or attempts_correct"
                raise GenerationsError(f"{where}: missing field {key!r}{hint} (the line has "
                                       f"{', '.join(map(repr, list(obj)[:12])) or 'no keys'}; map another key with "
                                       f"--field {name}=KEY)") from None

        def maybe(name):
            try:
                return _get(obj, opts.key(name))
            except KeyError:
                return None

        pid = need("prompt_id")
        if isinstance(pid, bool) or not isinstance(pid, (str, int)):
            raise GenerationsError(f"{where}: field {opts.key('prompt_id')!r} must be a string or an integer, got "
                                   f"{json.dumps(pid)[:80]}")
        pid = str(pid)
        bucket = bucket_key(need("bucket"), where, opts.key("bucket"))
        response = need("response")
        if not isinstance(response, str):
            raise GenerationsError(f"{where}: field {opts.key('response')!r} must be a string, got "
                                   f"{type(response).__name__}")
        grades = maybe("attempts_correct")
        if grades is not None:
            grades = _bools(grades, where, opts.key("attempts_correct"))
            truths = ()
        else:
            ans = need("answer")
            ans = ans if isinstance(ans, list) else [ans]
            if not ans or any(isinstance(a, bool) or not isinstance(a, (str, int, float)) for a in ans):
                raise GenerationsError(f"{where}: field {opts.key('answer')!r} must be a string, a number or a list "
                                       f"of them, got {json.dumps(need('answer'))[:80]}")
            truths = tuple(a if isinstance(a, str) else repr(a) if isinstance(a, float) else str(a) for a in ans)
        fresh = maybe("fresh_correct")
        if fresh is not None:
            fresh = _bools(fresh, where, opts.key("fresh_correct"))
        trunc = maybe("truncated")
        if trunc is not None and not isinstance(trunc, bool):
            raise GenerationsError(f"{where}: field {opts.key('truncated')!r} must be true or false, got "
                                   f"{json.dumps(trunc)[:80]}")
        reason = maybe("finish_reason")
        if reason is not None and not isinstance(reason, str):
            raise GenerationsError(f"{where}: field {opts.key('finish_reason')!r} must be a string, got "
                                   f"{json.dumps(reason)[:80]}")
        truncated = bool(trunc) or reason in TRUNCATED_REASONS
        bk = out.buckets.get(bucket)
        if bk is None or pid not in bk.prompts:  # a prompt new to this bucket: is it in another one?
            for other, ob in out.buckets.items():
                if other != bucket and pid in ob.prompts:
                    raise GenerationsError(f"{where}: field {opts.key('bucket')!r}: prompt {pid!r} is in bucket "
                                           f"{bucket!r} here and in bucket {other!r} on line "
                                           f"{ob.first[ob.prompts[pid]]}")
        try:
            parsed = parse_response(response, opts, truncated)
            if grades is not None and len(grades) != len(parsed.attempts):
                raise Excluded(GRADES_MISMATCH, f"{len(grades)} entries, {len(parsed.attempts)} attempts")
        except Excluded as exc:
            if opts.strict:
                raise GenerationsError(f"{where}: field {opts.key('response')!r}: {exc} (excluded without "
                                       "--strict)") from None
            out.excluded.setdefault(exc.reason, []).append(n)
            return
        answers = [None] * len(parsed.attempts)
        if grades is None:
            answers = [extract_answer(response[a:b], opts) for a, b in parsed.attempts]
            correct = [same_answer(x, truths) for x in answers]
            missing = sum(x is None for x in answers)
            if missing:
                out.unanswered += missing
                if len(out.unanswered_lines) < 5:
                    out.unanswered_lines.append(n)
            out.graded_by.add("answer regex")
        else:
            correct = grades
            out.graded_by.add("attempts_correct")
        bk = out.buckets.setdefault(bucket, Bucket())
        if pid not in bk.prompts:
            bk.prompts[pid] = len(bk.prompts)
            bk.first.append(n)
        out.episodes += 1
        out.attempts += len(parsed.attempts)
        out.decisions_found += len(parsed.spans)
        out.no_decision += not parsed.spans
        out.truncated += truncated
        out.capped += parsed.capped
        out.max_attempts = max(out.max_attempts, len(parsed.attempts))
        if keep_example:
            self.examples.append((n, response, parsed, answers if grades is None else None, correct))
        self.pending.append((bucket, pid, correct, list(parsed.decisions), fresh, n))
        if len(self.pending) >= _FLUSH:
            self.flush()


def read_generations(path, opts: Options = Options(), examples: int = 0) -> FileGenerations:
    """Read a generations file (see the module doc), streaming: GenerationsError on a malformed line, exclusions
    counted.  ``examples``: keep the first that many kept responses' segmentation (FileGenerations.examples) for
    :func:`show`."""
    reader = _Reader(path, opts)
    try:
        fh = open_text(path)
    except OSError as exc:
        raise GenerationsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    n = 0
    with fh:
        try:
            for text in fh:
                n += 1
                if text.strip():
                    reader.line(n, text, len(reader.examples) < examples)
        except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
            raise GenerationsError(f"{path}: line {n + 1}: cannot decode ({exc})") from None
    reader.flush()
    out = reader.out
    if not out.lines:
        raise GenerationsError(f"{path}: no generations (the file is empty)")
    out.examples = reader.examples
    return out


def show(example, mark=("[[", "]]")) -> str:
    """One kept response as read: each attempt in {{ }} with its answer and grade, each decision span in [[ ]] with
    its kind, and the implicit end (STOP, or capped)."""
    n, text, parsed, answers, correct = example
    parts, pos = [], 0
    spans = {a: (b, k) for a, b, k in parsed.spans}
    for i, (a, b) in enumerate(parsed.attempts):
        grade = "correct" if correct[i] else "wrong"
        ans = "" if answers is None else f" -> {answers[i] if answers[i] is not None else 'no answer'}"
        parts.append(f"{{{{{text[a:b].strip()}}}}}{ans} ({grade})")
        pos = b
        if pos in spans:
            end, kind = spans[pos]
            parts.append(f"{mark[0]}{text[pos:end].strip()}{mark[1]}={'STOP' if kind == multiply.STOP else 'RESAMPLE'}")
    if parsed.capped:
        parts.append("<capped: no decision>")
    elif len(parsed.decisions) == len(parsed.attempts) and (not parsed.spans or parsed.spans[-1][2] != multiply.STOP):
        parts.append("<end: STOP>")
    return f"line {n}: {len(parsed.attempts)} attempt(s): " + " ".join(parts)


# --------------------------------------------------------------------------------- the proxy's episodes as a file
RESAMPLE_TEXT = ("I made a mistake. Let me recompute.", "I'll go back and check.")


def attempt_text(tokens, a: int, n: int, attempt_format: str) -> str:
    """An attempt of the proxy as text: the answer digits as the number is written (most significant first,
    zero-padded), after the partial products and carries in a chain of thought (each written the same way)."""
    digits = [str(int(t) - multiply.DIGIT0) if 0 <= int(t) - multiply.DIGIT0 <= 9 else "?" for t in tokens]
    L = a + n
    answer = "".join(reversed(digits[-L:]))
    if attempt_format == "answer":
        return answer
    w = n + 1
    partials = [" ".join("".join(reversed(digits[i * w:(i + 1) * w])) for i in range(a))]
    carries = "".join(reversed(digits[a * w:a * w + L]))
    return f"partial products {partials[0]}, carries {carries}, answer {answer}"


def export_records(prompts: list[list[int]], products: list[int], n: int, a: int, attempt_format: str,
                   episodes: multiply.Episodes, fresh: list[list[bool]]) -> list[dict]:
    """The proxy's evaluation episodes of digit count n as generations lines (one per prompt, prompt_id
    '<n>-<index>'): the response writes each attempt (:func:`attempt_text`), a RESAMPLE as one of the paper's
    lexical markers (RESAMPLE_TEXT, by attempt), and a STOP as the end of the response; ``fresh_correct`` are the
    prompt's T fresh first attempts (pass@T).  Read back with the budget T, an episode of T attempts is capped as
    in the proxy."""
    L = multiply.attempt_len(a, n, attempt_format)
    p = multiply.prompt_len(a, n)
    out = []
    for i, (prompt, v, corr, decs) in enumerate(zip(prompts, products, episodes.correct, episodes.decisions)):
        ids = episodes.input_ids[i].tolist()
        parts = []
        for k in range(len(corr)):
            start = p + k * (L + 1)
            parts.append(attempt_text(ids[start:start + L], a, n, attempt_format))
            if k < len(decs) and decs[k] == multiply.RESAMPLE:
                parts.append(RESAMPLE_TEXT[k % len(RESAMPLE_TEXT)])
        x = "".join(str(t - multiply.DIGIT0) for t in prompt[1:1 + a])
        y = "".join(str(t - multiply.DIGIT0) for t in prompt[2 + a:2 + a + n])
        out.append({"prompt_id": f"{n}-{i:04d}", "bucket": n, "prompt": f"{x} x {y} =", "response": " ".join(parts),
                    "answer": str(v), "fresh_correct": [bool(c) for c in fresh[i]]})
    return out


def write_jsonl(records, path) -> Path:
    """Write records one JSON object a line; gzipped (reproducibly: no name or time in the header) when the path
    ends in .gz."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r, sort_keys=False) + "\n" for r in records).encode()
    if path.suffix == ".gz":
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            gz.write(data)
    else:
        path.write_bytes(data)
    return path


# -------------------------------------------------------------------------------------- the two-stage process
def _rate(r, k: int) -> float:
    """A decision rate, constant or per attempt index k (0-based; the last entry holds for later attempts)."""
    return float(r[min(k, len(r) - 1)]) if isinstance(r, (tuple, list)) else float(r)


def simulate(rng: np.random.Generator, rates: dict, prompts: int, T: int, per_prompt: int = 1,
             spread: float = 0.0, p_retry: dict | None = None, filler: str = "", stop_tag: str | None = None,
             truncate: float = 0.0):
    """Generations lines from §4's two-stage process, bucket by bucket: ``rates`` maps a bucket to (p_s, p_dC, p_dW);
    a decision rate may be a sequence, one entry per attempt index (Lemma 3.2's history-dependent decisions).  Each
    prompt has ``per_prompt`` generations; with ``spread`` > 0 its first-attempt accuracy is drawn from a Beta with
    mean p_s and that standard deviation (correlated generations).  Attempt k + 1 > 1 is correct with p_retry[bucket]
    (default the prompt's p_s).  After an attempt short of T the model STOPs (p_dC when correct) or RESAMPLEs (p_dW
    when wrong); the T-th attempt is capped.  A RESAMPLE is written as one of the paper's markers, a STOP as the end
    of the response (or ``stop_tag``); ``filler`` is reasoning text put before each answer; with ``truncate`` > 0 a
    response is cut by the length limit with that probability (finish_reason 'length', its last decision lost).
    Yields one dict per line."""
    markers = ("I'll go back and check.", "Let me recompute.", "I made a mistake.")
    for b, (p_s, p_dC, p_dW) in rates.items():
        for i in range(prompts):
            truth = int(rng.integers(10, 10 ** 6))
            ps = p_s
            if spread > 0:
                v = min(spread ** 2, p_s * (1 - p_s) * 0.999)
                c = p_s * (1 - p_s) / v - 1
                ps = float(rng.beta(p_s * c, (1 - p_s) * c))
            pr = ps if p_retry is None else p_retry[b]
            for _ in range(per_prompt):
                parts, k = [], 0
                while True:
                    ok = rng.random() < (ps if k == 0 else pr)
                    ans = truth if ok else truth + int(rng.integers(1, 50))
                    parts.append(f"{filler}The answer is {ans}.")
                    if k + 1 == T:
                        break
                    stop = rng.random() < _rate(p_dC, k) if ok else rng.random() >= _rate(p_dW, k)
                    if stop:
                        if stop_tag:
                            parts.append(stop_tag)
                        break
                    parts.append(markers[int(rng.integers(len(markers)))])
                    k += 1
                line = {"prompt_id": f"{b}-{i}", "bucket": b, "response": " ".join(parts), "answer": str(truth)}
                if truncate and rng.random() < truncate and not (k + 1 == T):
                    line["finish_reason"] = "length"  # cut right after its last attempt, before deciding
                    if stop_tag and parts[-1] == stop_tag:
                        line["response"] = " ".join(parts[:-1])
                yield line
