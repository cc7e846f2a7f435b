#!/usr/bin/env python3
"""What the scorer needs to explain a score from the model itself (services/scorer/src/model/explain).

* `reason_map(features)`: each feature's reason code and text, written into every new manifest
  under `reasons`. Texts are neutral: a positive contribution means the feature's value raised
  the score relative to the average training row, not that the value is "high" (a weekday
  can raise it too).
* `tree_covers(pipe, model_bytes)`: for tree models, the number of training rows behind each
  ONNX tree node — LightGBM's internal_count/leaf_count (the rows each tree was fitted on,
  after bagging), scikit-learn's weighted_n_node_samples (the bootstrap sample) — which
  path-dependent TreeSHAP weighs branches by and which ONNX does not keep (nodes_hitrates is
  written as 1.0). Covers are listed in ONNX node order (trees by ascending nodes_treeids,
  nodes by ascending nodes_nodeids), found by walking each ONNX tree beside the estimator's
  own and checking every split's feature and float32 threshold on the way, so a numbering
  change in a converter fails here instead of misattributing covers. The block names the
  ONNX bytes' sha256; the scorer checks it, the tree and node counts, and that every parent's
  cover is the sum of its children's.

For artifacts trained before this existed, the command adds both blocks in place (only
`reasons` and `tree_covers` change; model.onnx and its sha256 do not). Covers cannot be read
back from the ONNX graph, so the model is refitted exactly as train.py fitted it (same rows,
parameters, seed, ONNX doc string) and used only if its ONNX bytes have the artifact's sha256:

    $PY services/trainer/reasons.py --models-dir models --features .cache/features-seed42.csv
    $PY services/trainer/reasons.py --models-dir models --features F.csv --name fraud-lgbm --dry-run
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as train.py

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parents[2]

_WINDOW = {"1DAY": ("1D", "the last day"), "7DAY": ("7D", "the last 7 days"), "30DAY": ("30D", "the last 30 days")}
_FIXED = {
    "TX_AMOUNT": ("AMOUNT", "The transaction amount raised the risk"),
    "TX_DURING_WEEKEND": ("WEEKEND", "Whether the transaction fell on a weekend raised the risk"),
    "TX_DURING_NIGHT": ("NIGHT", "Whether the transaction was at night raised the risk"),
}


def reason_for(feature: str) -> dict:
    """{code, text} for one feature; names outside the reference set get FEATURE_<NAME>, as the
    scorer derives for manifests without a map."""
    if feature in _FIXED:
        code, text = _FIXED[feature]
        return {"code": code, "text": text}
    m = re.fullmatch(r"(CUSTOMER|TERMINAL)_ID_(NB_TX|AVG_AMOUNT|RISK)_(\d+DAY)_WINDOW", feature)
    if m and m.group(3) in _WINDOW:
        who, what, (suffix, span) = m.group(1), m.group(2), _WINDOW[m.group(3)]
        if who == "CUSTOMER" and what != "RISK":
            noun = "number of transactions" if what == "NB_TX" else "average amount"
            code = "CARD_TX_COUNT" if what == "NB_TX" else "CARD_AVG_AMOUNT"
            return {"code": f"{code}_{suffix}", "text": f"The card's {noun} over {span} raised the risk"}
        if who == "TERMINAL" and what != "AVG_AMOUNT":
            noun = "number of transactions" if what == "NB_TX" else "share of fraud"
            code = "TERMINAL_TX_COUNT" if what == "NB_TX" else "TERMINAL_FRAUD_RATE"
            return {"code": f"{code}_{suffix}",
                    "text": f"The terminal's {noun} over {span} (as known a week later) raised the risk"}
    snake = re.sub(r"[^A-Z0-9]+", "_", re.sub(r"([a-z])([A-Z])", r"\1_\2", feature).upper()).strip("_")
    return {"code": f"FEATURE_{snake or 'UNNAMED'}", "text": f"{feature} raised the risk"}


def reason_map(features) -> dict:
    """The manifest's `reasons` block: {feature: {code, text}} in feature order."""
    return {f: reason_for(f) for f in features}


