"""ONNX export: contract (names, dtypes, shapes), scaler in the graph, parity with sklearn."""
import numpy as np
import onnx
import pytest

import export
from data import FEATURES, load_features_csv
from models import FAMILIES, QUICK_GRID, Float32StandardScaler, snap_thresholds_to_float32
from protocol import Split, split_masks


@pytest.fixture(scope="module")
def train_test(features_csv):
    ds = load_features_csv(features_csv, verbose=False)
    train, test = split_masks(ds, Split.from_iso("t", "2018-07-25"))
    return ds.subset(train), ds.subset(test)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_contract_and_parity(name, train_test):
    tr, te = train_test
    fam = FAMILIES[name]
    pipe = fam.fit(QUICK_GRID[name][0], 0, 1, tr.X, tr.fraud)
    model_bytes = export.to_onnx(pipe, len(FEATURES))
    model = onnx.load_from_string(model_bytes)
    assert [i.name for i in model.graph.input] == ["features"]
    assert "probabilities" in [o.name for o in model.graph.output]
    assert "Scaler" in [n.op_type for n in model.graph.node]  # standardisation inside the graph
    assert "ZipMap" not in [n.op_type for n in model.graph.node]
    sess = export.session(model_bytes)
    export.check_contract(sess, len(FEATURES))
    out = sess.run(["probabilities"], {"features": te.X.astype(np.float32)})[0]
    assert out.dtype == np.float32 and out.shape == (len(te), 2)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    p = export.parity(pipe, sess, np.vstack([tr.X, te.X]))
    assert p["max_abs_diff"] < 1e-5, p
    assert export.to_onnx(pipe, len(FEATURES)) == model_bytes  # same model, same bytes (sha256)


def test_float32_scaler_matches_onnx_scaler():
    rng = np.random.default_rng(1)
    X = rng.lognormal(3, 1, size=(2000, 15))
    sc = Float32StandardScaler().fit(X)
    Z = sc.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-4)
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    m = convert_sklearn(sc, initial_types=[("features", FloatTensorType([None, 15]))], target_opset=export.TARGET_OPSET)
    got = export.session(m.SerializeToString()).run(None, {"features": X.astype(np.float32)})[0]
    np.testing.assert_array_equal(got, Z)  # bit for bit


@pytest.mark.parametrize("name", ["fraud-rf", "fraud-lgbm"])
def test_snapped_thresholds_are_float32_and_change_nothing(name, train_test):
    tr, te = train_test
    pipe = FAMILIES[name].pipeline(QUICK_GRID[name][0], 0, 1).fit(tr.X, tr.fraud)
    before = pipe.predict_proba(te.X)
    snap_thresholds_to_float32(pipe)
    np.testing.assert_array_equal(pipe.predict_proba(te.X), before)
    clf = pipe.steps[-1][1]
    if name == "fraud-rf":
        t = np.concatenate([e.tree_.threshold[e.tree_.children_left != -1] for e in clf.estimators_])
    else:
        trees = clf.booster_.dump_model()["tree_info"]
        t, stack = [], [tr["tree_structure"] for tr in trees]
        while stack:
            node = stack.pop()
            if "threshold" in node:
                t.append(node["threshold"])
                stack += [node["left_child"], node["right_child"]]
        t = np.array(t)
    assert len(t) > 0
    np.testing.assert_array_equal(t.astype(np.float32).astype(np.float64), t)
