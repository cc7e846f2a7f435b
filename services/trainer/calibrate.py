#!/usr/bin/env python3
"""Adds the `calibration` block to existing model artifacts without retraining them.

    $PY services/trainer/calibrate.py --models-dir models --features .cache/features-seed42.csv
    $PY services/trainer/calibrate.py --models-dir models --features F.csv --name fraud-lgbm --version 1.0.0

For each artifact: checks model.onnx against the manifest's sha256 and the features CSV
against the manifest's `training_data.source.sha256`, rebuilds the trainer's two splits from
the manifest's own split dates (protocol.py, same masks as train.py), and then

* validation: the calibration is fitted, as in train.py, on the *validation model's* scores
  on the validation test days. That model is not in the artifact, so it is refitted here
  (same family, parameters and seed, on the validation training week: seconds) and checked
  to be the one the trainer used: its scores must give exactly the manifest's thresholds and
  validation AP. Why not the artifact's own scores on those days: the shipped model was
  trained on exactly those days (the validation test week is the handbook training week), so
  its scores there are in-sample and over-confident, and an isotonic map fitted on them
  over-states P(fraud) for high scores.
* test: the artifact's ONNX scores on the test split (what the scorer computes); its metrics
  must equal the manifest's test metrics. Brier/ECE/reliability are measured there.

The manifest is rewritten in place (temp file + rename) with only `calibration` added or
replaced; model.onnx is not touched. Same CSV, same artifact: same block (deterministic).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as train.py

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import calibration  # noqa: E402
import export  # noqa: E402
import manifest  # noqa: E402
import predict  # noqa: E402
import thresholds  # noqa: E402
from data import Dataset, InputError, day_index, load_features_csv  # noqa: E402
from models import FAMILIES, Family  # noqa: E402
from protocol import Split, evaluate, split_masks  # noqa: E402
from train import file_sha256, fit_export  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


class Mismatch(Exception):
    """The data or the refitted validation model is not what the artifact was trained with."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models-dir", type=Path, default=REPO / "models", help="artifact root (default: <repo>/models)")
    p.add_argument("--features", required=True, type=Path, help="the features CSV the artifacts were trained on")
    p.add_argument("--name", nargs="+", help="artifact name(s) (default: every model folder with --version)")
    p.add_argument("--version", default="1.0.0", help="artifact version (default 1.0.0)")
    p.add_argument("--max-knots", type=int, default=calibration.MAX_KNOTS)
    p.add_argument("--jobs", type=int, default=2, help="threads for refitting the validation model (as train.py)")
    p.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the data-sha256 and reproduction checks (the block then says verified: false)")
    return p.parse_args(argv)


def split_from_manifest(name: str, desc: dict) -> Split:
    """A protocol Split from the manifest's {train: [a, b], delay_days, test: [c, d]}."""
    (a, b), (c, d) = desc["train"], desc["test"]
    split = Split(name, day_index(a), day_index(b) - day_index(a) + 1, int(desc["delay_days"]),
                  day_index(d) - day_index(c) + 1)
    if split.test_days != (day_index(c), day_index(d)):
        raise Mismatch(f"{name} split in the manifest is inconsistent: {desc}")
    return split


def family_of(man: dict) -> Family:
    est = man["framework"]["estimator"]
    fam = FAMILIES.get(man["name"])
    if fam is not None and fam.estimator == est:
        return fam
    for fam in FAMILIES.values():
        if fam.estimator == est:
            return fam
    raise Mismatch(f"no model family for estimator {est}")


