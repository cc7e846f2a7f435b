"""Threshold rule and reference-histogram binning."""
import numpy as np

import thresholds
from histograms import quantile_bins


def test_thresholds_meet_precision_targets():
    rng = np.random.default_rng(0)
    y = (rng.random(20000) < 0.02).astype(int)
    scores = np.clip(rng.normal(0.2 + 0.5 * y, 0.15), 0, 1)
    t = thresholds.choose(y, scores)
    assert t["met_target"] == {"review": True, "block": True}
    assert t["review"] <= t["block"]
    assert t["validation"]["block"]["precision"] >= 0.8
    assert t["validation"]["review"]["precision"] >= 0.3
    assert t["validation"]["review"]["recall"] > t["validation"]["block"]["recall"]
    # lowest such score: one step lower falls under the target
    below = scores[scores < t["block"]].max()
    assert thresholds.at_threshold(y, scores, below)["precision"] < 0.8 or below < t["review"]


def test_thresholds_fall_back_when_target_unreachable():
    y = np.array([0, 1] * 50)
    scores = np.linspace(0, 1, 100)  # precision ~0.5 everywhere
    t = thresholds.choose(y, scores)
    assert t["met_target"]["block"] is False
    assert t["review"] <= t["block"]


def test_quantile_bins_rule():
    v = np.arange(1, 101, dtype=float)
    h = quantile_bins(v)
    assert h["edges"] == [10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert h["fractions"] == [0.1] * 10  # (-inf,10], (10,20], ..., (90,+inf)
    flags = quantile_bins(np.array([0.0] * 70 + [1.0] * 30))
    assert flags["edges"] == [0.0, 1.0] and flags["fractions"] == [0.7, 0.3, 0.0]
