"""A small synthetic features CSV with the real file's layout, for tests only.

Why not the simulator: the TypeScript pipeline may not be built when trainer tests run, and
the trainer only needs the contract (header, types, dates) plus some learnable signal. The
values are not the handbook's features; no model trained on this file may ship.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from data import DAY_MS, HEADER, SIM_START_MS, day_index


def make_rows(seed: int = 0, first: str = "2018-07-04", last: str = "2018-08-14",
              tx_per_day: int = 150, n_customers: int = 120) -> list[list]:
    """Rows in HEADER order. Frauds follow amount and terminal risk, plus compromised cards."""
    rng = np.random.default_rng(seed)
    rows: list[list] = []
    compromised: dict[int, int] = {}  # customer -> last compromised day
    tx = 0
    for day in range(day_index(first), day_index(last) + 1):
        compromised[int(rng.integers(n_customers))] = day + 4
        times = np.sort(rng.integers(0, DAY_MS, tx_per_day))
        for t in times:
            c = int(rng.integers(n_customers))
            amount = round(float(rng.gamma(2.0, 25.0)), 2)
            risk = [float(rng.beta(0.3, 12.0)) for _ in range(3)]
            p = 1 / (1 + np.exp(-(-6.0 + 0.025 * amount + 12.0 * risk[1])))
            fraud, scenario = int(rng.random() < p), 0
            if fraud:
                scenario = 1 if amount > 150 else 2
            if compromised.get(c, -1) >= day and rng.random() < 0.5:
                amount, fraud, scenario = round(amount * 4, 2), 1, 3
            nb = [int(rng.integers(1, 5)), int(rng.integers(3, 20)), int(rng.integers(10, 80))]
            avg = [round(amount * float(rng.uniform(0.6, 1.4)), 4) for _ in range(3)]
            tnb = [int(rng.integers(0, 12)), int(rng.integers(5, 60)), int(rng.integers(20, 250))]
            ms = SIM_START_MS + day * DAY_MS + int(t)
            hour = (int(t) // 3_600_000)
            weekday = (day + 6) % 7  # 2018-04-01 was a Sunday
            rows.append([
                f"tx-{tx:07d}", ms, f"card-{c:04d}", f"term-{int(rng.integers(300)):04d}", fraud, scenario,
                amount, int(weekday >= 5), int(hour <= 6),
                nb[0], avg[0], nb[1], avg[1], nb[2], avg[2],
                tnb[0], round(risk[0], 6), tnb[1], round(risk[1], 6), tnb[2], round(risk[2], 6),
            ])
            tx += 1
    return rows


def write_features_csv(path: Path, seed: int = 0, **kw) -> Path:
    rows = make_rows(seed, **kw)
    with open(path, "w") as f:
        f.write(",".join(HEADER) + "\n")
        f.writelines(",".join(str(v) for v in r) + "\n" for r in rows)
    return path
