"""Checks a features CSV before anything is trained and says, all at once, what is wrong.

Why: `fraudscore features` also builds the table from a user's own files
(services/cli/src/history/), so the trainer gets tables it did not generate. A table that is
short of days, of labels or of frauds used to fail deep inside training (or, worse, train and
report metrics computed from a handful of frauds). Every problem found is returned, not just
the first, as a `Problem` (error or warning); an error means "do not train" and the commands
exit with code 2 (`EXIT_CODE`).

Messages name columns, counts, dates and row numbers (row n = the n-th data row after the
header, blank lines not counted), never a value from the rows: card and transaction ids are
the user's data and have no place in logs.

Reading: numpy's C parser does the work (a 1.75 M-row table in seconds); only when it refuses
the file (a value that is not a number, a row with the wrong number of fields) is the file
read again row by row with the csv module, to find the rows and still check everything else.
The column order must be the contract's (as `fraudscore features` writes it; extra columns are
ignored with a warning), but columns are read by name.
"""
from __future__ import annotations

import csv
import sys
from array import array
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

import numpy as np

from data import DAY_MS, FEATURE_SET_VERSION, FEATURES, HEADER, SIM_START_MS, Dataset, day_iso
from protocol import Split, split_masks

EXIT_CODE = 2

#: Minimum frauds in each of the four windows train.py uses (validation split: training and
#: test days; test split: training and test days, known-compromised cards removed). Below
#: about 20 positives, AP and AUC move by tenths between two draws of the same process, the
#: REVIEW/BLOCK thresholds (precision over >= 10 flagged rows) are chosen from a few frauds,
#: and CP@100 over 7 days is mostly zeros. `train.py --min-frauds` changes it (>= 1 always).
MIN_FRAUDS = 20
#: Above this fraud rate a table is more likely mislabelled (TX_FRAUD inverted) than real.
MAX_FRAUD_RATE = 0.5
#: Days of history a row's features need to be complete: 30-day card windows, terminal risk
#: windows of 30 days that end 7 days before the transaction (feature-set.ts).
HISTORY_DAYS = 37
#: Row numbers shown per problem.
SHOW_ROWS = 5

NUMERIC = ("TX_DATETIME_MS",) + FEATURES
#: Plausible TX_DATETIME_MS range (epoch ms): 1970-01-01 .. 2100-01-01.
TIME_MIN_MS, TIME_MAX_MS = 0, int(datetime(2100, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)
#: Epoch ms of 1973-03-03: a table whose times all come before it was written in seconds.
SECONDS_HINT_MS = 100_000_000_000

_EMPTY, _BAD = -1.0, 9.0  # label codes besides 0 and 1
_BAD_SCENARIO = -2.0


@dataclass(frozen=True)
class Problem:
    level: str  # "error" (do not train) or "warning"
    code: str  # stable identifier, e.g. "missing-columns"
    message: str

    def __str__(self) -> str:
        return f"{self.level} [{self.code}]: {self.message}"


@dataclass
class Checked:
    """The problems found and, when there is no error, the labelled rows as a Dataset."""

    problems: list[Problem]
    dataset: Dataset | None
    rows: int = 0  # data rows in the file
    unlabelled: int = 0  # rows with an empty TX_FRAUD (left out of the dataset)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]


def validate(path: str | Path, splits: Mapping[str, Split] | None = None,
             min_frauds: int = MIN_FRAUDS) -> list[Problem]:
    """Every problem of the features CSV at path (errors and warnings); [] when it is fine.

    Without splits only the table itself is checked; with train.py's splits
    ({"validation": Split, "test": Split}) also the time span and the frauds per window.
    """
    return check_features(path, splits, min_frauds).problems


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.level == "error"]


def format_problems(path: str | Path, problems: list[Problem]) -> str:
    n_err = len(errors(problems))
    n_warn = len(problems) - n_err
    head = f"{path}: {_n(n_err, 'error')}, {_n(n_warn, 'warning')} in the features table"
    ordered = sorted(problems, key=lambda p: p.level != "error")  # errors first, each in found order
    return "\n".join([head] + [f"  {p}" for p in ordered])


