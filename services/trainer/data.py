"""Reads the features CSV that the TypeScript feature code (`fraudscore features`) writes.

Why numpy and not pandas: the file has one fixed layout (6 id/label columns, then the 15
model inputs), numpy's C parser reads 1.75 M rows in seconds, and leaving pandas out keeps
the trainer's dependency set small. The column order is the model-input contract, so a
header that differs is refused rather than silently reordered.
"""
from __future__ import annotations

import csv
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


def read_header(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return next(csv.reader(f))


def load_features_csv(path: str | Path, verbose: bool = True) -> Dataset:
    """Loads and validates a features CSV with exactly the HEADER columns, in order."""
    path = Path(path)
    t0 = time.perf_counter()
    header = [h.strip() for h in read_header(path)]
    if tuple(header) != HEADER:
        raise ValueError(
            f"{path}: header does not match the {FEATURE_SET_VERSION} contract.\n"
            f"  expected: {','.join(HEADER)}\n  found:    {','.join(header)}"
        )
    numeric_cols = [1, 4, 5] + list(range(len(ID_COLUMNS), len(HEADER)))
    kw = dict(delimiter=",", skiprows=1, quotechar='"', ndmin=2)
    num = np.loadtxt(path, usecols=numeric_cols, dtype=np.float64, **kw)
    ids = np.loadtxt(path, usecols=(0, 2), dtype=str, **kw)
    X = np.ascontiguousarray(num[:, 3:])
    bad = ~np.isfinite(X)
    if bad.any():
        col = FEATURES[int(np.argwhere(bad)[0][1])]
        raise ValueError(f"{path}: {int(bad.sum())} non-finite feature values (first in {col})")
    time_ms = num[:, 0].astype(np.int64)
    _, customer = np.unique(ids[:, 1], return_inverse=True)
    ds = Dataset(
        tx_id=ids[:, 0],
        time_ms=time_ms,
        day=(time_ms - SIM_START_MS) // DAY_MS,
        customer=customer.astype(np.int64),
        fraud=num[:, 1].astype(np.int8),
        scenario=num[:, 2].astype(np.int8),
        X=X,
    )
    if verbose:
        d = ds.describe()
        print(
            f"loaded {path.name}: {d['rows']:,} rows, {d['frauds']:,} frauds "
            f"({100 * d['fraud_rate']:.3f} %), days {d['first_day']}..{d['last_day']} "
            f"in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
    return ds
