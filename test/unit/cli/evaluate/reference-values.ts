/**
 * Reference values computed once, independently, with scikit-learn 1.x (roc_auc_score,
 * average_precision_score) and the Python trainer (services/trainer/protocol.py: split_masks,
 * card_precision_at_k) in the trainer venv, then pasted here with their inputs. The inputs come
 * from a small LCG so they can be regenerated. `cpHandbook` is the handbook's
 * card_precision_top_k (detected cards removed from all later days) re-implemented in numpy.
 *
 * Generator (run from the repo root with $(bash services/trainer/setup.sh)):
 *
 *   import json, sys
 *   import numpy as np
 *   sys.path.insert(0, 'services/trainer')
 *   from sklearn.metrics import roc_auc_score, average_precision_score
 *   from protocol import Split, split_masks, card_precision_at_k
 *   from data import Dataset
 *
 *   state = 12345
 *   def rnd():
 *       global state
 *       state = (1103515245 * state + 12345) % (2**31)
 *       return state / 2**31
 *
 *   out = {}
 *   # 1. ties: scores on a 0.1 grid
 *   n = 60
 *   scores = [round(rnd() * 10) / 10 for _ in range(n)]
 *   labels = [1 if (rnd() < 0.15 + 0.5 * s) else 0 for s in scores]
 *   out['ties'] = dict(scores=scores, labels=labels,
 *                      auc=float(roc_auc_score(labels, scores)), ap=float(average_precision_score(labels, scores)))
 *   # 2. float32 continuous scores
 *   n = 40
 *   s32 = np.array([rnd() for _ in range(n)], dtype=np.float32)
 *   l2 = [1 if rnd() < 0.3 else 0 for _ in range(n)]
 *   out['float32'] = dict(scores=[float(x) for x in s32], labels=l2,
 *                         auc=float(roc_auc_score(l2, s32)), ap=float(average_precision_score(l2, s32)))
 *   # 3. card precision
 *   n = 90
 *   days = np.array([14 + int(rnd() * 5) for _ in range(n)])
 *   cards = np.array([int(rnd() * 8) for _ in range(n)])
 *   sc = np.array([round(rnd() * 20) / 20 for _ in range(n)])
 *   fr = np.array([1 if rnd() < 0.25 else 0 for _ in range(n)], dtype=np.int8)
 *   def handbook_cp(scores, fraud, customer, day, k):
 *       # the handbook's card_precision_top_k with remove_detected_compromised_cards=True, in numpy
 *       detected = set(); per = []
 *       for d in sorted(set(day.tolist())):
 *           rows = [i for i in range(len(day)) if day[i] == d and customer[i] not in detected]
 *           best = {}; hit = {}
 *           for i in rows:
 *               c = int(customer[i]); best[c] = max(best.get(c, -1), scores[i]); hit[c] = max(hit.get(c, 0), int(fraud[i]))
 *           top = sorted(best, key=lambda c: (-best[c], c))[:k]
 *           per.append(sum(hit[c] for c in top) / k)
 *           detected |= {c for c in top if hit[c]}
 *       return float(np.mean(per)), per
 *   hb, hb_per = handbook_cp(sc, fr, cards, days, 3)
 *   out['cp'] = dict(scores=sc.tolist(), labels=fr.tolist(), cards=cards.tolist(), days=days.tolist(), k=3,
 *                    cp=card_precision_at_k(sc, fr, cards, days, 3),
 *                    cp_handbook=hb, cp_handbook_per_day=hb_per,
 *                    cp_trainer_hb=card_precision_at_k(sc, fr, cards, days, 3, True))
 *   # 4. protocol: trainer split_masks on days 0..24, train_start 2
 *   n = 160
 *   d4 = np.array(sorted(int(rnd() * 25) for _ in range(n)), dtype=np.int64)
 *   c4 = np.array([int(rnd() * 10) for _ in range(n)], dtype=np.int64)
 *   f4 = np.array([1 if rnd() < 0.12 else 0 for _ in range(n)], dtype=np.int8)
 *   ds = Dataset(tx_id=np.array([str(i) for i in range(n)]), time_ms=d4 * 86400000, day=d4, customer=c4, fraud=f4,
 *                scenario=np.zeros(n, dtype=np.int8), X=np.zeros((n, 15)))
 *   split = Split('t', train_start=2, delta_train=5, delta_delay=4, delta_test=6)
 *   tr, te = split_masks(ds, split)
 *   out['protocol'] = dict(days=d4.tolist(), cards=c4.tolist(), labels=f4.tolist(), train_start=2,
 *                          delta_train=5, delta_delay=4, delta_test=6,
 *                          train_rows=int(tr.sum()), test_rows=np.nonzero(te)[0].tolist(),
 *                          test_rows_before=int(((d4 >= 11) & (d4 <= 16)).sum()))
 *   # test day range: 2+5+4=11 .. 16
 *   print(json.dumps(out))
 */

