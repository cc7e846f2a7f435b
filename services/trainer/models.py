"""Model families and their small hyper-parameter grids.

Every model is a scikit-learn Pipeline (StandardScaler fitted on the training rows, then the
classifier), so the exported ONNX graph carries the standardisation and the scorer feeds raw
features. Two details make the Python model and its ONNX export agree bit for bit on the
tree paths (see export.py for why they otherwise drift apart): the scaler transforms in
float32 exactly as the ONNX Scaler node does, and tree thresholds are snapped down to
float32 after fitting, which changes no decision for float32 inputs.

Grids are deliberately small: each candidate is fitted on the validation split's
training week (~68 k rows), and the winner (by validation Average Precision) is refitted on
the handbook training week. Tree depths stay <= 12 so the ONNX ensembles remain fast at
batch 1 in onnxruntime-node (the handbook's unbounded-depth forest is far larger).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import lightgbm as lgb
from lightgbm import LGBMClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

# LightGBM records generic column names (Column_0...), so sklearn warns on every numpy predict.
warnings.filterwarnings("ignore", message="X does not have valid feature names")


class Float32StandardScaler(StandardScaler):
    """StandardScaler fitted as usual (float64 statistics) whose transform computes
    float32((float32(x) - float32(mean)) * float32(1 / std)): the ONNX Scaler node's
    arithmetic. The model is thus trained on the very values the deployed graph produces."""

    def transform(self, X, copy=None):
        check_is_fitted(self)
        X32 = np.asarray(X, dtype=np.float32)
        return (X32 - self.mean_.astype(np.float32)) * (1.0 / self.scale_).astype(np.float32)


def _floor32(t: np.ndarray) -> np.ndarray:
    """Largest float32 <= t, elementwise (as float64)."""
    f = np.asarray(t, dtype=np.float64).astype(np.float32)
    up = f.astype(np.float64) > t
    f[up] = np.nextafter(f[up], np.float32(-np.inf))
    return f.astype(np.float64)


def snap_thresholds_to_float32(pipe: Pipeline) -> Pipeline:
    """Replaces each split threshold t of a fitted forest or LightGBM model by the largest
    float32 <= t.

    Trees see float32 inputs, and for a float32 x, x <= t exactly when x <= that float32, so
    the model's predictions do not change; but ONNX stores thresholds as float32 and would
    otherwise round some of them up, sending values equal to the rounded threshold left."""
    clf = pipe.steps[-1][1]
    if isinstance(clf, LGBMClassifier):
        _snap_lightgbm(clf)
    for est in getattr(clf, "estimators_", []):
        tree = getattr(est, "tree_", None)
        if tree is None:
            continue
        internal = tree.children_left != -1
        t = tree.threshold  # a writable view into the tree's nodes
        t[internal] = _floor32(t[internal])
    return pipe


def _snap_lightgbm(clf: LGBMClassifier) -> None:
    """Rewrites the booster's `threshold=` lines (numerical splits only) and reloads it.
    The `tree_sizes=` index (byte offsets of each tree) is dropped since the edit changes
    them; LightGBM then parses the trees one after another."""
    lines = [ln for ln in clf.booster_.model_to_string().split("\n") if not ln.startswith("tree_sizes=")]
    if any(line.startswith("num_cat=") and line != "num_cat=0" for line in lines):
        raise ValueError("categorical splits are not expected in the 15 numeric features")
    for i, line in enumerate(lines):
        if line.startswith("threshold="):
            t = np.array(line[len("threshold="):].split(), dtype=np.float64)
            lines[i] = "threshold=" + " ".join(repr(float(v)) for v in _floor32(t))
    clf._Booster = lgb.Booster(model_str="\n".join(lines))


@dataclass(frozen=True)
class Family:
    """A named model family: artifact name, estimator factory, candidate parameter sets."""

    name: str  # artifact name, models/<name>/<version>/
    estimator: str  # human-readable class name for the manifest
    make: Callable[[dict, int, int], object]  # (params, seed, n_jobs) -> estimator
    grid: list[dict] = field(default_factory=list)

    def pipeline(self, params: dict, seed: int, n_jobs: int) -> Pipeline:
        """Unfitted Pipeline(scaler, classifier)."""
        return Pipeline([("scaler", Float32StandardScaler()), ("clf", self.make(params, seed, n_jobs))])

    def fit(self, params: dict, seed: int, n_jobs: int, X: np.ndarray, y: np.ndarray) -> Pipeline:
        """Fitted pipeline, forest thresholds snapped to float32."""
        return snap_thresholds_to_float32(self.pipeline(params, seed, n_jobs).fit(X, y))


def _lr(p: dict, seed: int, n_jobs: int):
    return LogisticRegression(C=p["C"], max_iter=1000, random_state=seed)


def _rf(p: dict, seed: int, n_jobs: int):
    return RandomForestClassifier(
        n_estimators=p["n_estimators"],
        max_depth=p["max_depth"],
        min_samples_leaf=p.get("min_samples_leaf", 1),
        random_state=seed,
        n_jobs=n_jobs,
    )


def _lgbm(p: dict, seed: int, n_jobs: int):
    return LGBMClassifier(
        n_estimators=p["n_estimators"],
        learning_rate=p["learning_rate"],
        num_leaves=p["num_leaves"],
        min_child_samples=p.get("min_child_samples", 20),
        subsample=p.get("subsample", 1.0),
        subsample_freq=1 if p.get("subsample", 1.0) < 1.0 else 0,
        colsample_bytree=p.get("colsample_bytree", 1.0),
        random_state=seed,
        n_jobs=n_jobs,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


FAMILIES = {
    "fraud-lr": Family(
        "fraud-lr",
        "sklearn.linear_model.LogisticRegression",
        _lr,
        [{"C": c} for c in (0.01, 0.1, 1.0, 10.0)],
    ),
    "fraud-rf": Family(
        "fraud-rf",
        "sklearn.ensemble.RandomForestClassifier",
        _rf,
        [{"n_estimators": 100, "max_depth": d} for d in (8, 10, 12)],
    ),
    "fraud-lgbm": Family(
        "fraud-lgbm",
        "lightgbm.LGBMClassifier",
        _lgbm,
        [
            {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31},
            {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15},
            {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 50},
            {"n_estimators": 300, "learning_rate": 0.03, "num_leaves": 15,
             "subsample": 0.8, "colsample_bytree": 0.8},
        ],
    ),
}

#: One tiny config per family, for tests and smoke runs (--quick).
QUICK_GRID = {
    "fraud-lr": [{"C": 1.0}],
    "fraud-rf": [{"n_estimators": 10, "max_depth": 6}],
    "fraud-lgbm": [{"n_estimators": 20, "learning_rate": 0.1, "num_leaves": 7}],
}
