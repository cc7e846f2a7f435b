"""Reads the features CSV that the TypeScript feature code (`fraudscore features`) writes.

Why numpy and not pandas: the file has one fixed layout (6 id/label columns, then the 15
model inputs), numpy's C parser reads 1.75 M rows in seconds, and leaving pandas out keeps
the trainer's dependency set small. The column order is the model-input contract, so a
header that differs is refused rather than silently reordered. Reading and checking the
file (header, types, labels, ids) is validate_input.py's job; this module holds the layout.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

ID_COLUMNS = (
    "TRANSACTION_ID",
    "TX_DATETIME_MS",
    "CUSTOMER_ID",
    "TERMINAL_ID",
    "TX_FRAUD",
    "TX_FRAUD_SCENARIO",
)

#: The 15 model inputs, in the order the ONNX input columns expect them.
FEATURES = (
    "TX_AMOUNT",
    "TX_DURING_WEEKEND",
    "TX_DURING_NIGHT",
    "CUSTOMER_ID_NB_TX_1DAY_WINDOW",
    "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW",
    "CUSTOMER_ID_NB_TX_7DAY_WINDOW",
    "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW",
    "CUSTOMER_ID_NB_TX_30DAY_WINDOW",
    "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW",
    "TERMINAL_ID_NB_TX_1DAY_WINDOW",
    "TERMINAL_ID_RISK_1DAY_WINDOW",
    "TERMINAL_ID_NB_TX_7DAY_WINDOW",
    "TERMINAL_ID_RISK_7DAY_WINDOW",
    "TERMINAL_ID_NB_TX_30DAY_WINDOW",
    "TERMINAL_ID_RISK_30DAY_WINDOW",
)
FEATURE_SET_VERSION = "handbook-15-v1"
HEADER = ID_COLUMNS + FEATURES

#: Day 0 of the simulation; day indices (as in the handbook's TX_TIME_DAYS) count from here.
SIM_START = date(2018, 4, 1)
SIM_START_MS = int(datetime(2018, 4, 1, tzinfo=timezone.utc).timestamp() * 1000)
DAY_MS = 86_400_000


def day_index(iso_day: str) -> int:
    """Simulation day number of an ISO date (2018-04-01 -> 0)."""
    return (date.fromisoformat(iso_day) - SIM_START).days


def day_iso(index: int) -> str:
    """ISO date of a simulation day number (inverse of day_index)."""
    return date.fromordinal(SIM_START.toordinal() + int(index)).isoformat()


@dataclass(frozen=True)
class Dataset:
    """Column arrays of the features CSV (one row per transaction)."""

    tx_id: np.ndarray  # str
    time_ms: np.ndarray  # int64 epoch ms
    day: np.ndarray  # int64 simulation day
    customer: np.ndarray  # int64 codes (card tokens factorised)
    fraud: np.ndarray  # int8 0/1
    scenario: np.ndarray  # int8
    X: np.ndarray  # float64 [n, 15]

    def __len__(self) -> int:
        return len(self.fraud)

    def subset(self, mask: np.ndarray) -> "Dataset":
        """Rows where mask is true (a copy)."""
        return Dataset(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))

    def describe(self) -> dict:
        """Rows, frauds and date range, for logs and manifests."""
        n = len(self)
        return {
            "rows": int(n),
            "frauds": int(self.fraud.sum()),
            "fraud_rate": round(float(self.fraud.mean()), 6) if n else 0.0,
            "first_day": day_iso(self.day.min()) if n else None,
            "last_day": day_iso(self.day.max()) if n else None,
        }


class InputError(ValueError):
    """The features CSV cannot be used; `problems` lists every reason (validate_input.Problem)."""

    def __init__(self, path, problems):
        from validate_input import format_problems

        self.problems = problems
        super().__init__(format_problems(path, problems))


def load_features_csv(path: str | Path, verbose: bool = True) -> Dataset:
    """Loads the labelled rows of a features CSV after validate_input's table checks.

    Raises InputError (a ValueError naming every problem) when the table has errors; rows
    with an empty TX_FRAUD are left out. train.py calls validate_input itself, to also check
    the split dates and the frauds per window.
    """
    import validate_input  # here, not at the top: validate_input imports this module

    path = Path(path)
    t0 = time.perf_counter()
    checked = validate_input.check_features(path)
    if checked.errors:
        raise InputError(path, checked.problems)
    ds = checked.dataset
    if verbose:
        validate_input.report(path, checked.warnings)
        print(loaded_line(path, ds, checked.unlabelled, time.perf_counter() - t0), flush=True)
    return ds


def loaded_line(path: Path, ds: Dataset, unlabelled: int, seconds: float) -> str:
    d = ds.describe()
    left_out = f" ({unlabelled:,} unlabelled rows left out)" if unlabelled else ""
    return (f"loaded {Path(path).name}: {d['rows']:,} rows{left_out}, {d['frauds']:,} frauds "
            f"({100 * d['fraud_rate']:.3f} %), days {d['first_day']}..{d['last_day']} in {seconds:.1f} s")