/** Scores on a 0.1 grid: many ties. */
export const TIES = {
  scores: [0.7, 0.3, 0.7, 0.1, 0.5, 0.5, 0.6, 0.4, 0.3, 0.4, 0.8, 0.2, 0.3, 0.6, 0.8, 1.0, 0.8, 0.5, 0.5, 0.6, 0.2, 0.7, 0.7, 1.0, 0.3, 0.4, 0.7, 0.7, 0.2, 0.0, 0.8, 0.0, 0.6, 0.2, 0.6, 0.5, 0.4, 0.2, 0.6, 0.7, 0.3, 1.0, 0.8, 0.4, 0.7, 0.1, 0.6, 0.5, 0.7, 0.9, 0.4, 0.8, 0.6, 0.0, 0.4, 0.1, 0.6, 0.4, 0.1, 0.8],
  labels: [1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1],
  auc: 0.6883333333333334,
  ap: 0.6732497851905751,
};

/** Continuous float32 scores (the values are exact float32 numbers). */
export const FLOAT32 = {
  scores: [0.37820032238960266, 0.06037454679608345, 0.2855854034423828, 0.7254372239112854, 0.2223118245601654, 0.35181307792663574, 0.42401427030563354, 0.3798231780529022, 0.7886824607849121, 0.9125422835350037, 0.6304718852043152, 0.4768880009651184, 0.5700809955596924, 0.6235468983650208, 0.7489500641822815, 0.9016257524490356, 0.4041477143764496, 0.35133877396583557, 0.04979398846626282, 0.437338262796402, 0.4542294144630432, 0.17146754264831543, 0.6548731923103333, 0.9217630624771118, 0.789823591709137, 0.9494531750679016, 0.9217369556427002, 0.9324983358383179, 0.6603824496269226, 0.49789053201675415, 0.6305036544799805, 0.9704743027687073, 0.056225720793008804, 0.028475794941186905, 0.3172350525856018, 0.6102220416069031, 0.650313138961792, 0.1177046149969101, 0.5975446701049805, 0.5856888890266418],
  labels: [0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0],
  auc: 0.6106666666666667,
  ap: 0.4769407825290178,
};

