"""Decision thresholds (REVIEW, BLOCK) chosen on validation scores, never on test.

Why precision targets: BLOCK stops a customer's payment, so it must be right most of the
time (precision >= 0.8); REVIEW sends a case to an analyst, where about one real fraud in
three reviewed cases is a workable queue and catches far more fraud. Each threshold is the
lowest score that still meets its precision target, i.e. the most recall for that
precision. The scorer applies: score >= block -> BLOCK, else score >= review -> REVIEW.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

BLOCK_PRECISION = 0.80
REVIEW_PRECISION = 0.30
MIN_ALERTS = 10  # a precision over fewer flagged rows is noise

RULE = (
    f"Chosen on the validation split's test days with the validation model's ONNX scores "
    f"(same family and parameters, trained on the validation training week). "
    f"block = lowest score s such that precision(score >= s) >= {BLOCK_PRECISION} with at "
    f"least {MIN_ALERTS} flagged transactions; review = lowest score s with precision >= "
    f"{REVIEW_PRECISION} (same minimum), capped at block. If no score meets a target, the "
    f"score with the highest precision is used and met_target is false. Decision: "
    f"score >= block -> BLOCK; else score >= review -> REVIEW; else ALLOW."
)


def _lowest_threshold(y: np.ndarray, scores: np.ndarray, target: float) -> tuple[float, bool]:
    precision, _, thr = precision_recall_curve(y, scores)
    precision = precision[:-1]  # last point is the (precision 1, recall 0) sentinel
    alerts = _alerts(scores, thr)
    ok = (precision >= target) & (alerts >= MIN_ALERTS)
    if ok.any():
        return float(thr[np.argmax(ok)]), True  # thr ascending: first ok = lowest score
    enough = alerts >= min(MIN_ALERTS, len(scores))
    best = np.flatnonzero(enough)[np.argmax(precision[enough])] if enough.any() else len(thr) - 1
    return float(thr[best]), False


def _alerts(scores: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """Number of scores >= each threshold."""
    s = np.sort(scores)
    return len(s) - np.searchsorted(s, thr, side="left")


def at_threshold(y: np.ndarray, scores: np.ndarray, t: float) -> dict:
    """Precision, recall and alert rate of score >= t."""
    flagged = scores >= t
    tp = int((flagged & (y == 1)).sum())
    n = int(flagged.sum())
    return {
        "precision": round(tp / n, 4) if n else None,
        "recall": round(tp / max(int(y.sum()), 1), 4),
        "alert_rate": round(n / max(len(y), 1), 6),
        "alerts": n,
    }


def choose(y: np.ndarray, scores: np.ndarray) -> dict:
    """{review, block, met_target, validation: {review: {...}, block: {...}}}."""
    y = np.asarray(y).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    block, block_ok = _lowest_threshold(y, scores, BLOCK_PRECISION)
    review, review_ok = _lowest_threshold(y, scores, REVIEW_PRECISION)
    review = min(review, block)
    return {
        "review": review,
        "block": block,
        "met_target": {"review": review_ok, "block": block_ok},
        "validation": {"review": at_threshold(y, scores, review), "block": at_threshold(y, scores, block)},
    }
