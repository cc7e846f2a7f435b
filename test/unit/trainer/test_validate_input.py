"""validate_input: one small table per problem kind, the specific message, and train.py
stopping with exit code 2 before anything is fitted (warnings let it go on)."""
import re
import subprocess
import sys

import numpy as np
import pytest

import calibrate
import reference_ranges
import train
import validate_input as V
from data import HEADER, InputError, load_features_csv
from protocol import Split
from synthetic import make_rows

SPLITS = {"validation": Split.from_iso("validation", "2018-07-11"), "test": Split.from_iso("test", "2018-07-25")}
COL = {c: i for i, c in enumerate(HEADER)}


class Trained(Exception):
    """Raised instead of training: validation let the run through."""


@pytest.fixture(scope="module")
def base():
    """Header and rows (as text) of the same synthetic table as conftest's features_csv."""
    return list(HEADER), [[str(v) for v in r] for r in make_rows(seed=7)]


def write(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n")
    return path


def copy(base):
    header, rows = base
    return list(header), [list(r) for r in rows]


def codes(problems, level=None):
    return [p.code for p in problems if level is None or p.level == level]


def only(problems, code):
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, [str(p) for p in problems]
    return found[0]


def run_train(path, tmp_path, monkeypatch, *extra):
    """train.main's exit code, with fitting replaced by an exception (Trained)."""
    def no_training(*args, **kwargs):
        raise Trained()
    monkeypatch.setattr(train, "run_family", no_training)
    models = tmp_path / "models"
    rc = train.main(["--features", str(path), "--models-dir", str(models), "--quick", *extra])
    assert not models.exists() or not any(models.iterdir())
    return rc


def day_of(row) -> str:
    return str(np.datetime64(int(row[COL["TX_DATETIME_MS"]]), "ms").astype("datetime64[D]"))


# --- errors: one table per problem kind ------------------------------------------------


def missing_columns(h, rows):
    drop = [COL["TX_FRAUD"], COL["TX_AMOUNT"]]
    return [c for i, c in enumerate(h) if i not in drop], [[v for i, v in enumerate(r) if i not in drop] for r in rows]


def duplicated_column(h, rows):
    return h + ["TX_AMOUNT"], [r + [r[COL["TX_AMOUNT"]]] for r in rows]


def reordered_columns(h, rows):
    a, b = COL["TX_DURING_NIGHT"], COL["TX_DURING_WEEKEND"]
    swap = lambda r: [r[b] if i == a else r[a] if i == b else v for i, v in enumerate(r)]  # noqa: E731
    return swap(h), [swap(r) for r in rows]


def set_values(changes):
    """Mutation setting {(data row number, column): text}."""
    def mutate(h, rows):
        for (row, col), text in changes.items():
            rows[row - 1][COL[col]] = text
        return h, rows
    return mutate


def ragged(h, rows):
    rows[11] = rows[11] + ["x"]
    rows[20] = rows[20][:-1]
    return h, rows


def duplicate_id(h, rows):
    rows[9][COL["TRANSACTION_ID"]] = rows[3][COL["TRANSACTION_ID"]]
    rows[10][COL["TRANSACTION_ID"]] = rows[3][COL["TRANSACTION_ID"]]
    return h, rows


def no_fraud(h, rows):
    for r in rows:
        r[COL["TX_FRAUD"]] = "0"
    return h, rows


def few_test_frauds(h, rows):
    """Keeps 5 frauds in the test split's test days (2018-08-08..14)."""
    kept = 0
    for r in rows:
        if "2018-08-08" <= day_of(r) <= "2018-08-14" and r[COL["TX_FRAUD"]] == "1":
            kept += 1
            if kept > 5:
                r[COL["TX_FRAUD"]] = "0"
    return h, rows


def starts_late(h, rows):
    return h, [r for r in rows if day_of(r) >= "2018-07-20"]


ERRORS = [
    ("missing-columns", missing_columns, [], r"missing required columns: TX_FRAUD, TX_AMOUNT \("),
    ("duplicate-columns", duplicated_column, [], r"duplicated columns: TX_AMOUNT \(columns 7, 22\)"),
    ("column-order", reordered_columns, [],
     r"header does not match the handbook-15-v1 contract order: column 8 is TX_DURING_NIGHT where "
     r"TX_DURING_WEEKEND is expected"),
    ("non-numeric", set_values({(3, "TX_AMOUNT"): "12 EUR", (8, "TX_AMOUNT"): ""}), [],
     r"non-numeric or empty values in TX_AMOUNT: 2 rows \(rows 3, 8\)"),
    ("bad-time", set_values({(4, "TX_DATETIME_MS"): "2018-07-25T10:00", (6, "TX_DATETIME_MS"): "1532476800000.5"}), [],
     r"TX_DATETIME_MS is not a whole number of epoch milliseconds .* in 2 rows \(rows 4, 6\)"),
    ("non-finite", set_values({(2, "CUSTOMER_ID_NB_TX_7DAY_WINDOW"): "nan",
                               (7, "CUSTOMER_ID_NB_TX_7DAY_WINDOW"): "Infinity"}), [],
     r"non-finite values \(NaN or inf\) in CUSTOMER_ID_NB_TX_7DAY_WINDOW: 2 rows \(rows 2, 7\)"),
    ("bad-label", set_values({(1, "TX_FRAUD"): "2", (9, "TX_FRAUD"): "yes"}), [],
     r"TX_FRAUD must be 0, 1 or empty; another value in 2 rows \(rows 1, 9\)"),
    ("ragged-rows", ragged, [], r"field count differs from the header's 21: 2 rows \(rows 12, 21;"),
    ("duplicate-ids", duplicate_id, [],
     r"duplicate TRANSACTION_ID: 1 id used more than once, 2 repeated rows \(rows 10, 11\)"),
    ("no-fraud", no_fraud, [], r"no fraud at all: none of the 6,300 labelled rows has TX_FRAUD = 1"),
    ("few-frauds", few_test_frauds, [],
     r"\[few-frauds\]: test split, test days 2018-08-08\.\.2018-08-14 \(cards already known to be compromised removed\): "
     r"[0-5] frauds? among [\d,]+ labelled rows; at least 20 needed \(--min-frauds\)"),
    ("few-frauds", lambda h, r: (h, r), ["--min-frauds", "30"],
     r"\[few-frauds\]: validation split, test days 2018-07-25\.\.2018-07-31 .*: 27 frauds among 728 labelled rows; "
     r"at least 30 needed"),
    ("time-span", starts_late, [],
     r"the table covers 2018-07-20\.\.2018-08-14 \(26 days, 26 with rows\), but the splits need "
     r"2018-07-11\.\.2018-08-14 \(35 days: .*no --train-start fits with --val-train-start 14 days before it"),
    ("time-span", lambda h, r: (h, r), ["--train-start", "2018-07-30", "--val-train-start", "2018-07-16"],
     r"the table covers 2018-07-04\.\.2018-08-14 \(42 days.*need 2018-07-16\.\.2018-08-19 \(35 days.*"
     r"--train-start 2018-07-25 --val-train-start 2018-07-11 fits \(the latest placement; the earliest is "
     r"--train-start 2018-07-18 --val-train-start 2018-07-04\)"),
    ("split-order", lambda h, r: (h, r), ["--val-train-start", "2018-07-20"],
     r"the validation split \(2018-07-20\.\.2018-08-09\) must end before the test split's test days start "
     r"\(2018-08-08\)"),
]


@pytest.mark.parametrize("code,mutate,args,pattern", ERRORS, ids=[f"{e[0]}{e[2]}" for e in ERRORS])
def test_error_is_named_and_train_exits_2(base, tmp_path, monkeypatch, capsys, code, mutate, args, pattern):
    path = write(tmp_path / "features.csv", *mutate(*copy(base)))
    rc = run_train(path, tmp_path, monkeypatch, *args)  # Trained would propagate
    assert rc == V.EXIT_CODE == 2
    err = capsys.readouterr().err
    assert re.search(r"^not training: \d+ error\(s\) in .*features\.csv \(exit 2\)$", err, re.M), err
    lines = [line for line in err.splitlines() if line.startswith(f"  error [{code}]: ")]
    assert any(re.search(pattern, line) for line in lines), err


def test_every_problem_is_listed_at_once(base, tmp_path, monkeypatch, capsys):
    h, rows = copy(base)
    for mutate in (set_values({(3, "TX_AMOUNT"): "abc", (5, "TX_FRAUD"): "2"}), duplicate_id, ragged):
        h, rows = mutate(h, rows)
    h, rows = h + ["NOTE"], [r + ["n"] for r in rows]
    path = write(tmp_path / "many.csv", h, rows)
    problems = V.validate(path, SPLITS)
    assert {"non-numeric", "bad-label", "duplicate-ids", "ragged-rows"} <= set(codes(problems, "error"))
    assert "extra-columns" in codes(problems, "warning")
    assert run_train(path, tmp_path, monkeypatch) == 2
    err = capsys.readouterr().err
    assert f"{len(V.errors(problems))} errors, 2 warnings in the features table" in err  # + short-history
    assert all(f"[{p.code}]: {p.message}" in err for p in problems)
    # Never a value from the rows: no card, terminal or transaction id, no amount.
    assert not re.search(r"card-\d|term-\d|tx-\d|abc", err), err


def test_messages_never_show_row_values(base, tmp_path):
    h, rows = copy(base)
    secret = "4111111111111111"
    rows[2][COL["CUSTOMER_ID"]] = secret
    rows[2][COL["TX_AMOUNT"]] = secret + "x"
    rows[3][COL["TRANSACTION_ID"]] = rows[4][COL["TRANSACTION_ID"]] = secret
    rows[5][COL["TX_FRAUD"]] = secret
    problems = V.validate(write(tmp_path / "t.csv", h, rows), SPLITS)
    assert {"non-numeric", "duplicate-ids", "bad-label"} <= set(codes(problems, "error"))
    assert secret not in V.format_problems("t.csv", problems)


# --- warnings: training goes on ----------------------------------------------------------


def test_extra_column_warns_and_training_proceeds(base, tmp_path, monkeypatch):
    h, rows = copy(base)
    h, rows = h[:6] + ["MERCHANT"] + h[6:], [r[:6] + ["m"] + r[6:] for r in rows]
    path = write(tmp_path / "extra.csv", h, rows)
    problems = V.validate(path, SPLITS)
    assert only(problems, "extra-columns").message == "unknown columns, ignored: MERCHANT (column 7)"
    assert codes(problems, "error") == []
    with pytest.raises(Trained):
        run_train(path, tmp_path, monkeypatch)
    np.testing.assert_array_equal(load_features_csv(path, verbose=False).X,
                                  load_features_csv(write(tmp_path / "b.csv", *base), verbose=False).X)


def test_unlabelled_rows_are_counted_and_left_out(base, tmp_path, monkeypatch):
    h, rows = copy(base)
    blank = [i for i, r in enumerate(rows) if r[COL["TX_FRAUD"]] == "0"][::10]
    for i in blank:
        rows[i][COL["TX_FRAUD"]] = ""
        rows[i][COL["TX_FRAUD_SCENARIO"]] = ""
    path = write(tmp_path / "unlabelled.csv", h, rows)
    checked = V.check_features(path, SPLITS)
    share = f"{100 * len(blank) / len(rows):.1f} %"
    assert only(checked.problems, "unlabelled").message == (
        f"rows without a TX_FRAUD label: {len(blank):,} of {len(rows):,} ({share}); "
        "they are left out of training and evaluation")
    assert checked.errors == [] and len(checked.dataset) == len(rows) - len(blank)
    assert checked.unlabelled == len(blank)
    with pytest.raises(Trained):
        run_train(path, tmp_path, monkeypatch)


def test_implausible_fraud_rate_warns(base, tmp_path):
    h, rows = copy(base)
    for r in rows[: len(rows) * 3 // 5]:
        r[COL["TX_FRAUD"]] = "1"
    problems = V.validate(write(tmp_path / "high.csv", h, rows))
    assert re.fullmatch(r"fraud rate 6\d\.\d % \([\d,]+ of 6,300 labelled rows\) is implausibly high \(> 50 %\): "
                        r"is TX_FRAUD inverted \(1 = legitimate\)\?", only(problems, "high-fraud-rate").message)
    assert V.validate(write(tmp_path / "ok.csv", *base)) == []  # 4 % frauds: no warning


def test_missing_days_in_a_window_warn(base, tmp_path):
    h, rows = copy(base)
    rows = [r for r in rows if day_of(r) not in ("2018-07-13", "2018-08-02")]  # 08-02: delay, not a window
    problems = V.validate(write(tmp_path / "gap.csv", h, rows), SPLITS)
    assert only(problems, "missing-days").message == "days inside the split windows without labelled rows: 1 (2018-07-13)"


def test_rows_out_of_time_order_are_fine(base, tmp_path):
    h, rows = copy(base)
    order = np.random.default_rng(1).permutation(len(rows))
    shuffled = V.check_features(write(tmp_path / "shuffled.csv", h, [rows[i] for i in order]), SPLITS)
    assert codes(shuffled.problems) == ["short-history"]
    original = V.check_features(write(tmp_path / "sorted.csv", h, rows), SPLITS).dataset
    np.testing.assert_array_equal(shuffled.dataset.X, original.X[order])


# --- valid tables ------------------------------------------------------------------------


def test_valid_table_passes(features_csv):
    checked = V.check_features(features_csv, SPLITS)
    assert checked.errors == [] and checked.dataset is not None and len(checked.dataset) == 6300
    # The synthetic table starts 7 days before the first split day: only the history warning.
    assert codes(checked.problems) == ["short-history"]
    assert "37 days of history" in checked.problems[0].message


def test_long_valid_table_has_no_problem_at_all(tmp_path):
    rows = [[str(v) for v in r] for r in make_rows(seed=7, first="2018-06-01")]
    checked = V.check_features(write(tmp_path / "long.csv", list(HEADER), rows), SPLITS)
    assert checked.problems == [] and len(checked.dataset) == len(rows)


def test_slow_path_reads_the_same_dataset(base, tmp_path):
    """A table numpy refuses is read row by row; its good rows come out identical."""
    h, rows = copy(base)
    fast = V.check_features(write(tmp_path / "fast.csv", h, rows)).dataset
    rows[0][COL["TX_AMOUNT"]] = "x"
    slow = V._read_slow(write(tmp_path / "slow.csv", h, rows), COL, len(h))
    assert slow.unparsable["TX_AMOUNT"].sum() == 1 and len(slow.row_no) == len(rows)
    np.testing.assert_array_equal(slow.num["TX_AMOUNT"][1:], fast.X[1:, 0])
    np.testing.assert_array_equal(slow.num["TERMINAL_ID_RISK_30DAY_WINDOW"], fast.X[:, -1])


# --- the other entry points ----------------------------------------------------------------


def test_entry_point_exit_code(base, tmp_path):
    """The real command (`sys.exit(main())`) exits 2 and names the problem."""
    path = write(tmp_path / "bad.csv", *no_fraud(*copy(base)))
    proc = subprocess.run([sys.executable, train.__file__, "--features", str(path), "--models-dir",
                           str(tmp_path / "models"), "--quick"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "no fraud at all" in proc.stderr and not (tmp_path / "models").exists()


def test_loader_raises_every_problem(base, tmp_path):
    h, rows = copy(base)
    h, rows = set_values({(3, "TX_AMOUNT"): "abc", (5, "TX_FRAUD"): "2"})(h, rows)
    with pytest.raises(InputError) as e:
        load_features_csv(write(tmp_path / "t.csv", h, rows), verbose=False)
    assert codes(e.value.problems, "error") == ["non-numeric", "bad-label"]
    assert "non-numeric or empty values in TX_AMOUNT: 1 row (row 3)" in str(e.value)


@pytest.mark.parametrize("module", [calibrate, reference_ranges])
def test_calibrate_and_reference_ranges_exit_2(base, tmp_path, capsys, module):
    models = tmp_path / "models"
    (models / "fraud-lr" / "1.0.0").mkdir(parents=True)
    (models / "fraud-lr" / "1.0.0" / "manifest.json").write_text("{}")
    path = write(tmp_path / "bad.csv", *missing_columns(*copy(base)))
    assert module.main(["--models-dir", str(models), "--features", str(path), "--dry-run"]) == 2
    assert "missing required columns: TX_FRAUD, TX_AMOUNT" in capsys.readouterr().err
