#!/usr/bin/env python3
"""Adds the training range (`min`, `max`) to the reference histograms of existing model artifacts.

    $PY services/trainer/reference_ranges.py --models-dir models --features .cache/features-seed42.csv
    $PY services/trainer/reference_ranges.py --features F.csv --name fraud-lgbm --version 1.0.0

Why: the monitor reports the share of live values outside the training range, per feature
and for the score; artifacts trained before histograms.py recorded that range lack it, and
retraining would change model.onnx. For each artifact this script (modelled on calibrate.py):

* checks model.onnx against the manifest's sha256 (predict.load) and the features CSV against
  the manifest's `training_data.source.sha256`;
* rebuilds the rows train.py drew the histograms from: the test split's training rows
  (`tr.X` in train.py), from the manifest's own split dates through protocol.split_masks,
  and the shipped model's ONNX scores on them (`train_scores`: export.onnx_scores with the
  single-threaded session export.session builds, as in train.py);
* recomputes histograms.reference on them and **refuses** unless every feature's and the
  score's `edges` and `fractions`, and the row count, equal the manifest's exactly (the proof
  that they are the same rows and scores);
* then rewrites manifest.json in place (temp file + rename) with only `min`/`max` added to
  (or refreshed in) each histogram of `reference_histograms.features` and
  `reference_histograms.score`, and its `rule`/`binning` text set to histograms.RULE. Every
  other field, the key order and model.onnx stay as they are. Same CSV, same artifact: same
  bytes (a second run finds nothing to change).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as train.py

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import export  # noqa: E402
import histograms  # noqa: E402
import manifest  # noqa: E402
import predict  # noqa: E402
from calibrate import Mismatch, split_from_manifest  # noqa: E402
from data import FEATURES, Dataset, InputError, load_features_csv  # noqa: E402
from protocol import split_masks  # noqa: E402
from train import file_sha256  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
RANGE_KEYS = ("min", "max")
TEXT_KEYS = ("rule", "binning")  # both hold histograms.RULE (reference() and manifest.build)
SCORE = "score"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models-dir", type=Path, default=REPO / "models", help="artifact root (default: <repo>/models)")
    p.add_argument("--features", required=True, type=Path, help="the features CSV the artifacts were trained on")
    p.add_argument("--name", nargs="+", help="artifact name(s) (default: every model folder with --version)")
    p.add_argument("--version", default="1.0.0", help="artifact version (default 1.0.0)")
    p.add_argument("--dry-run", action="store_true", help="verify and print the ranges, write nothing")
    return p.parse_args(argv)


def training_rows(man: dict, ds: Dataset, data_sha256: str, where: str) -> Dataset:
    """The rows train.py fitted the shipped model on and drew its histograms from."""
    td = man["training_data"]
    if td["source"]["sha256"] != data_sha256:
        raise Mismatch(f"{where}: trained on {td['source']['file']} (sha256 {td['source']['sha256'][:12]}…), "
                       f"not this CSV (sha256 {data_sha256[:12]}…)")
    split = split_from_manifest("test", td["splits"]["test"])
    if td.get("train") is not None and td["train"] != split.describe()["train"]:
        raise Mismatch(f"{where}: training_data.train {td['train']} is not the test split's training week "
                       f"{split.describe()['train']}")
    train_mask, _ = split_masks(ds, split)
    tr = ds.subset(train_mask)
    expected = {"reference_histograms.rows": man["reference_histograms"].get("rows"),
                "training_data.train_rows.rows": td.get("train_rows", {}).get("rows")}
    bad = {k: v for k, v in expected.items() if v is not None and v != len(tr)}
    if bad:
        raise Mismatch(f"{where}: rebuilt {len(tr):,} training rows, the manifest says {bad}")
    return tr


def verify(old: dict, new: dict, where: str) -> None:
    """Raises unless the recomputed edges/fractions of every histogram equal the manifest's."""
    want = set(old["features"])
    if want != set(new["features"]):
        raise Mismatch(f"{where}: reference_histograms.features has {sorted(want ^ set(new['features']))} "
                       f"beyond/short of the {len(FEATURES)} model features")
    pairs = [(f"feature {f}", old["features"][f], new["features"][f]) for f in old["features"]]
    pairs.append(("the score", old[SCORE], new[SCORE]))
    for label, o, n in pairs:
        for key in ("edges", "fractions"):
            if o.get(key) != n[key]:
                raise Mismatch(f"{where}: {label}: recomputed {key} differ from the manifest's "
                               f"(manifest {o.get(key)}, recomputed {n[key]}); not the rows/scores the "
                               "histograms were drawn from")


