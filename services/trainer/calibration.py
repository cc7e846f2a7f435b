"""Probability calibration of the raw model score, for the monitor's performance estimation.

Why: the monitor estimates precision/recall at the decision thresholds and Average Precision
before labels arrive (confidence-based performance estimation, cbpe.py), which is only right
if P(fraud | score) is known. Tree ensembles and a regularised logistic regression trained
on a 1 %-fraud week do not output that probability, so the trainer fits it.

How: isotonic regression (scikit-learn, out_of_bounds='clip') of the label on the raw score,
fitted on the validation split: the validation model's ONNX scores on the validation test
days, the very rows and scores the thresholds are chosen from (never the test week, and never
the shipped model's own training rows, where its scores are over-confident). The map is
stored in the manifest as knots (x ascending raw scores, y non-decreasing probabilities);
P = linear interpolation between knots, y[0] below x[0] and y[-1] above x[-1], i.e.
numpy.interp(score, x, y), which is also exactly how scikit-learn's IsotonicRegression
predicts. If the fit has more than `max_knots` knots, a subset is kept (greedy: always the
knot farthest from the current interpolation); any subset of a monotone map's knots is still
monotone. The ONNX graph is not changed: the scorer's score stays the raw model output.

How well it worked is measured on the test split (the shipped model's scores on the test
week): Brier score and expected calibration error (10 equal-width bins on [0, 1]) for the
raw score and the calibrated probability, and a reliability table of the calibrated one.
"""
from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression

import cbpe

MAX_KNOTS = 200
ECE_BINS = 10

RULE = (
    "P(fraud) = numpy.interp(score, x, y): linear interpolation between the knots, y[0] below "
    "x[0], y[-1] above x[-1]. x: raw model scores (ascending), y: calibrated probabilities "
    "(non-decreasing). Fitted by isotonic regression (scikit-learn, out_of_bounds='clip') on the "
    "validation split's test days with the validation model's ONNX scores (the rows the "
    "thresholds come from); Brier, ECE and reliability are measured on the test split with the "
    "shipped model's scores. ECE: 10 equal-width bins on [0, 1], bin = min(floor(10 p), 9), "
    "sum over bins of (rows in bin / rows) * |mean p - fraud rate|."
)