def _onnx_trees(model_bytes: bytes) -> list[dict]:
    """Per tree (ascending tree id): {node id: (mode, feature, threshold, true id, false id)}."""
    import onnx
    from onnx import helper

    graph = onnx.load_from_string(model_bytes).graph
    nodes = [n for n in graph.node if n.op_type in ("TreeEnsembleClassifier", "TreeEnsembleRegressor")]
    if len(nodes) != 1:
        raise ValueError(f"expected one tree ensemble node, found {len(nodes)}")
    a = {x.name: helper.get_attribute_value(x) for x in nodes[0].attribute}
    trees: dict[int, dict] = {}
    for k, t in enumerate(a["nodes_treeids"]):
        mode = a["nodes_modes"][k].decode()
        trees.setdefault(t, {})[a["nodes_nodeids"][k]] = (
            mode, a["nodes_featureids"][k], np.float32(a["nodes_values"][k]),
            a["nodes_truenodeids"][k], a["nodes_falsenodeids"][k])
    return [trees[t] for t in sorted(trees)]


def _walk(onnx_tree: dict, where: str, visit) -> list[float]:
    """Covers in ascending node id: visit(estimator node) -> (leaf?, feature, threshold, cover,
    left, right) is matched against the ONNX node with the same position in the tree."""
    root = (set(onnx_tree) - {c for v in onnx_tree.values() if v[0] != "LEAF" for c in v[3:5]}).pop()
    covers: dict[int, float] = {}
    stack = [(root, None)]
    while stack:
        nid, est = stack.pop()
        mode, feature, threshold, t, f = onnx_tree[nid]
        is_leaf, e_feature, e_threshold, cover, left, right = visit(est)
        if is_leaf != (mode == "LEAF"):
            raise ValueError(f"{where} node {nid}: ONNX says {mode}, the estimator {'a leaf' if is_leaf else 'a split'}")
        if not is_leaf:
            if mode != "BRANCH_LEQ" or feature != e_feature or threshold != np.float32(e_threshold):
                raise ValueError(f"{where} node {nid}: ONNX {mode} x{feature} <= {threshold}, estimator "
                                 f"x{e_feature} <= {np.float32(e_threshold)}")
            stack += [(t, left), (f, right)]  # x <= t: ONNX true branch = estimator's left child
        covers[nid] = float(cover)
    return [covers[n] for n in sorted(onnx_tree)]


def _lightgbm_visit(node):
    if node is None or "leaf_value" in node:
        return True, None, None, (node or {}).get("leaf_count", 1), None, None
    if node.get("decision_type") != "<=":
        raise ValueError(f"split decision {node.get('decision_type')} has no ONNX BRANCH_LEQ twin")
    return False, node["split_feature"], node["threshold"], node["internal_count"], node["left_child"], node["right_child"]


def _sklearn_visit(tree):
    def visit(k):
        k = 0 if k is None else k
        left, right = int(tree.children_left[k]), int(tree.children_right[k])
        cover = tree.weighted_n_node_samples[k]
        return left == -1, int(tree.feature[k]), float(tree.threshold[k]), cover, left, right
    return visit


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def tree_covers(pipe, model_bytes: bytes) -> dict | None:
    """The manifest's `tree_covers` block for a fitted tree pipeline and its ONNX bytes; None for
    models that are not tree ensembles (the scorer explains linear models without covers)."""
    import export
    from lightgbm import LGBMClassifier

    clf = pipe.steps[-1][1]
    if isinstance(clf, LGBMClassifier):
        infos = clf.booster_.dump_model()["tree_info"]
        visits = [lambda n, s=info["tree_structure"]: _lightgbm_visit(s if n is None else n) for info in infos]
        source = "LightGBM internal_count/leaf_count: training rows each tree was fitted on (after bagging)"
    elif hasattr(clf, "estimators_") and all(hasattr(e, "tree_") for e in clf.estimators_):
        visits = [_sklearn_visit(e.tree_) for e in clf.estimators_]
        source = "scikit-learn weighted_n_node_samples: each tree's (bootstrap) training rows"
    else:
        return None
    trees = _onnx_trees(model_bytes)
    if len(trees) != len(visits):
        raise ValueError(f"ONNX has {len(trees)} trees, the estimator {len(visits)}")
    lists = [_walk(t, f"tree {i}", visits[i]) for i, t in enumerate(trees)]
    return {"onnx_sha256": export.sha256(model_bytes), "source": source,
            "trees": [" ".join(_number(c) for c in covers) for covers in lists]}