def with_range(hist: dict, computed: dict) -> dict:
    """hist with min/max set from computed (replaced where they are, else appended);
    removed when computed has none (no values)."""
    out = {k: v for k, v in hist.items() if k not in RANGE_KEYS or k in computed}
    for k in RANGE_KEYS:
        if k in computed:
            out[k] = computed[k]
    return out


def with_ranges(man: dict, computed: dict) -> dict:
    """A copy of the manifest whose reference_histograms carry the computed ranges and RULE."""
    old = man["reference_histograms"]
    ref = {}
    for k, v in old.items():
        if k == "features":
            v = {f: with_range(h, computed["features"][f]) for f, h in v.items()}
        elif k == SCORE:
            v = with_range(v, computed[SCORE])
        elif k in TEXT_KEYS:
            v = histograms.RULE
        ref[k] = v
    ref.setdefault("binning", histograms.RULE)
    return {k: (ref if k == "reference_histograms" else v) for k, v in man.items()}


def _without_ranges(man: dict) -> dict:
    """The manifest with everything this script writes taken out (for the 'nothing else changed' check)."""
    ref = dict(man["reference_histograms"])
    strip = lambda h: {k: v for k, v in h.items() if k not in RANGE_KEYS}  # noqa: E731
    ref["features"] = {f: strip(h) for f, h in ref["features"].items()}
    ref[SCORE] = strip(ref[SCORE])
    for k in TEXT_KEYS:
        ref.pop(k, None)
    return man | {"reference_histograms": ref}


def serialise(man: dict) -> bytes:
    return (json.dumps(man, indent=2) + "\n").encode()  # manifest.write's format


def ranges_for(folder: Path, ds: Dataset, data_sha256: str) -> tuple[dict, dict, bytes]:
    """(old manifest, new manifest, new bytes) for one artifact, verified; nothing written."""
    man, sess = predict.load(folder)  # sha256 of model.onnx, feature list, ONNX contract
    where = f"{man['name']} {man['version']} ({folder})"
    text = (folder / "manifest.json").read_bytes()
    if serialise(man) != text:
        raise Mismatch(f"{where}: manifest.json is not in the trainer's JSON layout (indent 2); "
                       "rewriting it would change more than the ranges")
    if "reference_histograms" not in man:
        raise Mismatch(f"{where}: the manifest has no reference_histograms")
    tr = training_rows(man, ds, data_sha256, where)
    scores = export.onnx_scores(sess, tr.X)  # train.py: train_scores = export.onnx_scores(sess, tr.X)
    computed = histograms.reference(tr.X, FEATURES, scores)
    verify(man["reference_histograms"], computed, where)
    new = with_ranges(man, computed)
    if _without_ranges(new) != _without_ranges(man) or list(new) != list(man):
        raise AssertionError(f"{where}: the update would change other manifest fields")
    return man, new, serialise(new)


def summary_line(name: str, man: dict) -> str:
    h = man["reference_histograms"]
    s = h[SCORE]
    return (f"{name}: {h['rows']:,} training rows verified (edges and fractions of {len(h['features'])} features "
            f"and the score); score range [{s.get('min')}, {s.get('max')}]")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.name or sorted(p.parent.parent.name for p in args.models_dir.glob(f"*/{args.version}/manifest.json"))
    folders = [manifest.artifact_dir(args.models_dir, n, args.version) for n in names]
    missing = [str(f) for f in folders if not (f / "manifest.json").exists()]
    if missing or not folders:
        sys.exit(f"no artifact at {', '.join(missing) or f'{args.models_dir}/*/{args.version}'}")
    data_sha256 = file_sha256(args.features)
    try:
        ds = load_features_csv(args.features)
    except InputError as e:  # every problem of the table, as train.py reports them
        print(e, file=sys.stderr, flush=True)
        return 2
    failed = 0
    for name, folder in zip(names, folders):
        try:
            old, new, data = ranges_for(folder, ds, data_sha256)
        except (Mismatch, predict.ArtifactError, KeyError) as e:
            msg = f"missing manifest field {e}" if isinstance(e, KeyError) else str(e)
            print(f"{name}: NOT updated: {msg}", file=sys.stderr, flush=True)
            failed += 1
            continue
        print(summary_line(name, new), flush=True)
        if args.dry_run:
            for f, h in list(new["reference_histograms"]["features"].items()):
                print(f"  {f}: [{h.get('min')}, {h.get('max')}]")
            continue
        path = folder / "manifest.json"
        if path.read_bytes() == data:
            print(f"  {path} already up to date", flush=True)
            continue
        manifest._atomic(path, data)  # temp file + fsync + rename, as manifest.write
        assert new["sha256"] == old["sha256"] == export.sha256((folder / "model.onnx").read_bytes())
        print(f"  wrote {path}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
