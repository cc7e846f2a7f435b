"""Confidence-based performance estimation (CBPE, as NannyML does it): the reference
implementation that the monitor's TypeScript code is checked against.

Why: fraud labels (chargebacks) arrive days or weeks after the decision, so a window's
precision, recall and Average Precision are unknown when the window closes. If the model's
probabilities are calibrated (P(fraud | score) = p, see calibration.py and the manifest's
`calibration` map), each transaction's label is a Bernoulli(p_i) draw and the confusion
matrix and the metrics can be estimated from the scores alone.

Inputs for one window: `scores` s_i = the raw model scores (what the decisions and the
thresholds use) and `p` p_i = the calibrated probabilities (the manifest's map applied to
s_i). Thresholds apply to the raw scores: flagged = s_i >= t.

Expected confusion matrix at threshold t (linear in the labels, so these are exact
expectations):
    E[TP] = sum p_i [s_i >= t]          E[FP] = sum (1 - p_i) [s_i >= t]
    E[FN] = sum p_i [s_i <  t]          E[TN] = sum (1 - p_i) [s_i <  t]
    precision_est = E[TP] / (E[TP] + E[FP])     (= mean p over the flagged rows)
    recall_est    = E[TP] / (E[TP] + E[FN])     (= sum p flagged / sum p)
(ratios of expectations: the expectation of the ratio differs by O(1 / flagged rows)).

Average Precision (`average_precision`, the one the monitor implements). Realized AP, as
scikit-learn computes it, groups rows with equal scores: with distinct scores
u_1 > u_2 > ... , G_j the rows with score u_j, n_j the rows with score >= u_j,
TP_j = positives among them and P = all positives,
    AP = sum_j (TP(G_j) / P) * (TP_j / n_j).
Taking expectations of the numerator term by term, with S_j = sum of p over score >= u_j,
S(G_j) = sum of p over G_j and V(G_j) = sum over G_j of p (1 - p):
    E[TP(G_j) * TP_j] = S(G_j) * S_j + V(G_j)
(TP_j = TP(G_j) + TP of the higher groups, independent Bernoulli labels, and
E[TP(G)^2] = S(G)^2 + V(G)), and the denominator by its expectation E[P] = sum p:
    AP_est = sum_j (S(G_j) * S_j + V(G_j)) / n_j  /  sum_i p_i.
Why this and not NannyML's formula verbatim: NannyML (`estimate_ap` in nannyml's CBPE
metrics) sorts rows by raw score and uses AP_nml = sum_k p_k * (cumsum(p)_k / k) / sum p,
i.e. it replaces the precision at a positive's own rank by its expectation *without*
conditioning on that row being positive. Given y_k = 1 the precision at rank k is
(1 + sum_{i<k} p_i) / k, not (p_k + sum_{i<k} p_i) / k, so AP_nml is biased low by
sum_k p_k (1 - p_k) / k / sum p: negligible on big windows, about -0.01 to -0.03 on a day of
this project's traffic (a few dozen frauds, the highest-scored rows with p around 0.5-0.9).
The V(G) term is exactly that correction (for a single row V = p (1 - p), giving
p_k (1 + sum_{i<k} p_i) / k). Grouping equal scores makes the estimate independent of the
order of ties, which a sort in another language would break differently, and it
matches scikit-learn's realized AP. `average_precision_nannyml` keeps NannyML's formula for
comparison. The remaining approximation, E[X / P] ~ E[X] / E[P], is O(1 / sum p).
"""
from __future__ import annotations

import numpy as np


def _arrays(p, scores) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if p.shape != s.shape or p.ndim != 1:
        raise ValueError(f"p and scores must be 1-D of the same length, got {p.shape} and {s.shape}")
    if len(p) and (np.nanmin(p) < 0 or np.nanmax(p) > 1 or np.isnan(p).any()):
        raise ValueError("p must be probabilities in [0, 1]")
    return p, s