def fit_isotonic(scores, y) -> tuple[np.ndarray, np.ndarray]:
    """Knots (x, y) of the isotonic fit of y on scores, as scikit-learn keeps them
    (flat runs reduced to their two ends)."""
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True)
    iso.fit(np.asarray(scores, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.asarray(iso.X_thresholds_, dtype=np.float64), np.asarray(iso.y_thresholds_, dtype=np.float64)


def thin(x: np.ndarray, y: np.ndarray, max_knots: int = MAX_KNOTS) -> tuple[np.ndarray, np.ndarray, float]:
    """At most max_knots of the knots (first and last always kept), chosen greedily to minimise
    the largest |difference| from the full map; returns (x, y, that largest difference).

    Both maps are piecewise linear and the kept knots lie on the full map, so their largest
    difference is reached at one of the full map's knots: measuring there is exact."""
    n = len(x)
    if n <= max_knots:
        return x, y, 0.0
    if max_knots < 2:
        raise ValueError("max_knots must be at least 2")
    keep = np.zeros(n, dtype=bool)
    keep[[0, n - 1]] = True
    err = np.abs(np.interp(x, x[keep], y[keep]) - y)
    while keep.sum() < max_knots and err.max() > 0:
        keep[int(np.argmax(err))] = True
        err = np.abs(np.interp(x, x[keep], y[keep]) - y)
    return x[keep], y[keep], float(err.max())


def apply(calibration: dict, scores) -> np.ndarray:
    """Calibrated P(fraud) of raw scores with a manifest `calibration` block (or {x, y})."""
    return np.interp(np.asarray(scores, dtype=np.float64), calibration["x"], calibration["y"])


def brier(p, y) -> float:
    p = np.asarray(p, dtype=np.float64)
    return float(np.mean((p - np.asarray(y, dtype=np.float64)) ** 2))


def reliability(p, y, bins: int = ECE_BINS) -> dict:
    """Per equal-width bin of p on [0, 1]: mean p, fraud rate, rows (None where empty).
    `bins` lists the bins + 1 edges; bin i = [bins[i], bins[i+1]), the last one closed."""
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    idx = np.clip(np.floor(p * bins).astype(np.int64), 0, bins - 1)
    count = np.bincount(idx, minlength=bins)
    sum_p = np.bincount(idx, weights=p, minlength=bins)
    sum_y = np.bincount(idx, weights=y, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p, frac = sum_p / count, sum_y / count
    return {
        "bins": [round(i / bins, 10) for i in range(bins + 1)],
        "mean_predicted": [_sig(v) if c else None for v, c in zip(mean_p, count)],
        "fraction_positive": [_sig(v) if c else None for v, c in zip(frac, count)],
        "count": [int(c) for c in count],
    }


def ece(p, y, bins: int = ECE_BINS) -> float:
    """Expected calibration error: sum over bins of (rows in bin / rows) * |mean p - fraud rate|."""
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    idx = np.clip(np.floor(p * bins).astype(np.int64), 0, bins - 1)
    count = np.bincount(idx, minlength=bins)
    gap = np.abs(np.bincount(idx, weights=p, minlength=bins) - np.bincount(idx, weights=y, minlength=bins))
    return float(gap.sum() / max(len(p), 1))  # sum_b |sum p - sum y| / N = sum_b (n_b/N) |mean p - rate|


def cross_fit(scores, y, folds: int = 2) -> dict:
    """Held-out Brier of the raw score and of an isotonic map on the validation rows alone
    (fold k = rows i with i % folds == k; fit on the other folds): whether isotonic helps,
    known without looking at the test week."""
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y).astype(int)
    fold = np.arange(len(y)) % folds
    sq_raw = sq_iso = 0.0
    for k in range(folds):
        fit, held = fold != k, fold == k
        if not (0 < y[fit].sum() < fit.sum()):
            return {"folds": folds, "brier_raw": None, "brier_isotonic": None}
        x, yk = fit_isotonic(scores[fit], y[fit])
        sq_raw += float(np.sum((scores[held] - y[held]) ** 2))
        sq_iso += float(np.sum((np.interp(scores[held], x, yk) - y[held]) ** 2))
    return {"folds": folds, "rule": "row i in fold i % folds", "brier_raw": _sig(sq_raw / len(y)),
            "brier_isotonic": _sig(sq_iso / len(y))}


def _sig(v: float, digits: int = 6) -> float | None:
    """v to `digits` significant digits; None (JSON null) when not finite."""
    v = float(v)
    return float(f"{v:.{digits}g}") if np.isfinite(v) else None


def build(
    val_scores, val_y, test_scores, test_y, *, thresholds: dict[str, float] | None = None,
    max_knots: int = MAX_KNOTS, fitted_rows: dict | None = None,
) -> dict:
    """The manifest's `calibration` block: the map fitted on validation, its quality on test
    (and, given the decision thresholds, the CBPE estimates on the test week next to the
    realized values, i.e. how far the monitor's estimates would have been off there)."""
    val_scores = np.asarray(val_scores, dtype=np.float64)
    test_scores = np.asarray(test_scores, dtype=np.float64)
    val_y = np.asarray(val_y).astype(int)
    test_y = np.asarray(test_y).astype(int)
    if not (0 < val_y.sum() < len(val_y)):
        raise ValueError("calibration needs both classes in the validation rows")
    x_full, y_full = fit_isotonic(val_scores, val_y)
    cross = cross_fit(val_scores, val_y)
    x, y, thin_err = thin(x_full, y_full, max_knots)
    y = np.array([_sig(v, 9) for v in y])  # rounding is monotone: stays non-decreasing
    cal_test = np.interp(test_scores, x, y)
    out = {
        "method": "isotonic",
        "fitted_on": "validation",
        "rule": RULE,
        "fit": (fitted_rows or {}) | {
            "rows": int(len(val_y)), "frauds": int(val_y.sum()),
            "scores": "validation model (same family and parameters, trained on the validation "
                      "training week), ONNX scores",
            "isotonic_knots": int(len(x_full)), "knots": int(len(x)),
            "thinning_max_abs_error": _sig(thin_err),
            "cross_fit": cross,
        },
        "x": [float(v) for v in x],
        "y": [float(v) for v in y],
        "evaluated_on": "test",
        "brier_raw": _sig(brier(test_scores, test_y)),
        "brier_calibrated": _sig(brier(cal_test, test_y)),
        "ece_raw": _sig(ece(test_scores, test_y)),
        "ece_calibrated": _sig(ece(cal_test, test_y)),
        "ece_bins": ECE_BINS,
        "test": {"rows": int(len(test_y)), "frauds": int(test_y.sum()),
                 "expected_frauds_raw": _sig(test_scores.sum()),
                 "expected_frauds_calibrated": _sig(cal_test.sum())},
        "reliability": {"source": "test split, calibrated probabilities"} | reliability(cal_test, test_y),
        "reliability_raw": {"source": "test split, raw scores"} | reliability(test_scores, test_y),
    }
    if thresholds:
        est = cbpe.estimate(cal_test, test_scores, thresholds)
        real = cbpe.realized(test_y, test_scores, thresholds)
        check = {"note": "CBPE on the whole test week (calibrated p of the shipped model's scores) vs "
                         "the realized values; see cbpe.py",
                 "average_precision": {"estimated": _sig(est["average_precision"]),
                                       "realized": _sig(real["average_precision"])}}
        for name in thresholds:
            check[name] = {f"{m}_{k}": _sig(src[name][m]) for m in ("precision", "recall")
                           for k, src in (("estimated", est), ("realized", real))}
        out["cbpe_test"] = check
    return out
