"""Prints the results side by side with the handbook's baseline table (same split/protocol)."""
from __future__ import annotations

#: Handbook test results on the 2018-07-25 / 08-08 split: (AUC ROC, AP, CP@100).
HANDBOOK = {
    "logistic regression": (0.871, 0.606, 0.291),
    "random forest": (0.867, 0.658, 0.287),
    "XGBoost": (0.862, 0.639, 0.273),
}


def _f(v) -> str:
    return f"{v:.3f}" if isinstance(v, (int, float)) else "  -  "


def print_table(results: list[dict], default_name: str) -> None:
    """One row per model: validation and test AUC/AP/CP@100 (+ handbook-variant CP@100)."""
    head = f"{'model':<22}{'val AUC':>8}{'val AP':>8}{'val CP':>8} |{'AUC':>7}{'AP':>7}{'CP@100':>8}{'CP_hb':>7}"
    print("\n" + head + "\n" + "-" * len(head))
    for r in results:
        v, t = r["validation"], r["test"]
        mark = " *" if r["name"] == default_name else ""
        print(f"{r['name'] + mark:<22}{_f(v['auc_roc']):>8}{_f(v['average_precision']):>8}{_f(v['cp100']):>8} |"
              f"{_f(t['auc_roc']):>7}{_f(t['average_precision']):>7}{_f(t['cp100']):>8}{_f(t['cp100_hb']):>7}")
    for name, (auc, ap, cp) in HANDBOOK.items():
        print(f"{'handbook ' + name:<46}|{auc:>7.3f}{ap:>7.3f}{cp:>8.3f}")
    print("* default (best validation AP). CP_hb: handbook implementation detail, cards found in the\n"
          "  previous day's top 100 are left out of the next day's ranking.")
