"""Writes a model artifact: models/<name>/<version>/{model.onnx, manifest.json}.

The manifest is what the scorer checks before it trusts the bytes (sha256, ordered feature
list, feature-set version, input/output contract) and what an operator reads to decide on a
promotion (data, metrics, thresholds, drift references). Artifacts are immutable: an
existing version is only replaced with an explicit --force. Two exceptions, by design:
calibrate.py may add or refresh the manifest's `calibration` block (a map the monitor applies
to the score), and reasons.py may add the `reasons` and `tree_covers` blocks the scorer's
explanations read, and fallback.py the `fallback_policy` a REST gateway answers with past its deadline; the ONNX bytes, their sha256 and every other field stay as they are.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from importlib.metadata import version as pkg_version
from pathlib import Path

import export
import histograms
import reasons
import thresholds
from data import FEATURE_SET_VERSION, FEATURES

LIBRARIES = ("numpy", "scikit-learn", "lightgbm", "skl2onnx", "onnxmltools", "onnx", "onnxruntime")


def build(
    *,
    name: str,
    version: str,
    model_bytes: bytes,
    estimator: str,
    params: dict,
    training_data: dict,
    selection: dict,
    metrics: dict,
    chosen_thresholds: dict,
    reference: dict,
    parity: dict,
    timings_s: dict,
    calibration: dict | None = None,
    tree_covers: dict | None = None,
    fallback_policy: dict | None = None,
) -> dict:
    """The manifest dict (JSON-ready). `tree_covers`: reasons.tree_covers(pipe, model_bytes) of a
    tree model (None for linear ones); the reason map is always written."""
    man = {
        "name": name,
        "version": version,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "framework": {
            "estimator": estimator,
            "params": params,
            "pipeline": ["models.Float32StandardScaler", estimator],
            "standardisation": "StandardScaler fitted on the training rows (float32 transform, as the "
                               "ONNX Scaler node computes it), inside the ONNX graph",
            "libraries": {lib: pkg_version(lib) for lib in LIBRARIES},
        },
        "onnx_opset": {"ai.onnx": export.TARGET_OPSET[""], "ai.onnx.ml": export.TARGET_OPSET["ai.onnx.ml"]},
        "input_name": export.INPUT_NAME,
        "input_dtype": "float32",
        "input_shape": [None, len(FEATURES)],
        "output_name": export.OUTPUT_NAME,
        "output_dtype": "float32",
        "output_shape": [None, 2],
        "output_fraud_column": export.FRAUD_COLUMN,
        "features": list(FEATURES),
        "feature_set_version": FEATURE_SET_VERSION,
        "reasons": reasons.reason_map(FEATURES),
        "sha256": export.sha256(model_bytes),
        "size_bytes": len(model_bytes),
        "training_data": training_data,
        "selection": selection,
        "metrics": metrics,
        "thresholds": {"review": chosen_thresholds["review"], "block": chosen_thresholds["block"]},
        "threshold_rule": thresholds.RULE,
        "threshold_details": {
            "met_target": chosen_thresholds["met_target"],
            "validation": chosen_thresholds["validation"],
            "test": chosen_thresholds.get("test"),
        },
        "reference_histograms": reference | {"source": "training rows of this model", "binning": histograms.RULE},
        "parity": parity,
        "timings_s": timings_s,
    }
    if tree_covers is not None:
        man["tree_covers"] = tree_covers
    if fallback_policy is not None:
        man["fallback_policy"] = fallback_policy
    return with_calibration(man, calibration) if calibration is not None else man


def with_calibration(manifest: dict, calibration: dict) -> dict:
    """A copy of manifest with `calibration` set: replaced where it is, else placed after
    `threshold_details` (else at the end). Every other field and the key order stay as they are."""
    if "calibration" in manifest:
        return {k: (calibration if k == "calibration" else v) for k, v in manifest.items()}
    out: dict = {}
    for k, v in manifest.items():
        out[k] = v
        if k == "threshold_details":
            out["calibration"] = calibration
    out.setdefault("calibration", calibration)
    return out


def update_calibration(artifact: Path, calibration: dict) -> dict:
    """Writes `calibration` into <artifact>/manifest.json in place (temp file + rename), leaving
    every other field (sha256 included) and model.onnx untouched; returns the new manifest."""
    path = Path(artifact) / "manifest.json"
    old = json.loads(path.read_text())
    new = with_calibration(old, calibration)
    if {k: v for k, v in new.items() if k != "calibration"} != {k: v for k, v in old.items() if k != "calibration"}:
        raise AssertionError("calibration update would change other manifest fields")
    _atomic(path, (json.dumps(new, indent=2) + "\n").encode())
    return new


def update_explanations(artifact: Path, reason_map: dict, tree_covers: dict | None) -> dict:
    """Writes `reasons` (after `feature_set_version`) and, for tree models, `tree_covers` (at the
    end) into <artifact>/manifest.json in place, replacing earlier ones; every other field and
    model.onnx stay as they are. Refuses covers written for other ONNX bytes."""
    path = Path(artifact) / "manifest.json"
    old = json.loads(path.read_text())
    if tree_covers is not None and tree_covers.get("onnx_sha256") != old["sha256"]:
        raise AssertionError("tree_covers describe other ONNX bytes than the manifest's sha256")
    new: dict = {}
    for k, v in old.items():
        if k in ("reasons", "tree_covers"):
            continue
        new[k] = v
        if k == "feature_set_version":
            new["reasons"] = reason_map
    new.setdefault("reasons", reason_map)
    if tree_covers is not None:
        new["tree_covers"] = tree_covers
    elif "tree_covers" in old:
        new["tree_covers"] = old["tree_covers"]
    keep = ("reasons", "tree_covers")
    if {k: v for k, v in new.items() if k not in keep} != {k: v for k, v in old.items() if k not in keep}:
        raise AssertionError("explanation update would change other manifest fields")
    _atomic(path, (json.dumps(new, indent=2) + "\n").encode())
    return new


def update_block(artifact: Path, key: str, value: dict) -> dict:
    """Adds or replaces one block (e.g. `fallback_policy`, fallback.py) of <artifact>/manifest.json
    in place, at the end; every other field and model.onnx stay as they are."""
    path = Path(artifact) / "manifest.json"
    old = json.loads(path.read_text())
    new = {k: v for k, v in old.items() if k != key}
    new[key] = value
    _atomic(path, (json.dumps(new, indent=2) + "\n").encode())
    return new


def artifact_dir(models_dir: Path, name: str, version: str) -> Path:
    return Path(models_dir) / name / version


def write(models_dir: Path, manifest: dict, model_bytes: bytes, force: bool = False) -> Path:
    """Writes both files atomically-ish (temp then rename) and returns the folder."""
    out = artifact_dir(models_dir, manifest["name"], manifest["version"])
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; artifacts are immutable (use a new --version or --force)")
    out.mkdir(parents=True, exist_ok=True)
    _atomic(out / "model.onnx", model_bytes)
    _atomic(out / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
    return out


def write_default(models_dir: Path, name: str, version: str) -> Path:
    """models/default.json: which artifact the scorer loads when none is configured."""
    path = Path(models_dir) / "default.json"
    _atomic(path, (json.dumps({"name": name, "version": version}, indent=2) + "\n").encode())
    return path


def _atomic(path: Path, data: bytes) -> None:
    """Readers (the scorer, the CLI) see the old file or the new one, never a partial one:
    write a temp file beside it, flush it to disk, rename it over the target."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
