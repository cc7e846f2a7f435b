"""End to end on synthetic data: train.py writes artifacts, predict.py scores with them."""
import json
import subprocess
import sys

import numpy as np
import pytest

import export
import predict
import train
from data import FEATURE_SET_VERSION, FEATURES, load_features_csv

TRAINER = train.Path(train.__file__).parent


@pytest.fixture(scope="module")
def trained(features_csv, tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    report = models / "report.json"
    rc = train.main(["--features", str(features_csv), "--models-dir", str(models), "--quick",
                     "--version", "0.0.1-test", "--report", str(report)])
    assert rc == 0
    return models, json.loads(report.read_text())


def test_writes_three_artifacts_and_default(trained):
    models, report = trained
    names = sorted(p.name for p in models.iterdir() if p.is_dir())
    assert names == ["fraud-lgbm", "fraud-lr", "fraud-rf"]
    default = json.loads((models / "default.json").read_text())
    assert default == report["default"] and default["version"] == "0.0.1-test"
    best = max(report["models"], key=lambda r: r["validation"]["average_precision"])
    assert default["name"] == best["name"]


@pytest.mark.parametrize("name", ["fraud-lr", "fraud-rf", "fraud-lgbm"])
def test_manifest_contents(trained, name):
    models, _ = trained
    folder = models / name / "0.0.1-test"
    man = json.loads((folder / "manifest.json").read_text())
    assert man["sha256"] == export.sha256((folder / "model.onnx").read_bytes())
    assert man["features"] == list(FEATURES) and man["feature_set_version"] == FEATURE_SET_VERSION
    assert man["input_name"] == "features" and man["output_name"] == "probabilities"
    assert man["onnx_opset"] == {"ai.onnx": 17, "ai.onnx.ml": 3}
    assert man["training_data"]["simulation_seed"] == 7  # from "features-seed7.csv"
    assert man["training_data"]["train"] == ["2018-07-25", "2018-07-31"]
    assert set(man["metrics"]) == {"validation", "test"}
    for split in ("validation", "test"):
        assert {"auc_roc", "average_precision", "cp100"} <= set(man["metrics"][split])
    assert 0 <= man["thresholds"]["review"] <= man["thresholds"]["block"] <= 1
    assert "validation" in man["threshold_rule"]
    hist = man["reference_histograms"]
    assert set(hist["features"]) == set(FEATURES)
    for h in list(hist["features"].values()) + [hist["score"]]:
        assert len(h["fractions"]) == len(h["edges"]) + 1
        assert abs(sum(h["fractions"]) - 1) < 1e-4
    assert man["parity"]["max_abs_diff"] < 1e-5


def test_artifacts_are_immutable(trained, features_csv):
    models, _ = trained
    with pytest.raises(SystemExit, match="immutable"):
        train.main(["--features", str(features_csv), "--models-dir", str(models), "--quick",
                    "--version", "0.0.1-test", "--families", "fraud-lr"])


def test_predict_cli_matches_onnx_session(trained, features_csv, tmp_path):
    models, _ = trained
    out = tmp_path / "scores.csv"
    subprocess.run([sys.executable, str(TRAINER / "predict.py"), "--model", str(models),
                    "--input", str(features_csv), "--output", str(out)], check=True)
    lines = out.read_text().splitlines()
    assert lines[0] == "TRANSACTION_ID,SCORE"
    ds = load_features_csv(features_csv, verbose=False)
    assert [l.split(",")[0] for l in lines[1:4]] == list(ds.tx_id[:3])
    written = np.array([float(l.split(",")[1]) for l in lines[1:]])
    _, sess = predict.load(models)  # default.json
    direct = export.onnx_scores(sess, ds.X)
    np.testing.assert_array_equal(written.astype(np.float32), direct)  # 9 digits round-trip float32


def test_predict_refuses_tampered_model(trained, tmp_path):
    models, _ = trained
    src = models / "fraud-lr" / "0.0.1-test"
    dst = tmp_path / "lr"
    dst.mkdir()
    (dst / "manifest.json").write_text((src / "manifest.json").read_text())
    (dst / "model.onnx").write_bytes((src / "model.onnx").read_bytes() + b"\0")
    with pytest.raises(predict.ArtifactError, match="sha256"):
        predict.load(dst)
