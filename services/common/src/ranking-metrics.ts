/**
 * The handbook's three ranking metrics, as pure functions over plain arrays: used by the
 * offline evaluation (services/cli/src/evaluate) and the live monitor (services/monitor).
 *
 * Why written out rather than imported: the evaluation must run in the same process as the
 * onnxruntime-node scorer, and each definition has to agree with the reference (scikit-learn
 * for AUC ROC and Average Precision, the handbook's card_precision_top_k for CP@k) to the last
 * digit, ties included. Everything is computed in float64 over the given scores.
 */

/** Anything indexable by row: Float32Array scores, Uint8Array labels, plain arrays in tests. */
export type Column = ArrayLike<number>;

function check(scores: Column, labels: Column): void {
  if (scores.length !== labels.length) {
    throw new RangeError(`scores has ${scores.length} rows, labels ${labels.length}`);
  }
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i] as number)) throw new RangeError(`score of row ${i} is NaN`);
  }
}

/** Row indices ordered by score, ascending (descending with desc), ties in row order. */
function order(scores: Column, desc: boolean): Uint32Array {
  const idx = new Uint32Array(scores.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  const s = Float64Array.from(scores as ArrayLike<number>);
  const sign = desc ? -1 : 1;
  // TypedArray sort is a stable merge sort in V8 (and the spec requires stability since ES2019).
  return idx.sort((a, b) => sign * ((s[a] as number) - (s[b] as number)));
}

/**
 * Area under the ROC curve, as the Mann-Whitney statistic with tied scores given their
 * average rank: P(score of a random fraud > score of a random genuine) + ½ P(equal). This is
 * exactly scikit-learn's roc_auc_score (trapezoids over the curve whose points are the distinct
 * thresholds). NaN when only one class is present.
 */
export function aucRoc(scores: Column, labels: Column): number {
  check(scores, labels);
  const n = scores.length;
  let pos = 0;
  for (let i = 0; i < n; i++) if (labels[i]) pos++;
  const neg = n - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  const idx = order(scores, false);
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    const v = scores[idx[i] as number] as number;
    let j = i;
    let posInGroup = 0;
    while (j < n && scores[idx[j] as number] === v) {
      if (labels[idx[j] as number]) posInGroup++;
      j++;
    }
    // Ranks i+1 .. j share their mean.
    rankSumPos += posInGroup * ((i + 1 + j) / 2);
    i = j;
  }
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Average Precision as scikit-learn defines it (no interpolation):
 * AP = Σ_n (R_n − R_{n−1}) · P_n, over the distinct score thresholds from high to low, where
 * P_n and R_n are precision and recall when flagging every row scoring ≥ the n-th threshold.
 * Tied scores enter together, as one threshold. NaN when there is no fraud.
 */
export function averagePrecision(scores: Column, labels: Column): number {
  check(scores, labels);
  const n = scores.length;
  let pos = 0;
  for (let i = 0; i < n; i++) if (labels[i]) pos++;
  if (pos === 0) return Number.NaN;
  const idx = order(scores, true);
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let i = 0; i < n; ) {
    const v = scores[idx[i] as number] as number;
    let j = i;
    while (j < n && scores[idx[j] as number] === v) {
      if (labels[idx[j] as number]) tp++;
      else fp++;
      j++;
    }
    const recall = tp / pos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
    i = j;
  }
  return ap;
}

export interface CardRows {
  /** Score of each row. */
  scores: Column;
  /** 1 when the row is a fraud. */
  labels: Column;
  /**
   * Card of each row as a small integer code. Among cards whose best scores tie, the lower
   * code ranks first; give codes in card-id order to match the Python trainer's np.unique.
   */
  cards: Column;
  /** Day of each row (any integer day numbering). */
  days: Column;
}

export interface CardPrecisionOptions {
  /**
   * The handbook implementation's extra rule: the compromised cards found in the top k of
   * any earlier test day are left out of later days' rankings (an investigator already
   * blocked them). SIMULATION.md's definition, and the headline figure, is without it.
   */
  removeDetected?: boolean;
}

export interface CardPrecision {
  /** Mean of perDay. NaN when there are no rows. */
  mean: number;
  /** Ascending days present in the rows. */
  days: number[];
  /** Fraction of the k top-ranked cards of each day that had a fraud that day. */
  perDay: number[];
}

/**
 * Card Precision@k: for each day, each card's highest score and whether it had a fraud that
 * day; the k cards with the highest scores; the fraction of them that are compromised (always
 * over k, even when fewer cards are active); averaged over the days.
 */
export function cardPrecisionAtK(rows: CardRows, k = 100, opts: CardPrecisionOptions = {}): CardPrecision {
  const n = rows.scores.length;
  if (rows.labels.length !== n || rows.cards.length !== n || rows.days.length !== n) {
    throw new RangeError('scores, labels, cards and days must have the same length');
  }
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  const byDay = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const d = rows.days[i] as number;
    let list = byDay.get(d);
    if (!list) byDay.set(d, (list = []));
    list.push(i);
  }
  const days = [...byDay.keys()].sort((a, b) => a - b);
  const detected = new Set<number>();
  const perDay: number[] = [];
  for (const d of days) {
    const best = new Map<number, { score: number; fraud: boolean }>();
    for (const i of byDay.get(d) as number[]) {
      const card = rows.cards[i] as number;
      if (opts.removeDetected && detected.has(card)) continue;
      const s = rows.scores[i] as number;
      const fraud = (rows.labels[i] as number) !== 0;
      const cur = best.get(card);
      if (!cur) best.set(card, { score: s, fraud });
      else {
        if (s > cur.score) cur.score = s;
        if (fraud) cur.fraud = true;
      }
    }
    const ranked = [...best.entries()].sort((a, b) => b[1].score - a[1].score || a[0] - b[0]).slice(0, k);
    let hits = 0;
    for (const [card, c] of ranked) {
      if (!c.fraud) continue;
      hits++;
      if (opts.removeDetected) detected.add(card);
    }
    perDay.push(hits / k);
  }
  const mean = perDay.length ? perDay.reduce((a, b) => a + b, 0) / perDay.length : Number.NaN;
  return { mean, days, perDay };
}