/** Card Precision@k over 5 days, 8 cards, scores on a 0.05 grid. */
export const CARD_PRECISION = {
  scores: [0.25, 0.05, 0.0, 0.15, 0.75, 0.45, 0.4, 0.2, 0.25, 0.7, 0.35, 0.05, 0.25, 0.2, 0.55, 0.85, 0.45, 0.55, 0.75, 0.85, 0.95, 0.55, 1.0, 0.75, 0.55, 0.6, 0.45, 0.9, 0.1, 0.7, 0.1, 0.25, 0.35, 0.65, 0.35, 0.4, 0.7, 0.8, 0.2, 0.85, 0.25, 0.7, 0.3, 0.75, 0.85, 0.85, 0.75, 0.65, 0.05, 0.75, 0.2, 0.65, 0.15, 0.0, 0.75, 0.25, 0.55, 0.95, 0.1, 0.15, 0.8, 0.15, 1.0, 0.95, 0.9, 0.25, 0.05, 0.45, 0.0, 0.8, 1.0, 0.2, 0.75, 0.25, 0.65, 0.9, 0.65, 0.75, 0.1, 0.85, 0.7, 0.55, 0.15, 0.5, 0.35, 0.5, 0.25, 0.25, 0.15, 0.4],
  labels: [0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0],
  cards: [2, 4, 5, 2, 0, 7, 6, 3, 6, 3, 0, 6, 1, 5, 0, 2, 2, 6, 0, 6, 7, 4, 3, 6, 6, 7, 2, 2, 1, 0, 4, 4, 4, 6, 3, 1, 2, 4, 2, 1, 5, 2, 2, 1, 4, 3, 1, 1, 4, 0, 6, 6, 2, 0, 6, 1, 6, 0, 0, 3, 5, 5, 5, 0, 3, 7, 5, 5, 3, 3, 2, 4, 7, 6, 2, 7, 5, 4, 4, 4, 0, 0, 4, 1, 6, 2, 1, 5, 1, 4],
  days: [15, 17, 15, 17, 17, 16, 14, 18, 18, 15, 15, 17, 16, 17, 14, 18, 14, 14, 17, 15, 18, 16, 15, 14, 17, 15, 15, 17, 14, 18, 18, 17, 14, 17, 14, 15, 18, 18, 17, 17, 16, 17, 18, 15, 16, 18, 17, 16, 14, 17, 16, 18, 15, 18, 15, 18, 14, 18, 16, 14, 16, 14, 15, 14, 14, 14, 17, 14, 15, 15, 17, 14, 15, 15, 17, 14, 17, 16, 16, 16, 14, 15, 16, 16, 18, 15, 18, 14, 15, 17],
  k: 3,
  /** trainer card_precision_at_k (no removal) */
  cp: 0.6666666666666666,
  /** handbook card_precision_top_k (cumulative removal of detected cards) */
  cpHandbook: 0.5333333333333333,
  cpHandbookPerDay: [0.6666666666666666, 0.3333333333333333, 0.6666666666666666, 0.0, 1.0],
  /** trainer card_precision_at_k(drop_previous_day_detected=True): previous day only, not the handbook */
  cpTrainerHb: 0.6,
};

/** trainer split_masks(Split(train_start=2, delta_train=5, delta_delay=4, delta_test=6)); days absolute. */
export const PROTOCOL = {
  days: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 7, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 20, 20, 20, 20, 21, 21, 21, 21, 21, 21, 21, 22, 22, 23, 23, 23, 23, 23, 23, 24, 24, 24, 24, 24, 24, 24],
  cards: [4, 1, 5, 0, 2, 5, 2, 3, 0, 6, 7, 4, 3, 7, 3, 6, 6, 1, 9, 5, 0, 6, 2, 9, 6, 6, 4, 9, 2, 6, 3, 3, 5, 4, 7, 3, 2, 9, 9, 9, 2, 2, 7, 6, 7, 3, 3, 5, 2, 3, 2, 7, 3, 2, 6, 6, 6, 0, 4, 1, 8, 9, 0, 0, 9, 3, 7, 8, 7, 0, 8, 2, 4, 8, 1, 3, 9, 8, 5, 0, 4, 8, 8, 6, 8, 7, 1, 7, 4, 3, 1, 4, 3, 8, 1, 9, 3, 2, 1, 4, 4, 2, 8, 3, 9, 1, 4, 3, 5, 7, 2, 9, 8, 8, 0, 3, 6, 3, 1, 1, 4, 4, 0, 1, 5, 1, 9, 2, 2, 4, 8, 4, 2, 5, 8, 1, 6, 2, 7, 5, 3, 6, 4, 6, 4, 4, 3, 3, 1, 3, 0, 8, 0, 9, 2, 0, 2, 5, 4, 8],
  labels: [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0],
  trainStart: 2,
  deltaTrain: 5,
  deltaDelay: 4,
  deltaTest: 6,
  trainRows: 27,
  testRowsBefore: 44,
  testRows: [62, 63, 64, 66, 67, 68, 69, 70, 72, 73, 74, 76, 77, 79, 80, 81, 82, 83, 84, 86, 88, 90, 91, 93, 94, 95, 98, 99, 100, 104, 105],
};
