"""CBPE reference implementation: exact identities, and estimates vs realized metrics when the
labels really are Bernoulli(p) draws of the calibrated probabilities."""
import itertools

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

import cbpe


def _world(rng, n: int, shift: float, decimals: int | None = None):
    """Raw scores (fraud-like: most near 0) and calibrated p, a monotone function of the score."""
    s = rng.beta(0.5, 8.0, n)
    if decimals is not None:
        s = np.round(s, decimals)  # many ties, as trees give
    p = 1.0 / (1.0 + np.exp(-(12.0 * s - shift)))
    return s, p


def _realized_mean(rng, s, p, t, draws) -> dict:
    """Mean and standard error (over label draws) of the realized AP, and precision and
    recall at score >= t."""
    got = {"ap": [], "precision": [], "recall": []}
    f = s >= t
    for _ in range(draws):
        y = (rng.random(len(p)) < p).astype(int)
        if y.sum() == 0:
            continue
        got["ap"].append(average_precision_score(y, s))
        got["recall"].append(y[f].sum() / y.sum())
        if f.any():
            got["precision"].append(y[f].mean())
    return {k: (float(np.mean(v)), float(np.std(v) / np.sqrt(len(v)))) if v else (np.nan, np.nan)
            for k, v in got.items()}


def _close(estimate, mean_se, floor=0.005):
    """Within 4 standard errors of the Monte Carlo mean (and at least `floor`)."""
    mean, se = mean_se
    return abs(estimate - mean) <= max(floor, 4 * se)


def test_expected_confusion_adds_up():
    rng = np.random.default_rng(0)
    s, p = _world(rng, 3000, 5)
    t = float(np.quantile(s, 0.97))
    c = cbpe.expected_confusion(p, s, t)
    assert c["tp"] + c["fn"] == pytest.approx(p.sum())
    assert c["tp"] + c["fp"] == pytest.approx(c["flagged"]) and c["flagged"] == int((s >= t).sum())
    assert c["tp"] + c["fp"] + c["fn"] + c["tn"] == pytest.approx(3000)
    precision, recall = cbpe.precision_recall(p, s, t)
    assert precision == pytest.approx(p[s >= t].mean())
    assert recall == pytest.approx(p[s >= t].sum() / p.sum())


def test_certain_labels_give_the_realized_metrics_exactly():
    """p in {0, 1}: the labels are known, so every estimate must equal the realized value,
    ties included (scikit-learn groups equal scores; so does the estimate)."""
    rng = np.random.default_rng(1)
    s = np.round(rng.random(500), 1)  # 11 distinct scores: heavy ties
    y = (rng.random(500) < 0.2 + 0.6 * s).astype(int)
    est = cbpe.estimate(y.astype(float), s, {"review": 0.5, "block": 0.8})
    real = cbpe.realized(y, s, {"review": 0.5, "block": 0.8})
    assert est["average_precision"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert real["average_precision"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
    for k in ("review", "block"):
        assert est[k]["precision"] == pytest.approx(real[k]["precision"], abs=1e-12)
        assert est[k]["recall"] == pytest.approx(real[k]["recall"], abs=1e-12)
        assert (est[k]["tp"], est[k]["fp"], est[k]["fn"]) == pytest.approx((real[k]["tp"], real[k]["fp"], real[k]["fn"]))


def test_ap_numerator_is_the_exact_expectation():
    """AP_est * sum(p) = E[AP * P] (P = number of positives) exactly: enumerate every label
    vector of a small window with ties and weigh by its probability."""
    s = np.array([0.9, 0.7, 0.7, 0.7, 0.4, 0.4, 0.1, 0.05])
    p = np.array([0.8, 0.5, 0.3, 0.6, 0.2, 0.35, 0.1, 0.02])
    expected = 0.0
    for labels in itertools.product((0, 1), repeat=len(p)):
        y = np.array(labels)
        if y.sum() == 0:
            continue
        weight = np.prod(np.where(y == 1, p, 1 - p))
        expected += weight * average_precision_score(y, s) * y.sum()
    assert cbpe.average_precision(p, s) * p.sum() == pytest.approx(expected, rel=1e-12)


def test_ap_estimate_ignores_the_order_of_ties():
    rng = np.random.default_rng(2)
    s, p = _world(rng, 2000, 5, decimals=2)
    perm = rng.permutation(len(s))
    assert cbpe.average_precision(p[perm], s[perm]) == pytest.approx(cbpe.average_precision(p, s), abs=1e-12)


@pytest.mark.parametrize("n,shift,decimals", [(5000, 5.0, None), (2000, 4.0, 2)])
def test_estimates_match_realized_on_average(n, shift, decimals):
    """Labels drawn as Bernoulli(p): the estimates are within tolerance of the realized
    metrics averaged over many draws (ties included in the second case)."""
    rng = np.random.default_rng(3)
    s, p = _world(rng, n, shift, decimals)
    thresholds = {"review": float(np.quantile(s, 0.95)), "block": float(np.quantile(s, 0.99))}
    est = cbpe.estimate(p, s, thresholds)
    for name, t in thresholds.items():
        real = _realized_mean(rng, s, p, t, draws=300)
        assert _close(est[name]["precision"], real["precision"]), (name, est[name], real)
        assert _close(est[name]["recall"], real["recall"]), (name, est[name], real)
        assert _close(est["average_precision"], real["ap"]), (est, real)
        assert real["ap"][1] < 0.005 and real["precision"][1] < 0.01  # the check has teeth


def test_small_window_ap_beats_nannyml_formula():
    """About a dozen expected positives (a quiet day): NannyML's formula is biased low
    (it does not condition the precision at a positive's rank on that row being positive);
    the estimate used here is not."""
    rng = np.random.default_rng(4)
    s, p = _world(rng, 1000, 6.0)
    assert 5 < p.sum() < 20
    ap, ap_se = _realized_mean(rng, s, p, 0.5, draws=800)["ap"]
    ours, nml = cbpe.average_precision(p, s), cbpe.average_precision_nannyml(p, s)
    assert abs(ours - ap) < max(0.01, 4 * ap_se)
    assert nml < ap - 0.04  # visibly biased (about -0.07 here)
    assert abs(ours - ap) < abs(nml - ap)


def test_nannyml_formula_agrees_on_large_windows():
    """On a large window the two formulas differ by sum p(1-p)/k / sum p, a small amount."""
    rng = np.random.default_rng(5)
    s, p = _world(rng, 50000, 5.0)
    assert cbpe.average_precision_nannyml(p, s) == pytest.approx(cbpe.average_precision(p, s), abs=0.01)


def test_undefined_cases_are_nan_and_bad_input_refused():
    s = np.array([0.1, 0.2])
    assert np.isnan(cbpe.average_precision(np.zeros(2), s))
    precision, recall = cbpe.precision_recall(np.array([0.1, 0.2]), s, 0.5)  # nothing flagged
    assert np.isnan(precision) and recall == 0.0
    with pytest.raises(ValueError):
        cbpe.average_precision(np.array([0.5, 1.5]), s)
    with pytest.raises(ValueError):
        cbpe.average_precision(np.array([0.5]), s)
