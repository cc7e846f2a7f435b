"""Converts a fitted Pipeline (StandardScaler + classifier) to ONNX with the scorer's contract.

Contract (the TypeScript scorer relies on it): one input `features`, float32 [N, 15];
output `probabilities`, float32 [N, 2] with column 1 = P(fraud), a plain tensor (ZipMap off,
which would otherwise turn it into a list of maps). A second output `label` exists and is
ignored. Opsets are pinned (ai.onnx 17, ai.onnx.ml 3) so onnxruntime-node 1.30 loads them.

Why a parity check: tree ensembles in ai.onnx.ml 3 keep thresholds as float32 and the
Scaler node computes in float32, while scikit-learn works in float64, so a value lying
between the float32 and float64 threshold can take the other branch (with a plain
StandardScaler, a random forest's score moved by up to 0.1 on a few rows). models.py
removes both causes (float32 scaler, snapped thresholds); the check reports the largest
difference so a remaining flip is seen, not assumed away.
"""
from __future__ import annotations

import hashlib

import numpy as np
import onnx
import onnxruntime as ort
from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
from lightgbm import LGBMClassifier
from skl2onnx import convert_sklearn, update_registered_converter
from skl2onnx.common.data_types import FloatTensorType
from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
from skl2onnx.operator_converters.scaler_op import convert_sklearn_scaler
from skl2onnx.shape_calculators.scaler import calculate_sklearn_scaler_output_shapes
from sklearn.pipeline import Pipeline

from models import Float32StandardScaler

INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
FRAUD_COLUMN = 1
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}

# LightGBM is not a scikit-learn estimator skl2onnx knows; onnxmltools supplies the
# converter so the whole Pipeline (scaler included) converts in one graph.
update_registered_converter(
    LGBMClassifier,
    "LightGbmLGBMClassifier",
    calculate_linear_classifier_output_shapes,
    convert_lightgbm,
    options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
)
# The float32 scaler converts exactly like StandardScaler: one Scaler node.
update_registered_converter(
    Float32StandardScaler,
    "Float32StandardScaler",
    calculate_sklearn_scaler_output_shapes,
    convert_sklearn_scaler,
    options={"div": ["std"]},  # "std" = the Scaler node, whose arithmetic the class mirrors
)


def to_onnx(pipe: Pipeline, n_features: int, doc: str = "", graph_name: str = "fraudscore") -> bytes:
    """Serialized ONNX model of the fitted pipeline, satisfying the contract above.

    The graph name is fixed (skl2onnx would draw a random one) so that the same fitted model
    always gives the same bytes, hence the same sha256."""
    clf = pipe.steps[-1][1]
    model = convert_sklearn(
        pipe,
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        options={id(clf): {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    outputs = [o.name for o in model.graph.output]
    if OUTPUT_NAME not in outputs:
        raise RuntimeError(f"converter produced outputs {outputs}, no '{OUTPUT_NAME}'")
    model.doc_string = doc
    model.graph.name = graph_name
    onnx.checker.check_model(model)
    return model.SerializeToString()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def session(model_bytes: bytes) -> ort.InferenceSession:
    """Single-threaded CPU session: deterministic and like one scorer worker."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def onnx_scores(sess: ort.InferenceSession, X: np.ndarray, batch: int = 65536) -> np.ndarray:
    """P(fraud) from the ONNX model, as float32, for float64 or float32 input rows."""
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    out = [
        sess.run([OUTPUT_NAME], {INPUT_NAME: X32[i : i + batch]})[0][:, FRAUD_COLUMN]
        for i in range(0, len(X32), batch)
    ]
    return np.concatenate(out) if out else np.empty(0, dtype=np.float32)


def check_contract(sess: ort.InferenceSession, n_features: int) -> None:
    """Fails unless the session has the input/output names, types and shapes the scorer expects."""
    (inp,) = sess.get_inputs()
    if inp.name != INPUT_NAME or inp.type != "tensor(float)" or inp.shape[1] != n_features:
        raise RuntimeError(f"bad input {inp.name} {inp.type} {inp.shape}")
    out = {o.name: o for o in sess.get_outputs()}
    if OUTPUT_NAME not in out or out[OUTPUT_NAME].type != "tensor(float)":
        raise RuntimeError(f"bad outputs {[(o.name, o.type) for o in out.values()]}")
    probe = sess.run([OUTPUT_NAME], {INPUT_NAME: np.zeros((3, n_features), np.float32)})[0]
    if probe.shape != (3, 2) or probe.dtype != np.float32:
        raise RuntimeError(f"'{OUTPUT_NAME}' is {probe.dtype}{probe.shape}, expected float32 [N, 2]")


def parity(pipe: Pipeline, sess: ort.InferenceSession, X: np.ndarray) -> dict:
    """Max/mean |sklearn(float64) - onnx(float32)| over P(fraud), and how many rows differ > 1e-4."""
    ref = pipe.predict_proba(X)[:, FRAUD_COLUMN]
    got = onnx_scores(sess, X).astype(np.float64)
    diff = np.abs(ref - got)
    return {
        "rows": int(len(X)),
        "max_abs_diff": float(diff.max()) if len(diff) else 0.0,
        "mean_abs_diff": float(diff.mean()) if len(diff) else 0.0,
        "rows_over_1e-4": int((diff > 1e-4).sum()),
    }