def calibrate_artifact(folder: Path, ds: Dataset, data_sha256: str, args) -> dict:
    """The calibration block for one artifact (nothing written)."""
    man, sess = predict.load(folder)  # sha256, feature list and ONNX contract checked
    td = man["training_data"]
    verify = not args.no_verify
    if verify and td["source"]["sha256"] != data_sha256:
        raise Mismatch(f"{folder}: trained on {td['source']['file']} (sha256 {td['source']['sha256'][:12]}…), "
                       f"not this CSV (sha256 {data_sha256[:12]}…)")
    val_split = split_from_manifest("validation", td["splits"]["validation"])
    test_split = split_from_manifest("test", td["splits"]["test"])
    val_tr_m, val_te_m = split_masks(ds, val_split)
    _, te_m = split_masks(ds, test_split)
    val_tr, val_te, te = ds.subset(val_tr_m), ds.subset(val_te_m), ds.subset(te_m)

    fam = family_of(man)
    params = man["framework"]["params"]
    fit_args = SimpleNamespace(seed=int(td.get("model_seed", 0)), jobs=args.jobs)
    _, _, vsess, _ = fit_export(fam, params, val_tr.X, val_tr.fraud, fit_args, "validation model")
    val_scores = export.onnx_scores(vsess, val_te.X)
    test_scores = export.onnx_scores(sess, te.X)

    chosen = thresholds.choose(val_te.fraud, val_scores)
    checks = {
        "validation_thresholds": (chosen["review"], chosen["block"]),
        "validation_average_precision": evaluate(val_scores, val_te)["average_precision"],
        "test_average_precision": evaluate(test_scores, te)["average_precision"],
    }
    expected = {
        "validation_thresholds": (man["thresholds"]["review"], man["thresholds"]["block"]),
        "validation_average_precision": man["metrics"]["validation"]["average_precision"],
        "test_average_precision": man["metrics"]["test"]["average_precision"],
    }
    bad = {k: (checks[k], expected[k]) for k in checks if checks[k] != expected[k]}
    if verify and bad:
        raise Mismatch(f"{folder}: the rebuilt splits / refitted validation model differ from the manifest "
                       f"(got, manifest): {bad}")
    fitted = {
        "split": td["splits"]["validation"]["test"],
        "verified": verify and not bad,
        "via": "calibrate.py (validation model refitted and checked against the manifest's "
               "thresholds and validation AP)",
    }
    return calibration.build(
        val_scores, val_te.fraud, test_scores, te.fraud,
        thresholds={k: man["thresholds"][k] for k in ("review", "block")},
        max_knots=args.max_knots, fitted_rows=fitted,
    )


def summary_line(name: str, cal: dict) -> str:
    c = cal.get("cbpe_test", {})
    ap = c.get("average_precision", {})
    return (f"{name}: {cal['fit']['knots']} knots (isotonic {cal['fit']['isotonic_knots']}), test Brier "
            f"{cal['brier_raw']:.6f} -> {cal['brier_calibrated']:.6f}, ECE {cal['ece_raw']:.6f} -> "
            f"{cal['ece_calibrated']:.6f}, frauds {cal['test']['frauds']} expected raw "
            f"{cal['test']['expected_frauds_raw']:.1f} calibrated {cal['test']['expected_frauds_calibrated']:.1f}, "
            f"CBPE AP {ap.get('estimated')} vs realized {ap.get('realized')}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.name or sorted(p.parent.parent.name for p in args.models_dir.glob(f"*/{args.version}/manifest.json"))
    folders = [manifest.artifact_dir(args.models_dir, n, args.version) for n in names]
    missing = [str(f) for f in folders if not (f / "manifest.json").exists()]
    if missing or not folders:
        sys.exit(f"no artifact at {', '.join(missing) or f'{args.models_dir}/*/{args.version}'}")
    try:
        ds = load_features_csv(args.features)
    except InputError as e:  # every problem of the table, as train.py reports them
        print(e, file=sys.stderr, flush=True)
        return 2
    data_sha256 = file_sha256(args.features)
    failed = 0
    for name, folder in zip(names, folders):
        try:
            cal = calibrate_artifact(folder, ds, data_sha256, args)
        except (Mismatch, predict.ArtifactError) as e:
            print(f"{name}: NOT calibrated: {e}", file=sys.stderr, flush=True)
            failed += 1
            continue
        print(summary_line(name, cal), flush=True)
        if args.dry_run:
            print(json.dumps({k: cal[k] for k in ("fit", "test", "cbpe_test")}, indent=2))
            continue
        sha_before = json.loads((folder / "manifest.json").read_text())["sha256"]
        new = manifest.update_calibration(folder, cal)
        assert new["sha256"] == sha_before == export.sha256((folder / "model.onnx").read_bytes())
        print(f"  wrote {folder / 'manifest.json'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
