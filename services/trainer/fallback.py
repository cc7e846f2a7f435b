"""The fallback policy a REST gateway answers with when the real decision misses its deadline.

Degraded answers must come from the request alone (no card history, no model call: the
scorer is what is late), and from the model's data, not from code: the gateway reads the rules
from the manifest of the model it stands in for (`fallback_policy`). Derived here from the
training rows: the smallest amount at or above which at least REVIEW_PRECISION of the training
transactions were fraud becomes a REVIEW rule, and likewise BLOCK_PRECISION for BLOCK; each
needs MIN_ROWS training rows at or above it, else it is left out. Everything else is ALLOW.
On the simulator's data amounts above 220 are all fraud (a handbook rule), so both rules land
there; on other data they land wherever the data puts them, or nowhere.

    $PY services/trainer/fallback.py --models-dir models --features .cache/features-seed42.csv
adds the block to existing artifacts (the training rows of their manifest's test split).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REVIEW_PRECISION = 0.5
BLOCK_PRECISION = 0.95
MIN_ROWS = 20
REPO = Path(__file__).resolve().parents[2]


def threshold(amount_minor: np.ndarray, fraud: np.ndarray, precision: float, min_rows: int = MIN_ROWS) -> int | None:
    """Smallest amount a (a training amount) with fraud rate >= precision among rows >= a, over >= min_rows rows."""
    order = np.argsort(-amount_minor, kind="stable")
    a = amount_minor[order]
    frauds = np.cumsum(fraud[order].astype(np.int64))
    rows = np.arange(1, len(a) + 1)
    # Only the last row of each run of equal amounts: "rows >= a" includes the whole run.
    last_of_run = np.r_[a[1:] != a[:-1], True]
    ok = last_of_run & (rows >= min_rows) & (frauds >= precision * rows)
    if not ok.any():
        return None
    return int(a[np.flatnonzero(ok)[-1]])


def fallback_policy(amount_minor: np.ndarray, fraud: np.ndarray) -> dict:
    rules = []
    for decision, precision in (("BLOCK", BLOCK_PRECISION), ("REVIEW", REVIEW_PRECISION)):
        t = threshold(amount_minor, fraud, precision)
        if t is not None and all(r["when"]["value"] != t or r["decision"] == decision for r in rules):
            rules.append({"when": {"field": "amountMinor", "op": ">=", "value": t}, "decision": decision,
                          "reason": f"AMOUNT_AT_LEAST_{t}_MINOR"})
    return {
        "inputs": "the request alone (a Transaction); rules are tried in order, the first that holds decides",
        "rules": rules,
        "otherwise": "ALLOW",
        "derived_from": {"rows": int(len(amount_minor)), "frauds": int(fraud.sum()),
                         "rule": f"the smallest training amount at or above which >= {BLOCK_PRECISION} (BLOCK) / "
                                 f">= {REVIEW_PRECISION} (REVIEW) of at least {MIN_ROWS} training transactions were fraud"},
    }


def amounts_minor(X: np.ndarray, features: list[str]) -> np.ndarray:
    return np.rint(X[:, features.index("TX_AMOUNT")] * 100).astype(np.int64)


def main(argv: list[str] | None = None) -> int:
    import manifest
    from calibrate import split_from_manifest
    from data import FEATURES, load_features_csv
    from protocol import split_masks

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models-dir", type=Path, default=REPO / "models")
    p.add_argument("--features", type=Path, required=True, help="the features CSV the artifacts were trained on")
    p.add_argument("--version", default="1.0.0")
    args = p.parse_args(argv)
    ds = load_features_csv(args.features)
    for folder in sorted(args.models_dir.glob(f"*/{args.version}")):
        import json
        man = json.loads((folder / "manifest.json").read_text())
        train_mask, _ = split_masks(ds, split_from_manifest("test", man["training_data"]["splits"]["test"]))
        tr = ds.subset(train_mask)
        policy = fallback_policy(amounts_minor(tr.X, list(FEATURES)), tr.fraud)
        manifest.update_block(folder, "fallback_policy", policy)
        print(f"{folder.parent.name}: {len(policy['rules'])} rule(s): " + "; ".join(f"{r['decision']} when amountMinor >= {r['when']['value']}" for r in policy["rules"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
