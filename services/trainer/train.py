#!/usr/bin/env python3
"""Trains the fraud models on a features CSV, exports them to ONNX and writes artifacts.

Why this shape: model choice must never look at the test period. Each family's candidates
are fitted on the validation split (default: train 2018-07-11..07-17, 7-day delay, validate
07-25..07-31, the week before the handbook test week begins) and ranked by Average Precision.
The winner is refitted on the handbook's training week (07-25..07-31) and evaluated on its
test week (08-08..08-14); that refit is what ships. Thresholds and the probability
calibration (isotonic map in the manifest, for the monitor's performance estimation) come
from the validation model's scores; the default model is the family with the best validation AP.

    PY=$(bash services/trainer/setup.sh)
    $PY services/trainer/train.py --features .cache/features-seed42.csv
"""
from __future__ import annotations

import os

# Before numpy/LightGBM load OpenMP: on a shared 2-core machine, spinning OpenMP workers
# starve each other (a LightGBM fit took 17 s with 2 spinning threads vs 1.6 s passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import calibration  # noqa: E402
import export  # noqa: E402
import histograms  # noqa: E402
import fallback  # noqa: E402
import manifest  # noqa: E402
import reasons  # noqa: E402
import thresholds  # noqa: E402
import validate_input  # noqa: E402
from data import FEATURES, Dataset, day_index, loaded_line  # noqa: E402
from models import FAMILIES, QUICK_GRID, Family  # noqa: E402
from protocol import Split, evaluate, split_masks  # noqa: E402
from report import print_table  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def iso_day(text: str) -> str:
    try:
        day_index(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    return text


def at_least(low: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {v}")
        return v
    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog=f"The table is checked before training (validate_input.py); any error "
                                       f"exits with code {validate_input.EXIT_CODE}.")
    p.add_argument("--features", required=True, type=Path, help="features CSV from `fraudscore features`")
    p.add_argument("--models-dir", type=Path, default=REPO / "models", help="artifact root (default: <repo>/models)")
    p.add_argument("--version", default="1.0.0", help="artifact version (default 1.0.0)")
    p.add_argument("--families", nargs="+", choices=sorted(FAMILIES), default=list(FAMILIES))
    p.add_argument("--train-start", type=iso_day, default="2018-07-25", help="handbook split: first training day")
    p.add_argument("--val-train-start", type=iso_day, default="2018-07-11", help="validation split: first training day")
    p.add_argument("--delta-train", type=at_least(1), default=7)
    p.add_argument("--delta-delay", type=at_least(0), default=7)
    p.add_argument("--delta-test", type=at_least(1), default=7)
    p.add_argument("--min-frauds", type=at_least(1), default=validate_input.MIN_FRAUDS,
                   help=f"fewest frauds each training/test window of both splits must hold "
                        f"(default {validate_input.MIN_FRAUDS})")
    p.add_argument("--seed", type=int, default=0, help="model random_state")
    p.add_argument("--data-seed", type=int, default=None, help="simulation seed (default: from 'seedN' in the file name)")
    p.add_argument("--jobs", type=int, default=2, help="threads for tree fitting")
    p.add_argument("--quick", action="store_true", help="one tiny config per family (tests, smoke runs)")
    p.add_argument("--force", action="store_true", help="overwrite an existing name/version")
    p.add_argument("--no-default", action="store_true", help="do not write models/default.json")
    p.add_argument("--report", type=Path, help="also write the summary as JSON here")
    return p.parse_args(argv)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def described(ds: Dataset, mask: np.ndarray) -> dict:
    d = ds.subset(mask).describe()
    return {k: d[k] for k in ("rows", "frauds", "fraud_rate")}


def select(fam: Family, grid: list[dict], tr: Dataset, va: Dataset, args) -> tuple[dict, list[dict]]:
    """Fits every candidate on the validation training week; best by validation AP."""
    tried = []
    for params in grid:
        t0 = time.perf_counter()
        pipe = fam.fit(params, args.seed, args.jobs, tr.X, tr.fraud)
        m = evaluate(pipe.predict_proba(va.X)[:, 1], va)
        fit_s = time.perf_counter() - t0
        tried.append({"params": params, "validation": m, "fit_s": round(fit_s, 2)})
        print(f"  {fam.name} {params}: val AUC {m['auc_roc']} AP {m['average_precision']} "
              f"CP@100 {m['cp100']} ({fit_s:.1f} s)", flush=True)
    best = max(tried, key=lambda t: (t["validation"]["average_precision"] or -1.0))
    return best["params"], tried


def fit_export(fam: Family, params: dict, X: np.ndarray, y: np.ndarray, args, doc: str):
    """Fitted pipeline, ONNX bytes, session and timings."""
    t0 = time.perf_counter()
    pipe = fam.fit(params, args.seed, args.jobs, X, y)
    t1 = time.perf_counter()
    model_bytes = export.to_onnx(pipe, len(FEATURES), doc, graph_name=fam.name)
    sess = export.session(model_bytes)
    export.check_contract(sess, len(FEATURES))
    t2 = time.perf_counter()
    return pipe, model_bytes, sess, {"fit": round(t1 - t0, 2), "export": round(t2 - t1, 2)}


def run_family(fam: Family, ds: Dataset, masks: dict, splits: dict, args, data_info: dict) -> dict:
    """Select, validate, refit, test, write one family's artifact; returns its summary."""
    print(f"\n== {fam.name}: selecting on validation ({len(masks['val_train'].nonzero()[0]):,} train rows)", flush=True)
    val_tr, val_te = ds.subset(masks["val_train"]), ds.subset(masks["val_test"])
    grid = QUICK_GRID[fam.name] if args.quick else fam.grid
    params, tried = select(fam, grid, val_tr, val_te, args)
    print(f"  chosen {params}", flush=True)

    # Validation metrics and thresholds from the exported validation model (ONNX scores:
    # exactly what the scorer would compute), never from the test week.
    _, _, vsess, _ = fit_export(fam, params, val_tr.X, val_tr.fraud, args, "validation model")
    val_scores = export.onnx_scores(vsess, val_te.X)
    val_metrics = evaluate(val_scores, val_te)
    chosen = thresholds.choose(val_te.fraud, val_scores)

    tr, te = ds.subset(masks["train"]), ds.subset(masks["test"])
    doc = f"{fam.name} {args.version}: StandardScaler + {fam.estimator} {json.dumps(params)}"
    pipe, model_bytes, sess, timings = fit_export(fam, params, tr.X, tr.fraud, args, doc)
    test_scores = export.onnx_scores(sess, te.X)
    test_metrics = evaluate(test_scores, te)
    chosen["test"] = {k: thresholds.at_threshold(te.fraud, test_scores, chosen[k]) for k in ("review", "block")}
    # Calibration: fitted on the validation model's scores (as the thresholds), judged on test.
    cal = calibration.build(
        val_scores, val_te.fraud, test_scores, te.fraud,
        thresholds={k: chosen[k] for k in ("review", "block")},
        fitted_rows={"split": splits["validation"].describe()["test"], "via": "train.py"},
    )
    parity = export.parity(pipe, sess, np.vstack([tr.X, te.X]))
    train_scores = export.onnx_scores(sess, tr.X)
    print(f"  fit {timings['fit']} s, export {timings['export']} s, {len(model_bytes) / 1e6:.2f} MB, "
          f"ONNX vs sklearn max |diff| {parity['max_abs_diff']:.2e} "
          f"({parity['rows_over_1e-4']} of {parity['rows']:,} rows > 1e-4)", flush=True)
    print(f"  test AUC {test_metrics['auc_roc']} AP {test_metrics['average_precision']} "
          f"CP@100 {test_metrics['cp100']} | thresholds review {chosen['review']:.4g} block {chosen['block']:.4g}",
          flush=True)
    print(f"  calibration ({cal['fit']['knots']} knots): test Brier {cal['brier_raw']} -> {cal['brier_calibrated']}, "
          f"ECE {cal['ece_raw']} -> {cal['ece_calibrated']}", flush=True)

    training_data = data_info | {
        "train": splits["test"].describe()["train"],
        "train_rows": described(ds, masks["train"]),
        "splits": {
            "validation": splits["validation"].describe()
            | {"train_rows": described(ds, masks["val_train"]), "test_rows": described(ds, masks["val_test"])},
            "test": splits["test"].describe()
            | {"train_rows": described(ds, masks["train"]), "test_rows": described(ds, masks["test"])},
            "known_card_rule": "test rows of cards with a fraud from the training start up to test day - delay - 1 are removed",
        },
    }
    man = manifest.build(
        name=fam.name, version=args.version, model_bytes=model_bytes, estimator=fam.estimator,
        params=params, training_data=training_data,
        selection={"metric": "validation average_precision", "candidates": tried},
        metrics={"validation": val_metrics, "test": test_metrics},
        chosen_thresholds=chosen,
        reference=histograms.reference(tr.X, FEATURES, train_scores),
        parity=parity, timings_s=timings, calibration=cal,
        tree_covers=reasons.tree_covers(pipe, model_bytes),
        fallback_policy=fallback.fallback_policy(fallback.amounts_minor(tr.X, list(FEATURES)), tr.fraud),
    )
    out = manifest.write(args.models_dir, man, model_bytes, force=args.force)
    print(f"  wrote {out}", flush=True)
    return {"name": fam.name, "version": args.version, "params": params, "validation": val_metrics,
            "test": test_metrics, "thresholds": {"review": chosen["review"], "block": chosen["block"]},
            "parity_max_abs_diff": parity["max_abs_diff"], "timings_s": timings,
            "calibration": {k: cal[k] for k in ("brier_raw", "brier_calibrated", "ece_raw", "ece_calibrated")},
            "size_bytes": len(model_bytes), "path": str(out)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    for name in args.families:
        out = manifest.artifact_dir(args.models_dir, name, args.version)
        if out.exists() and not args.force:
            sys.exit(f"{out} exists; artifacts are immutable (use a new --version or --force)")
    splits = {
        "validation": Split.from_iso("validation", args.val_train_start, args.delta_train, args.delta_delay, args.delta_test),
        "test": Split.from_iso("test", args.train_start, args.delta_train, args.delta_delay, args.delta_test),
    }
    # Before anything is fitted: the table's columns, types, labels, ids, days and frauds per
    # window (validate_input.py); every problem is listed, any error stops here with exit 2.
    t_load = time.perf_counter()
    checked = validate_input.check_features(args.features, splits, args.min_frauds)
    validate_input.report(args.features, checked.problems)
    if checked.errors:
        print(f"not training: {len(checked.errors)} error(s) in {args.features} (exit {validate_input.EXIT_CODE})",
              file=sys.stderr, flush=True)
        return validate_input.EXIT_CODE
    ds = checked.dataset
    print(loaded_line(args.features, ds, checked.unlabelled, time.perf_counter() - t_load), flush=True)
    masks = dict(zip(("val_train", "val_test"), split_masks(ds, splits["validation"])))
    masks |= dict(zip(("train", "test"), split_masks(ds, splits["test"])))
    for k, m in masks.items():
        d = described(ds, m)
        print(f"{k:>9}: {d['rows']:>8,} rows, {d['frauds']:>5,} frauds ({100 * d['fraud_rate']:.3f} %)", flush=True)
        if d["rows"] == 0 or d["frauds"] == 0:
            sys.exit(f"split '{k}' has no rows or no frauds: check the date arguments against the data")
    seed = args.data_seed
    if seed is None and (m := re.search(r"seed[-_]?(\d+)", args.features.name)):
        seed = int(m.group(1))
    data_info = {
        "source": {"file": args.features.name, "sha256": file_sha256(args.features)} | ds.describe(),
        "simulation_seed": seed,
        "model_seed": args.seed,
    }

    results = [run_family(FAMILIES[n], ds, masks, splits, args, data_info) for n in args.families]
    best = max(results, key=lambda r: r["validation"]["average_precision"] or -1.0)
    summary = {"default": {"name": best["name"], "version": best["version"]}, "models": results,
               "total_s": round(time.perf_counter() - t_start, 1)}
    if not args.no_default:
        print(f"\ndefault model: {best['name']} {best['version']} (best validation AP) -> "
              f"{manifest.write_default(args.models_dir, best['name'], best['version'])}")
    print_table(results, best["name"])
    if args.report:
        args.report.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"total {summary['total_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
