"""Training ranges (`min`/`max`) of the reference histograms: histograms.quantile_bins, the
ranges shipped in models/*/1.0.0, and reference_ranges.py (in place, verified, refusing).

reference_ranges.py is exercised on synthetic artifacts (train.py --quick on the synthetic CSV):
on the shipped artifacts it needs features-seed42.csv (230 MB, ~10 s to load, not always
present), so for those the tests check the written manifests as files."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import export
import histograms
import reference_ranges
import train
from histograms import quantile_bins

REPO = Path(__file__).resolve().parents[3]
SHIPPED = ["fraud-lgbm", "fraud-lr", "fraud-rf"]
VERSION = "0.0.3-test"
# The rule text before ranges existed (what pre-range artifacts carry).
OLD_RULE = (
    "edges = unique interior quantiles (10%..90%, observed values) of the training rows; bin of x = number of "
    "edges strictly less than x, i.e. bins (-inf,e0], (e0,e1], ..., (e_last,+inf); fractions "
    "= share of training rows per bin (len(edges)+1 values)."
)


def _bins_before_ranges(values, n_bins=10):
    """quantile_bins as it was before min/max (copied): edges and fractions must not move."""
    v = np.asarray(values, dtype=np.float64)
    qs = np.linspace(0, 1, n_bins + 1)[1:-1]
    edges = np.unique(np.quantile(v, qs, method="lower")) if len(v) else np.empty(0)
    idx = np.searchsorted(edges, v, side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    fractions = counts / max(len(v), 1)
    return {"edges": [float(e) for e in edges], "fractions": [round(float(f), 6) for f in fractions]}


def _histograms(man: dict):
    """(label, histogram) for every feature and the score."""
    ref = man["reference_histograms"]
    return [(f, h) for f, h in ref["features"].items()] + [("score", ref["score"])]


def _strip_ranges(man: dict) -> dict:
    """A manifest as written before ranges existed: no min/max, the old rule text."""
    ref = dict(man["reference_histograms"])
    drop = lambda h: {k: v for k, v in h.items() if k not in ("min", "max")}  # noqa: E731
    ref["features"] = {f: drop(h) for f, h in ref["features"].items()}
    ref["score"] = drop(ref["score"])
    ref["rule"] = ref["binning"] = OLD_RULE
    return man | {"reference_histograms": ref}


def _dump(man: dict) -> str:
    return json.dumps(man, indent=2) + "\n"


@pytest.mark.parametrize("values", [
    np.random.default_rng(0).gamma(2.0, 25.0, 5000).round(2),        # continuous, some ties
    np.random.default_rng(1).integers(0, 4, 3000).astype(float),     # few distinct values
    np.random.default_rng(2).random(777).astype(np.float32),         # float32 scores
    np.r_[np.zeros(900), np.random.default_rng(3).beta(0.3, 12.0, 100)],  # mostly zero risks
    np.array([42.0]),
])
def test_quantile_bins_adds_the_range_and_keeps_the_bins(values):
    h = quantile_bins(values)
    assert list(h) == ["edges", "fractions", "min", "max"]
    assert {k: h[k] for k in ("edges", "fractions")} == _bins_before_ranges(values)
    assert h["min"] == float(np.min(values)) and h["max"] == float(np.max(values))
    assert type(h["min"]) is float and type(h["max"]) is float  # JSON-ready
    assert h["min"] <= h["edges"][0] and h["max"] >= h["edges"][-1]


def test_quantile_bins_without_values_has_no_range():
    h = quantile_bins(np.empty(0))
    assert h == {"edges": [], "fractions": [0.0]}


def test_reference_and_rule_carry_the_range():
    rng = np.random.default_rng(4)
    X, s = rng.normal(size=(500, 2)), rng.random(500).astype(np.float32)
    ref = histograms.reference(X, ["a", "b"], s)
    assert ref["features"]["b"]["min"] == X[:, 1].min() and ref["features"]["b"]["max"] == X[:, 1].max()
    assert ref["score"]["min"] == float(s.min()) and ref["score"]["max"] == float(s.max())
    assert "min/max" in histograms.RULE and "out of range" in histograms.RULE


# --- the shipped artifacts (models/*/1.0.0), ranges added by reference_ranges.py on features-seed42.csv

@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_manifests_carry_ranges(name):
    folder = REPO / "models" / name / "1.0.0"
    man = json.loads((folder / "manifest.json").read_text())
    assert man["sha256"] == export.sha256((folder / "model.onnx").read_bytes())
    ref = man["reference_histograms"]
    assert ref["rule"] == ref["binning"] == histograms.RULE
    assert set(ref["features"]) == set(man["features"])
    for label, h in _histograms(man):
        assert list(h) == ["edges", "fractions", "min", "max"], label
        assert h["min"] <= h["max"], label
        assert h["edges"] and h["min"] <= h["edges"][0] and h["max"] >= h["edges"][-1], label
        # edges are observed values: the last bin (e_last, +inf) is empty exactly when max is e_last
        assert (h["fractions"][-1] == 0) == (h["max"] == h["edges"][-1]), label
    assert 0 <= ref["score"]["min"] and ref["score"]["max"] <= 1


# --- reference_ranges.py on synthetic artifacts

@pytest.fixture(scope="module")
def ranged_models(features_csv, tmp_path_factory):
    """Artifacts trained with ranges (train.py), and their manifests as bytes."""
    models = tmp_path_factory.mktemp("range-models")
    assert train.main(["--features", str(features_csv), "--models-dir", str(models), "--quick",
                       "--version", VERSION, "--no-default"]) == 0
    return models, {n: (models / n / VERSION / "manifest.json").read_text() for n in SHIPPED}


@pytest.fixture
def old_models(ranged_models, tmp_path):
    """A copy of the artifacts with manifests as written before ranges existed."""
    models = tmp_path / "models"
    shutil.copytree(ranged_models[0], models)
    for n in SHIPPED:
        path = models / n / VERSION / "manifest.json"
        path.write_text(_dump(_strip_ranges(json.loads(path.read_text()))))
    return models


def _run(models, features_csv, *extra):
    return reference_ranges.main(["--models-dir", str(models), "--features", str(features_csv),
                                  "--version", VERSION, *extra])


def test_train_writes_ranges_and_rule(ranged_models):
    for n, text in ranged_models[1].items():
        man = json.loads(text)
        assert man["reference_histograms"]["binning"] == histograms.RULE
        for label, h in _histograms(man):
            assert h["min"] <= h["max"] and h["min"] <= h["edges"][0] and h["max"] >= h["edges"][-1], (n, label)


def test_script_adds_exactly_what_train_writes(ranged_models, old_models, features_csv):
    """On pre-range manifests the script writes, byte for byte, the manifests train.py now
    writes (same rows, same ONNX scores); model.onnx untouched; a second run changes nothing."""
    onnx_before = {n: (old_models / n / VERSION / "model.onnx").read_bytes() for n in SHIPPED}
    assert _run(old_models, features_csv) == 0
    for n in SHIPPED:
        folder = old_models / n / VERSION
        assert (folder / "manifest.json").read_text() == ranged_models[1][n], n
        assert (folder / "model.onnx").read_bytes() == onnx_before[n]
        assert not list(folder.glob("*.tmp"))
    first = {n: (old_models / n / VERSION / "manifest.json").read_bytes() for n in SHIPPED}
    assert _run(old_models, features_csv) == 0
    assert {n: (old_models / n / VERSION / "manifest.json").read_bytes() for n in SHIPPED} == first


@pytest.mark.parametrize("where,key", [
    ("TERMINAL_ID_RISK_7DAY_WINDOW", "edges"),
    ("TX_AMOUNT", "fractions"),
    ("score", "edges"),
])
def test_script_refuses_tampered_histograms(old_models, features_csv, capsys, where, key):
    path = old_models / "fraud-lr" / VERSION / "manifest.json"
    man = json.loads(path.read_text())
    ref = man["reference_histograms"]
    h = ref["score"] if where == "score" else ref["features"][where]
    h[key][0] = float(np.nextafter(h[key][0], np.inf))  # the smallest possible change
    path.write_text(_dump(man))
    before = path.read_bytes()

    assert _run(old_models, features_csv, "--name", "fraud-lr") == 1
    err = capsys.readouterr().err
    assert "fraud-lr" in err and "NOT updated" in err and f"recomputed {key} differ" in err
    assert (f"feature {where}" if where != "score" else "the score") in err
    assert path.read_bytes() == before


def test_script_refuses_other_data(old_models, tmp_path, capsys):
    from synthetic import write_features_csv

    other = write_features_csv(tmp_path / "features-seed8.csv", seed=8)
    path = old_models / "fraud-rf" / VERSION / "manifest.json"
    before = path.read_bytes()
    assert _run(old_models, other, "--name", "fraud-rf") == 1
    err = capsys.readouterr().err
    assert "fraud-rf: NOT updated" in err and "not this CSV" in err
    assert path.read_bytes() == before
