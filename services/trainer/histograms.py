"""Reference histograms for drift monitoring (PSI and the like) in the scorer.

Why quantile bins with open ends: equal-mass bins on training data make every bin matter,
and the open first/last bins still count live values outside the training range, which is
exactly what drift looks like. Repeated quantiles (binary flags, small counts, many zero
risks) collapse into one edge, so a feature can have fewer than 10 bins.

Binning rule (the scorer must apply the same): `edges` are sorted interior cut points;
bin index of x = number of edges strictly less than x, so bin i holds
(edges[i-1], edges[i]] with bin 0 = (-inf, edges[0]] and the last = (edges[-1], +inf).
`fractions` has len(edges) + 1 entries summing to 1.

Range: `min` and `max` are the smallest and largest training value (of the same values the
edges come from; both left out when there are none). The bins already count a live value
beyond them in the open end bins, but cannot tell it from an in-range one, so the monitor
reports separately the share of live values x with x < min or x > max ("out of range").
"""
from __future__ import annotations

import numpy as np

RULE = (
    "edges = unique interior quantiles (10%..90%, observed values) of the training rows; bin of x = number of "
    "edges strictly less than x, i.e. bins (-inf,e0], (e0,e1], ..., (e_last,+inf); fractions "
    "= share of training rows per bin (len(edges)+1 values); min/max = the range of the training rows; "
    "live values outside it (x < min or x > max) are out of range."
)


def quantile_bins(values: np.ndarray, n_bins: int = 10) -> dict:
    """{edges, fractions, min, max} of values with up to n_bins equal-mass bins (no min/max
    when values is empty)."""
    v = np.asarray(values, dtype=np.float64)
    qs = np.linspace(0, 1, n_bins + 1)[1:-1]
    # "lower" makes every edge an observed value (no 27.275000000000002-style noise).
    edges = np.unique(np.quantile(v, qs, method="lower")) if len(v) else np.empty(0)
    idx = np.searchsorted(edges, v, side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    fractions = counts / max(len(v), 1)
    out = {
        "edges": [float(e) for e in edges],
        "fractions": [round(float(f), 6) for f in fractions],
    }
    if len(v):
        out["min"] = float(v.min())
        out["max"] = float(v.max())
    return out


def reference(X: np.ndarray, feature_names: list[str] | tuple[str, ...], scores: np.ndarray) -> dict:
    """Histograms of every feature column and of the model score."""
    return {
        "rule": RULE,
        "rows": int(len(X)),
        "features": {name: quantile_bins(X[:, j]) for j, name in enumerate(feature_names)},
        "score": quantile_bins(scores),
    }