def expected_confusion(p, scores, threshold: float) -> dict:
    """Expected TP, FP, FN, TN (floats) and the number of flagged rows at score >= threshold."""
    p, s = _arrays(p, scores)
    flagged = s >= threshold
    tp = float(p[flagged].sum())
    fn = float(p[~flagged].sum())
    n_flagged = int(flagged.sum())
    return {"tp": tp, "fp": n_flagged - tp, "fn": fn, "tn": float(len(p) - n_flagged) - fn,
            "flagged": n_flagged, "rows": int(len(p))}


def precision_recall(p, scores, threshold: float) -> tuple[float, float]:
    """Estimated (precision, recall) at score >= threshold; NaN where undefined
    (nothing flagged, or sum p = 0)."""
    c = expected_confusion(p, scores, threshold)
    precision = c["tp"] / c["flagged"] if c["flagged"] else float("nan")
    positives = c["tp"] + c["fn"]
    recall = c["tp"] / positives if positives > 0 else float("nan")
    return precision, recall


def average_precision(p, scores) -> float:
    """Estimated Average Precision (tie-grouped, self-inclusive; formula in the module doc)."""
    p, s = _arrays(p, scores)
    total = p.sum()
    if len(p) == 0 or total <= 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")
    p, s = p[order], s[order]
    # last row index of each group of equal scores (scores descending)
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    cum_p = np.cumsum(p)[ends]  # S_j
    cum_v = np.cumsum(p * (1.0 - p))[ends]
    group_p = np.diff(np.r_[0.0, cum_p])  # S(G_j)
    group_v = np.diff(np.r_[0.0, cum_v])  # V(G_j)
    n = ends + 1.0  # n_j
    return float(np.sum((group_p * cum_p + group_v) / n) / total)


def average_precision_nannyml(p, scores) -> float:
    """NannyML's CBPE AP: rows by raw score descending, sum_k p_k * cumsum(p)_k / k / sum p
    (no tie grouping, no conditioning on the row's own label). For comparison only."""
    p, s = _arrays(p, scores)
    total = p.sum()
    if len(p) == 0 or total <= 0:
        return float("nan")
    p = p[np.argsort(-s, kind="stable")]
    return float(np.sum(p * np.cumsum(p) / np.arange(1, len(p) + 1)) / total)


def estimate(p, scores, thresholds: dict[str, float]) -> dict:
    """All estimates for one window: expected frauds, AP, and per named threshold the expected
    confusion matrix, precision, recall and flag rate. thresholds e.g. {"review": r, "block": b}."""
    p, s = _arrays(p, scores)
    out = {"rows": int(len(p)), "expected_frauds": float(p.sum()), "average_precision": average_precision(p, s)}
    for name, t in thresholds.items():
        c = expected_confusion(p, s, t)
        precision, recall = precision_recall(p, s, t)
        out[name] = c | {"threshold": float(t), "precision": precision, "recall": recall,
                         "flag_rate": c["flagged"] / len(p) if len(p) else float("nan")}
    return out


def realized(y, scores, thresholds: dict[str, float]) -> dict:
    """The same figures from the labels (what the estimates are compared with once labels
    mature): AP as scikit-learn computes it, precision and recall at score >= t."""
    from sklearn.metrics import average_precision_score

    y = np.asarray(y).astype(int)
    s = np.asarray(scores, dtype=np.float64)
    positives = int(y.sum())
    out = {"rows": int(len(y)), "frauds": positives,
           "average_precision": float(average_precision_score(y, s)) if 0 < positives else float("nan")}
    for name, t in thresholds.items():
        flagged = s >= t
        tp = int((flagged & (y == 1)).sum())
        n = int(flagged.sum())
        out[name] = {"threshold": float(t), "tp": tp, "fp": n - tp, "fn": positives - tp, "flagged": n,
                     "precision": tp / n if n else float("nan"),
                     "recall": tp / positives if positives else float("nan")}
    return out
