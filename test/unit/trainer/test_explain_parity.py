"""The scorer's TypeScript explainer against the trainer's models: on a LightGBM pipeline
trained, exported and given covers exactly as train.py does, every contribution and the bias
equal LightGBM's own `pred_contrib` (TreeSHAP over the same covers); on a random forest they
add up to scikit-learn's probability. Also the reason map and the in-place manifest update.

Float32 vs float64: the ONNX graph compares float32 Scaler outputs with float32 thresholds,
LightGBM compares float64 values with float64 thresholds. models.py makes the two agree for
every float32 input (float32 scaler, thresholds snapped down to float32), so LightGBM is fed
exactly the float32 values the Scaler produces, and the rows include values lying exactly on
split thresholds, where any disagreement in the comparison would show.
"""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import export
import manifest
import reasons
from data import FEATURES
from models import FAMILIES

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "test" / "fixtures" / "explain" / "contribs.ts"
TSX = REPO / "node_modules" / ".bin" / "tsx"

pytestmark = pytest.mark.skipif(not TSX.exists(), reason="node_modules not installed (npm ci): no TypeScript side to compare")


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows shaped like the 15 features (amounts, flags, counts, rates) with a learnable label."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([
        rng.gamma(2.0, 30.0, n), rng.integers(0, 2, n), rng.integers(0, 2, n),
        *[rng.poisson(lam, n) if k % 2 == 0 else rng.gamma(2.0, 30.0, n)
          for k, lam in enumerate((2, 0, 8, 0, 30, 0))],
        *[rng.poisson(lam, n) if k % 2 == 0 else rng.beta(0.3, 12.0, n)
          for k, lam in enumerate((5, 0, 30, 0, 120, 0))],
    ]).astype(np.float64)
    logit = -5 + 0.02 * X[:, 0] + 15 * X[:, 12] + 0.8 * X[:, 2] + 0.1 * X[:, 3]
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def threshold_rows(pipe, X: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Float32 rows one of whose values the Scaler maps exactly onto a LightGBM split threshold."""
    sc = pipe.steps[0][1]
    mean, inv = sc.mean_.astype(np.float32), (1.0 / sc.scale_).astype(np.float32)
    splits = []
    for info in pipe.steps[-1][1].booster_.dump_model()["tree_info"]:
        stack = [info["tree_structure"]]
        while stack:
            node = stack.pop()
            if "split_feature" in node:
                splits.append((node["split_feature"], np.float32(node["threshold"])))
                stack += [node["left_child"], node["right_child"]]
    rng = np.random.default_rng(seed)
    rows = []
    for f, t in (splits[i] for i in rng.permutation(len(splits))):
        x0 = np.float32(t / inv[f] + mean[f])
        for step in range(-8, 9):
            x = (np.array([x0], np.float32).view(np.int32) + step).view(np.float32)[0]
            if np.float32((x - mean[f]) * inv[f]) == t:
                row = X[rng.integers(len(X))].astype(np.float32).copy()
                row[f] = x
                rows.append(row)
                break
        if len(rows) == count:
            break
    assert len(rows) >= count // 2, "too few thresholds reachable exactly"
    return np.array(rows, np.float32)


def write_case(folder: Path, pipe, rows: np.ndarray) -> dict:
    model_bytes = export.to_onnx(pipe, len(FEATURES), "explain parity test")
    man = {"name": folder.name, "version": "0.0.0-test", "features": list(FEATURES), "sha256": export.sha256(model_bytes),
           "reasons": reasons.reason_map(FEATURES)}
    covers = reasons.tree_covers(pipe, model_bytes)
    if covers is not None:
        man["tree_covers"] = covers
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(model_bytes)
    (folder / "manifest.json").write_text(json.dumps(man))
    (folder / "rows.json").write_text(json.dumps(rows.astype(np.float64).tolist()))
    return man


def explain(*folders: Path) -> dict:
    out = subprocess.run(["npx", "tsx", str(SCRIPT), *map(str, folders)], cwd=REPO, check=True,
                         capture_output=True, text=True, timeout=300)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    X, y = synthetic(6000, 1)
    X_test, _ = synthetic(300, 2)
    lgbm = FAMILIES["fraud-lgbm"].fit({"n_estimators": 60, "learning_rate": 0.1, "num_leaves": 15, "subsample": 0.8,
                                       "colsample_bytree": 0.8, "min_child_samples": 10}, 0, 1, X, y)
    rf = FAMILIES["fraud-rf"].fit({"n_estimators": 15, "max_depth": 8}, 0, 1, X, y)
    lr = FAMILIES["fraud-lr"].fit({"C": 1.0}, 0, 1, X, y)
    rows = np.vstack([X_test.astype(np.float32), threshold_rows(lgbm, X, 120, 3), np.zeros((1, 15), np.float32)])
    root = tmp_path_factory.mktemp("explain")
    dirs = {name: root / name for name in ("lgbm", "rf", "lr")}
    mans = {name: write_case(dirs[name], pipe, rows) for name, pipe in (("lgbm", lgbm), ("rf", rf), ("lr", lr))}
    got = explain(*dirs.values())
    return {"rows": rows, "pipes": {"lgbm": lgbm, "rf": rf, "lr": lr}, "manifests": mans,
            "got": {name: got[str(d)] for name, d in dirs.items()}, "dirs": dirs}


def test_lightgbm_contributions_equal_pred_contrib(cases):
    got, pipe, rows = cases["got"]["lgbm"], cases["pipes"]["lgbm"], cases["rows"]
    assert got["method"] == "tree-shap" and got["link"] == "logistic"
    scaled = pipe.steps[0][1].transform(rows).astype(np.float64)  # the Scaler node's float32 values
    booster = pipe.steps[-1][1].booster_
    ref = booster.predict(scaled, pred_contrib=True)  # 15 contributions, then the expected value
    np.testing.assert_allclose(np.array(got["contributions"]), ref[:, :15], rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.array(got["bias"]), ref[:, 15], rtol=0, atol=1e-6)
    # What remains (~1e-7) is the ONNX graph keeping leaf values in float32, LightGBM in float64.
    raw = booster.predict(scaled, raw_score=True)
    np.testing.assert_allclose(np.array(got["margin"]), raw, rtol=0, atol=1e-6)


def test_forest_contributions_add_up_to_the_probability(cases):
    got, pipe, rows = cases["got"]["rf"], cases["pipes"]["rf"], cases["rows"]
    assert got["method"] == "tree-shap" and got["link"] == "identity"
    total = np.array(got["bias"]) + np.array(got["contributions"]).sum(axis=1)
    np.testing.assert_allclose(total, pipe.predict_proba(rows)[:, 1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(total, np.array(got["margin"]), rtol=0, atol=1e-9)


def test_linear_contributions_are_coefficient_times_standardised_input(cases):
    got, pipe, rows = cases["got"]["lr"], cases["pipes"]["lr"], cases["rows"]
    assert got["method"] == "linear" and "tree_covers" not in cases["manifests"]["lr"]
    clf = pipe.steps[-1][1]
    z = pipe.steps[0][1].transform(rows).astype(np.float64)
    np.testing.assert_allclose(np.array(got["contributions"]), z * clf.coef_[0].astype(np.float32), rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.array(got["bias"]), np.float32(clf.intercept_[0]), rtol=0, atol=1e-7)


def test_top_reasons_use_the_manifest_codes(cases):
    got = cases["got"]["lgbm"]
    codes = {r["code"] for r in reasons.reason_map(FEATURES).values()}
    assert any(got["top"]) and all(set(t) <= codes for t in got["top"])
    for contrib, top in zip(got["contributions"], got["top"]):
        order = sorted((i for i, c in enumerate(contrib) if c > 0), key=lambda i: (-contrib[i], i))[:3]
        assert top == [reasons.reason_map(FEATURES)[FEATURES[i]]["code"] for i in order]


def test_reason_map_names_every_reference_feature_once():
    m = reasons.reason_map(FEATURES)
    assert list(m) == list(FEATURES)
    codes = [r["code"] for r in m.values()]
    assert len(set(codes)) == len(codes) and not any(c.startswith("FEATURE_") for c in codes)
    assert all(r["text"].endswith("raised the risk") for r in m.values())
    assert m["TERMINAL_ID_RISK_7DAY_WINDOW"] == {
        "code": "TERMINAL_FRAUD_RATE_7D",
        "text": "The terminal's share of fraud over the last 7 days (as known a week later) raised the risk"}
    assert reasons.reason_for("newFeature (x)") == {"code": "FEATURE_NEW_FEATURE_X", "text": "newFeature (x) raised the risk"}


def test_covers_follow_the_onnx_node_order_and_add_up(cases):
    covers = cases["manifests"]["lgbm"]["tree_covers"]
    info = cases["pipes"]["lgbm"].steps[-1][1].booster_.dump_model()["tree_info"]
    assert len(covers["trees"]) == len(info)
    first = [float(c) for c in covers["trees"][0].split()]
    assert first[0] == info[0]["tree_structure"]["internal_count"]  # onnxmltools numbers the root 0
    assert len(first) == 2 * info[0]["num_leaves"] - 1


def test_update_explanations_changes_only_its_blocks(cases, tmp_path):
    src = cases["dirs"]["lgbm"]
    folder = tmp_path / "artifact"
    shutil.copytree(src, folder)
    man = json.loads((folder / "manifest.json").read_text())
    stripped = {k: v for k, v in man.items() if k not in ("reasons", "tree_covers")} | {"feature_set_version": "x", "z": 1}
    (folder / "manifest.json").write_text(json.dumps(stripped))
    onnx_before = (folder / "model.onnx").read_bytes()
    new = manifest.update_explanations(folder, man["reasons"], man["tree_covers"])
    assert list(new) == ["name", "version", "features", "sha256", "feature_set_version", "reasons", "z", "tree_covers"]
    assert json.loads((folder / "manifest.json").read_text()) == new
    assert (folder / "model.onnx").read_bytes() == onnx_before
    again = manifest.update_explanations(folder, {"TX_AMOUNT": {"code": "X", "text": "y"}}, None)  # covers kept
    assert again["tree_covers"] == man["tree_covers"] and again["reasons"] == {"TX_AMOUNT": {"code": "X", "text": "y"}}
    with pytest.raises(AssertionError, match="other ONNX bytes"):
        manifest.update_explanations(folder, man["reasons"], man["tree_covers"] | {"onnx_sha256": "0" * 64})