# --- adding the blocks to existing artifacts ------------------------------------------------

def refit(folder: Path, ds, jobs: int):
    """The artifact's pipeline, refitted as train.py fitted it; ValueError unless its ONNX bytes
    are the artifact's (same sha256)."""
    from types import SimpleNamespace

    import export
    import predict
    from calibrate import family_of, split_from_manifest
    from protocol import split_masks
    from train import fit_export

    man, _ = predict.load(folder)  # sha256, feature list and ONNX contract checked
    fam = family_of(man)
    params = man["framework"]["params"]
    td = man["training_data"]
    train_mask, _ = split_masks(ds, split_from_manifest("test", td["splits"]["test"]))
    tr = ds.subset(train_mask)
    doc = f"{fam.name} {man['version']}: StandardScaler + {fam.estimator} {json.dumps(params)}"
    args = SimpleNamespace(seed=int(td.get("model_seed", 0)), jobs=jobs)
    pipe, model_bytes, _, _ = fit_export(fam, params, tr.X, tr.fraud, args, doc)
    if export.sha256(model_bytes) != man["sha256"]:
        raise ValueError(f"{folder}: the refitted model's ONNX sha256 is {export.sha256(model_bytes)[:12]}…, the "
                         f"artifact's {man['sha256'][:12]}…; its covers would describe another model")
    return man, pipe, model_bytes


def main(argv: list[str] | None = None) -> int:
    import manifest
    from data import InputError, load_features_csv

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models-dir", type=Path, default=REPO / "models")
    p.add_argument("--features", type=Path, help="the features CSV the artifacts were trained on (tree models)")
    p.add_argument("--name", nargs="+", help="artifact name(s) (default: every model folder with --version)")
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--dry-run", action="store_true", help="check and print, write nothing")
    args = p.parse_args(argv)
    names = args.name or sorted(q.parent.parent.name for q in args.models_dir.glob(f"*/{args.version}/manifest.json"))
    ds = None
    failed = 0
    for name in names:
        folder = manifest.artifact_dir(args.models_dir, name, args.version)
        man = json.loads((folder / "manifest.json").read_text())
        covers = None
        if man["framework"]["estimator"] != "sklearn.linear_model.LogisticRegression":
            if args.features is None:
                sys.exit(f"{name}: a tree model; --features (its training CSV) is needed to refit it")
            try:
                ds = ds or load_features_csv(args.features)
                _, pipe, model_bytes = refit(folder, ds, args.jobs)
                covers = tree_covers(pipe, model_bytes)
            except (InputError, ValueError) as e:
                print(f"{name}: NOT updated: {e}", file=sys.stderr, flush=True)
                failed += 1
                continue
        print(f"{name}: reasons for {len(man['features'])} features"
              + (f", covers of {len(covers['trees'])} trees (refit reproduced sha256 {man['sha256'][:12]}…)" if covers else ""),
              flush=True)
        if not args.dry_run:
            manifest.update_explanations(folder, reason_map(man["features"]), covers)
            print(f"  wrote {folder / 'manifest.json'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