def report(path: str | Path, problems: list[Problem], file=None) -> None:
    """Prints the problems (nothing when there are none) to stderr."""
    if problems:
        print(format_problems(path, problems), file=file or sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Formatting helpers: counts and row numbers only.

def _n(k: int, word: str) -> str:
    return f"{k:,} {word}{'' if k == 1 else 's'}"


def _where(row_numbers: np.ndarray) -> str:
    rows = np.asarray(row_numbers)
    shown = ", ".join(str(int(r)) for r in rows[:SHOW_ROWS])
    more = f" and {len(rows) - SHOW_ROWS:,} more" if len(rows) > SHOW_ROWS else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _dates(days) -> str:
    days = list(days)
    shown = ", ".join(day_iso(d) for d in days[:SHOW_ROWS])
    return shown + (f" and {len(days) - SHOW_ROWS:,} more" if len(days) > SHOW_ROWS else "")


def _pct(share: float) -> str:
    p = 100 * share
    return f"{p:.1f} %" if p >= 0.1 or p == 0 else f"{p:.2g} %"


def _span(a: int, b: int) -> str:
    return f"{day_iso(a)}..{day_iso(b)}"


# ---------------------------------------------------------------------------------------
# Reading.

@dataclass
class _Columns:
    row_no: np.ndarray  # data-row number (1-based) of each parsed row
    num: dict  # name -> float64 values (NaN where unparsable)
    unparsable: dict  # name -> bool, value was not a number (empty included)
    label: np.ndarray | None  # 0, 1, _EMPTY or _BAD
    scenario: np.ndarray | None  # integer code, -1 empty, _BAD_SCENARIO other
    text: dict  # TRANSACTION_ID / CUSTOMER_ID -> str
    ragged: list  # data-row numbers whose field count differs from the header's


def _label_code(s: str) -> float:
    s = s.strip()
    if not s:
        return _EMPTY
    try:
        v = float(s)
    except ValueError:
        return _BAD
    return v if v in (0.0, 1.0) else _BAD


def _scenario_code(s: str) -> float:
    s = s.strip()
    if not s:
        return -1.0
    try:
        v = float(s)
    except ValueError:
        return _BAD_SCENARIO
    return v if v.is_integer() and 0 <= v <= 127 else _BAD_SCENARIO


def _number(s: str) -> float:
    if "_" in s:  # float() takes "1_000", numpy's parser does not; keep both paths alike
        raise ValueError
    return float(s)


def _read_header(path: Path) -> list[str] | None:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        first = next(csv.reader(f), None)
    return None if first is None else [h.strip() for h in first]


def _field_counts(path: Path, n_fields: int) -> tuple[int, list[int]]:
    """(data rows, row numbers whose field count differs): one cheap pass over the lines."""
    rows, ragged = 0, []
    with open(path, "rb") as f:
        f.readline()
        for line in f:
            if not line.strip():
                continue
            rows += 1
            k = line.count(b",") + 1
            if b'"' in line:
                k = len(next(csv.reader([line.decode("utf-8", "replace")])))
            if k != n_fields:
                ragged.append(rows)
    return rows, ragged


def _read_fast(path: Path, cols: dict, n_rows: int) -> _Columns:
    kw = dict(delimiter=",", skiprows=1, quotechar='"', ndmin=2, comments=None, encoding="utf-8")
    numeric = [c for c in NUMERIC if c in cols]
    coded = [c for c in ("TX_FRAUD", "TX_FRAUD_SCENARIO") if c in cols]
    conv = {cols[c]: f for c, f in (("TX_FRAUD", _label_code), ("TX_FRAUD_SCENARIO", _scenario_code)) if c in cols}
    names = numeric + coded
    out = _Columns(np.arange(1, n_rows + 1), {}, {}, None, None, {}, [])
    if names:
        num = np.loadtxt(path, usecols=[cols[c] for c in names], dtype=np.float64, converters=conv, **kw)
        for j, c in enumerate(names):
            v = np.ascontiguousarray(num[:, j])
            if c == "TX_FRAUD":
                out.label = v
            elif c == "TX_FRAUD_SCENARIO":
                out.scenario = v
            else:
                out.num[c] = v
                out.unparsable[c] = np.zeros(len(v), dtype=bool)
    texts = [c for c in ("TRANSACTION_ID", "CUSTOMER_ID") if c in cols]
    if texts:
        ids = np.loadtxt(path, usecols=[cols[c] for c in texts], dtype=str, **kw)
        for j, c in enumerate(texts):
            out.text[c] = ids[:, j]
    lengths = {len(v) for v in (*out.num.values(), *out.text.values())}
    if lengths - {n_rows}:
        raise ValueError("row count differs from the line count")
    return out


def _read_slow(path: Path, cols: dict, n_fields: int) -> _Columns:
    """Row by row: finds unparsable values and rows with a wrong field count, keeps the rest."""
    numeric = [c for c in NUMERIC if c in cols]
    texts = [c for c in ("TRANSACTION_ID", "CUSTOMER_ID") if c in cols]
    num = {c: array("d") for c in numeric}
    bad = {c: [] for c in numeric}
    label, scenario, row_no, ragged = array("d"), array("d"), array("q"), []
    text = {c: [] for c in texts}
    n = 0
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        next(reader, None)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            n += 1
            if len(row) != n_fields:
                ragged.append(n)
                continue
            i = len(row_no)
            row_no.append(n)
            for c in numeric:
                try:
                    num[c].append(_number(row[cols[c]]))
                except ValueError:
                    num[c].append(np.nan)
                    bad[c].append(i)
            if "TX_FRAUD" in cols:
                label.append(_label_code(row[cols["TX_FRAUD"]]))
            if "TX_FRAUD_SCENARIO" in cols:
                scenario.append(_scenario_code(row[cols["TX_FRAUD_SCENARIO"]]))
            for c in texts:
                text[c].append(row[cols[c]])
    m = len(row_no)
    out = _Columns(np.frombuffer(row_no, dtype=np.int64).copy(), {}, {}, None, None, {}, ragged)
    for c in numeric:
        out.num[c] = np.frombuffer(num[c], dtype=np.float64).copy()
        out.unparsable[c] = np.zeros(m, dtype=bool)
        out.unparsable[c][bad[c]] = True
    if "TX_FRAUD" in cols:
        out.label = np.frombuffer(label, dtype=np.float64).copy()
    if "TX_FRAUD_SCENARIO" in cols:
        out.scenario = np.frombuffer(scenario, dtype=np.float64).copy()
    for c in texts:
        out.text[c] = np.array(text[c], dtype=str) if m else np.empty(0, dtype=str)
    return out


# ---------------------------------------------------------------------------------------
# Checks.

def _check_header(header: list[str], problems: list[Problem]) -> dict:
    """Problems of the header; returns {contract column: index} of those present exactly once."""
    counts = Counter(header)
    dup = [h for h in counts if counts[h] > 1]
    if dup:
        parts = [f"{h or '(unnamed)'} (columns {', '.join(str(i + 1) for i, x in enumerate(header) if x == h)})"
                 for h in dup]
        problems.append(Problem("error", "duplicate-columns",
                                f"duplicated columns: {'; '.join(parts)}; the trainer cannot tell which one to use"))
    missing = [c for c in HEADER if c not in counts]
    if missing:
        problems.append(Problem("error", "missing-columns",
                                f"missing required columns: {', '.join(missing)} (a {FEATURE_SET_VERSION} table "
                                f"has the {len(HEADER)} columns `fraudscore features` writes)"))
    extra = [(i, h) for i, h in enumerate(header) if h not in HEADER]
    if extra:
        names = ", ".join(f"{h or '(unnamed)'} (column {i + 1})" for i, h in extra)
        problems.append(Problem("warning", "extra-columns", f"unknown columns, ignored: {names}"))
    cols = {h: header.index(h) for h in HEADER if counts[h] == 1}
    found = [h for h in header if h in cols]
    expected = [h for h in HEADER if h in cols]
    if found != expected:
        i = next(k for k, (a, b) in enumerate(zip(found, expected)) if a != b)
        problems.append(Problem("error", "column-order",
                                f"header does not match the {FEATURE_SET_VERSION} contract order: column "
                                f"{cols[found[i]] + 1} is {found[i]} where {expected[i]} is expected (the order is "
                                f"part of the model-input contract: {', '.join(HEADER)})"))
    return cols


def check_features(path: str | Path, splits: Mapping[str, Split] | None = None,
                   min_frauds: int = MIN_FRAUDS) -> Checked:
    """Reads and checks the features CSV; see the module docstring and validate()."""
    path = Path(path)
    problems: list[Problem] = []
    try:
        header = _read_header(path)
    except OSError as e:
        return Checked([Problem("error", "unreadable", f"cannot read the features table: {e.strerror or e}")], None)
    if not header or header == [""]:
        return Checked([Problem("error", "empty", "the file is empty (no header line)")], None)
    cols = _check_header(header, problems)
    n_rows, ragged = _field_counts(path, len(header))
    if n_rows == 0:
        problems.append(Problem("error", "no-rows", "the table has a header but no data rows"))
        return Checked(problems, None)
    t = None
    if not ragged:
        try:
            t = _read_fast(path, cols, n_rows)
        except (ValueError, IndexError, UnicodeError):
            t = None  # something numpy refuses: find it row by row
    if t is None:
        t = _read_slow(path, cols, len(header))
    if t.ragged:
        problems.append(Problem("error", "ragged-rows",
                                f"rows whose field count differs from the header's {len(header)}: "
                                f"{_n(len(t.ragged), 'row')} ({_where(t.ragged)}; an unquoted comma in an id?); "
                                f"not checked further"))
    m = len(t.row_no)
    checked = Checked(problems, None, rows=n_rows)

    # Types and finite values.
    time_ok = np.zeros(m, dtype=bool)
    if "TX_DATETIME_MS" in t.num:
        tm = t.num["TX_DATETIME_MS"]
        with np.errstate(invalid="ignore"):
            time_ok = np.isfinite(tm) & (tm == np.floor(tm)) & (tm >= TIME_MIN_MS) & (tm < TIME_MAX_MS)
        if not time_ok.all():
            problems.append(Problem("error", "bad-time",
                                    f"TX_DATETIME_MS is not a whole number of epoch milliseconds in 1970..2099 in "
                                    f"{_n(int((~time_ok).sum()), 'row')} ({_where(t.row_no[~time_ok])})"))
        if time_ok.any() and tm[time_ok].max() < SECONDS_HINT_MS:
            problems.append(Problem("warning", "time-units",
                                    "every TX_DATETIME_MS is before 1973-03-03: seconds instead of milliseconds?"))
    for c in FEATURES:
        if c not in t.num:
            continue
        bad = t.unparsable[c]
        if bad.any():
            problems.append(Problem("error", "non-numeric",
                                    f"non-numeric or empty values in {c}: {_n(int(bad.sum()), 'row')} "
                                    f"({_where(t.row_no[bad])})"))
        inf = ~np.isfinite(t.num[c]) & ~bad
        if inf.any():
            problems.append(Problem("error", "non-finite",
                                    f"non-finite values (NaN or inf) in {c}: {_n(int(inf.sum()), 'row')} "
                                    f"({_where(t.row_no[inf])})"))

    # Labels.
    labelled = np.zeros(m, dtype=bool)
    unlabelled = 0
    if t.label is not None:
        bad = t.label == _BAD
        if bad.any():
            problems.append(Problem("error", "bad-label",
                                    f"TX_FRAUD must be 0, 1 or empty; another value in {_n(int(bad.sum()), 'row')} "
                                    f"({_where(t.row_no[bad])})"))
        labelled = (t.label == 0) | (t.label == 1)
        unlabelled = int((t.label == _EMPTY).sum())
        if unlabelled:
            problems.append(Problem("warning", "unlabelled",
                                    f"rows without a TX_FRAUD label: {unlabelled:,} of {m:,} ({_pct(unlabelled / m)}); "
                                    f"they are left out of training and evaluation"))
    checked.unlabelled = unlabelled
    if t.scenario is not None and (t.scenario == _BAD_SCENARIO).any():
        bad = t.scenario == _BAD_SCENARIO
        problems.append(Problem("warning", "bad-scenario",
                                f"TX_FRAUD_SCENARIO is neither empty nor a small whole number in "
                                f"{_n(int(bad.sum()), 'row')} ({_where(t.row_no[bad])}); not used for training, "
                                f"read as unknown"))

    # Ids.
    for c in ("TRANSACTION_ID", "CUSTOMER_ID"):
        if c in t.text:
            empty = np.char.str_len(np.char.strip(t.text[c])) == 0
            if empty.any():
                problems.append(Problem("error", f"empty-{c.lower().replace('_', '-')}",
                                        f"{c} is empty in {_n(int(empty.sum()), 'row')} ({_where(t.row_no[empty])})"))
    if "TRANSACTION_ID" in t.text and m:
        ids = t.text["TRANSACTION_ID"]
        _, first, inv, counts = np.unique(ids, return_index=True, return_inverse=True, return_counts=True)
        repeat = first[inv] != np.arange(m)
        repeat &= np.char.str_len(np.char.strip(ids)) > 0  # empty ids: reported above
        if repeat.any():
            n_ids = len(np.unique(inv[repeat]))
            problems.append(Problem("error", "duplicate-ids",
                                    f"duplicate TRANSACTION_ID: {_n(n_ids, 'id')} used more than once, "
                                    f"{_n(int(repeat.sum()), 'repeated row')} ({_where(t.row_no[repeat])}); "
                                    f"a repeated transaction weighs twice in training and in the metrics"))

    # The labelled rows as the trainer will see them.
    keep = labelled & time_ok
    ds = _dataset(t, keep)
    frauds = int(ds.fraud.sum())
    if t.label is not None and "TX_DATETIME_MS" in t.num:
        if len(ds) == 0:
            problems.append(Problem("error", "no-labels",
                                    "no row has both a usable TX_DATETIME_MS and a TX_FRAUD label (0 or 1)"))
        elif frauds == 0:
            problems.append(Problem("error", "no-fraud",
                                    f"no fraud at all: none of the {len(ds):,} labelled rows has TX_FRAUD = 1"))
        elif frauds / len(ds) > MAX_FRAUD_RATE:
            problems.append(Problem("warning", "high-fraud-rate",
                                    f"fraud rate {_pct(frauds / len(ds))} ({frauds:,} of {len(ds):,} labelled "
                                    f"rows) is implausibly high (> {100 * MAX_FRAUD_RATE:.0f} %): is TX_FRAUD "
                                    f"inverted (1 = legitimate)?"))
        if splits and frauds:
            _check_splits(ds, dict(splits), max(1, int(min_frauds)), unlabelled, problems)
    if not errors(problems):
        checked.dataset = ds
    return checked


def _dataset(t: _Columns, keep: np.ndarray) -> Dataset:
    m = int(keep.sum())
    time_ms = t.num["TX_DATETIME_MS"][keep].astype(np.int64) if "TX_DATETIME_MS" in t.num else np.zeros(m, np.int64)
    if "CUSTOMER_ID" in t.text:
        _, customer = np.unique(t.text["CUSTOMER_ID"][keep], return_inverse=True)
    else:
        customer = np.arange(m)  # column missing (an error already): no card is known
    X = np.full((m, len(FEATURES)), np.nan)
    for j, c in enumerate(FEATURES):
        if c in t.num:
            X[:, j] = t.num[c][keep]
    scen = t.scenario[keep] if t.scenario is not None else np.full(m, -1.0)
    return Dataset(
        tx_id=t.text["TRANSACTION_ID"][keep] if "TRANSACTION_ID" in t.text else np.full(m, "", dtype=str),
        time_ms=time_ms,
        day=(time_ms - SIM_START_MS) // DAY_MS,
        customer=customer.astype(np.int64).reshape(-1),
        fraud=t.label[keep].astype(np.int8) if t.label is not None else np.zeros(m, np.int8),
        scenario=np.where(scen < 0, -1, scen).astype(np.int8),
        X=X,
    )


def _check_splits(ds: Dataset, splits: dict, min_frauds: int, unlabelled: int, problems: list[Problem]) -> None:
    """Time span and frauds per window for train.py's {"validation": Split, "test": Split}."""
    val, test = splits.get("validation"), splits.get("test")
    if val is not None and test is not None and val.test_days[1] >= test.test_days[0]:
        problems.append(Problem("error", "split-order",
                                f"the validation split ({_span(val.train_start, val.test_days[1])}) must end before "
                                f"the test split's test days start ({day_iso(test.test_days[0])}): move "
                                f"--val-train-start earlier or --train-start later"))
        return
    first, last = int(ds.day.min()), int(ds.day.max())
    present = np.unique(ds.day)
    need_first = min(s.train_start for s in splits.values())
    need_last = max(s.test_days[1] for s in splits.values())
    whose, verb = ("the labelled rows", "cover") if unlabelled else ("the table", "covers")
    have = f"{whose} {verb} {_span(first, last)} ({_n(last - first + 1, 'day')}, {len(present):,} with rows)"
    if first > need_first or last < need_last:
        windows = "; ".join(
            f"{name}: train {_span(*s.train_days)}, delay {s.delta_delay} d, test {_span(*s.test_days)}"
            for name, s in splits.items())
        need = need_last - need_first + 1
        lo, hi = first - need_first, last - need_last  # shifts of every split that fit
        if lo <= hi:
            fit = (f"with the same window lengths, {_fit(splits, hi)} fits (the latest placement"
                   + (f"; the earliest is {_fit(splits, lo)})" if lo < hi else ")"))
        else:
            gap = (f" with --val-train-start {_n(test.train_start - val.train_start, 'day')} before it"
                   if val and test else "")
            fit = (f"no --train-start fits{gap}: the splits need {need} consecutive days, {whose} "
                   f"{verb} {last - first + 1}")
            excess = test.test_days[0] - val.test_days[1] - 1 if val and test else 0
            if excess > 0 and val.train_start < test.train_start and need - excess <= last - first + 1:
                t_start = test.train_start + hi  # the test split as late as the table allows
                v_start = t_start - (test.train_start - val.train_start - excess)
                fit += (f"; --train-start {day_iso(t_start)} --val-train-start {day_iso(v_start)} fits "
                        f"({need - excess} days: the validation split then ends the day before the test days)")
            fit += "; or use a longer history or shorter --delta-train/--delta-delay/--delta-test"
        problems.append(Problem("error", "time-span",
                                f"{have}, but the splits need {_span(need_first, need_last)} "
                                f"({_n(need, 'day')}: {windows}); {fit}. Frauds per window are checked once the "
                                f"dates fit"))
        return
    in_windows = set()
    for s in splits.values():
        for a, b in (s.train_days, s.test_days):
            in_windows.update(range(a, b + 1))
    gaps = sorted(in_windows - set(present.tolist()))
    if gaps:
        problems.append(Problem("warning", "missing-days",
                                f"days inside the split windows without labelled rows: {len(gaps)} "
                                f"({_dates(gaps)})"))
    if need_first - first < HISTORY_DAYS:
        problems.append(Problem("warning", "short-history",
                                f"the first split day {day_iso(need_first)} is only {need_first - first} days after "
                                f"the table's first day {day_iso(first)}: features need {HISTORY_DAYS} days of "
                                f"history (30-day windows, terminal risk 7 days late) to be complete, so early "
                                f"training rows look different from what the scorer sees later"))
    for name, s in splits.items():
        masks = split_masks(ds, s)
        for (what, (a, b)), mask in zip((("training", s.train_days), ("test", s.test_days)), masks):
            n, k = int(mask.sum()), int(ds.fraud[mask].sum())
            where = f"{name} split, {what} days {_span(a, b)}"
            if what == "test":
                where += " (cards already known to be compromised removed)"
            if k < min_frauds:
                problems.append(Problem("error", "few-frauds",
                                        f"{where}: {_n(k, 'fraud')} among {_n(n, 'labelled row')}; at least "
                                        f"{min_frauds} needed (--min-frauds) for the metrics and thresholds to mean "
                                        f"anything"))
            elif k == n:
                problems.append(Problem("error", "no-legitimate",
                                        f"{where}: all {n:,} labelled rows are frauds; a model needs legitimate "
                                        f"(TX_FRAUD = 0) rows too"))


def _fit(splits: dict, shift: int) -> str:
    val, test = splits.get("validation"), splits.get("test")
    parts = []
    if test is not None:
        parts.append(f"--train-start {day_iso(test.train_start + shift)}")
    if val is not None:
        parts.append(f"--val-train-start {day_iso(val.train_start + shift)}")
    return " ".join(parts) or f"a start {shift:+d} days away"
