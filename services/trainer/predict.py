#!/usr/bin/env python3
"""Scores rows with a model artifact through Python onnxruntime and writes the scores.

Why it exists: it is the reference side of the Python-vs-Node parity check. It loads an
artifact the way the scorer does (read bytes, verify sha256 against the manifest, check
the feature list, create the session from those same bytes) and writes one score per row
with 9 significant digits, enough to round-trip a float32 exactly.

    $PY services/trainer/predict.py --model models/fraud-lr/1.0.0 --input rows.csv --output scores.csv
    $PY services/trainer/predict.py --model models --input rows.csv        # models/default.json

The input CSV needs a header with the 15 feature names (any order; other columns are
ignored); TRANSACTION_ID is copied to the output when present, else the row index.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import export  # noqa: E402
from data import FEATURE_SET_VERSION, FEATURES  # noqa: E402


class ArtifactError(Exception):
    """The artifact does not match its manifest or this feature set."""


def resolve(model: Path) -> Path:
    """An artifact folder, or a models root whose default.json names one."""
    model = Path(model)
    if (model / "manifest.json").exists():
        return model
    default = model / "default.json"
    if default.exists():
        ref = json.loads(default.read_text())
        return model / ref["name"] / ref["version"]
    raise ArtifactError(f"{model}: neither an artifact folder nor a models root with default.json")


def load(model_dir: Path):
    """(manifest, session) after checking digest, feature list and feature-set version."""
    model_dir = resolve(model_dir)
    man = json.loads((model_dir / "manifest.json").read_text())
    data = (model_dir / "model.onnx").read_bytes()
    digest = export.sha256(data)
    if digest != man["sha256"]:
        raise ArtifactError(f"{model_dir}: sha256 {digest} != manifest {man['sha256']}")
    if man["features"] != list(FEATURES) or man["feature_set_version"] != FEATURE_SET_VERSION:
        raise ArtifactError(f"{model_dir}: feature list/version differs from {FEATURE_SET_VERSION}")
    sess = export.session(data)
    export.check_contract(sess, len(FEATURES))
    return man, sess


def score_rows(sess, X: np.ndarray) -> np.ndarray:
    """P(fraud) as float32 for rows in FEATURES order."""
    return export.onnx_scores(sess, np.asarray(X, dtype=np.float64).reshape(-1, len(FEATURES)))


def read_rows(text_or_path) -> tuple[np.ndarray, np.ndarray | None]:
    """(X float64 [n,15] in FEATURES order, transaction ids or None) from a CSV path or stream."""
    f = open(text_or_path, newline="") if isinstance(text_or_path, (str, Path)) else text_or_path
    with f:
        header = [h.strip() for h in next(csv.reader([f.readline()]))]
        missing = [c for c in FEATURES if c not in header]
        if missing:
            raise ValueError(f"input lacks feature columns: {', '.join(missing)}")
        body = f.read()
    cols = [header.index(c) for c in FEATURES]
    X = np.loadtxt(io.StringIO(body), delimiter=",", usecols=cols, dtype=np.float64, ndmin=2, quotechar='"')
    ids = None
    if "TRANSACTION_ID" in header:
        ids = np.loadtxt(io.StringIO(body), delimiter=",", usecols=[header.index("TRANSACTION_ID")],
                         dtype=str, ndmin=1, quotechar='"')
    return X, ids


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=Path(__file__).resolve().parents[2] / "models",
                   help="artifact folder or models root (default: <repo>/models, i.e. default.json)")
    p.add_argument("--input", required=True, help="CSV with the 15 feature columns ('-' = stdin)")
    p.add_argument("--output", default="-", help="scores CSV (default stdout)")
    args = p.parse_args(argv)

    man, sess = load(Path(args.model))
    X, ids = read_rows(sys.stdin if args.input == "-" else args.input)
    scores = score_rows(sess, X)
    sink = contextlib.nullcontext(sys.stdout) if args.output == "-" else open(args.output, "w", newline="")
    with sink as out:
        out.write("TRANSACTION_ID,SCORE\n" if ids is not None else "ROW,SCORE\n")
        keys = ids if ids is not None else range(len(scores))
        out.writelines(f"{k},{s:.9g}\n" for k, s in zip(keys, scores.tolist()))
    print(f"scored {len(scores):,} rows with {man['name']} {man['version']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
