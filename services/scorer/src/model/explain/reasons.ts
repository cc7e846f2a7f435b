/**
 * Reason codes from contributions: the features that pushed this row's margin up the most,
 * named by the manifest's `reasons` map ({feature: {code, text}}, written by the trainer,
 * services/trainer/reasons.py).
 *
 * A model whose manifest has no map (trained before reason codes existed), or has no valid
 * entry for a feature, gets a code derived from the feature name — `FEATURE_` + the name in
 * upper snake case (TX_AMOUNT → FEATURE_TX_AMOUNT) — and the text "<name> raised the risk",
 * so every feature always has a code and codes never depend on a model's position in a list.
 * Texts are neutral on purpose: a positive contribution says the feature's value raised the
 * score relative to the average row, not that the value is "high".
 */
import { z } from 'zod';

export interface ReasonCode {
  code: string;
  text: string;
}

export interface TopReason extends ReasonCode {
  /** Feature name and its index in the model-input order. */
  feature: string;
  index: number;
  /** Its contribution to the raw margin (> 0). */
  contribution: number;
}

const entry = z.object({ code: z.string().regex(/^[A-Z][A-Z0-9_]*$/), text: z.string().min(1) });

/** The code a feature gets when the manifest names none. */
export function derivedReason(feature: string): ReasonCode {
  const snake = feature
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return { code: `FEATURE_${snake || 'UNNAMED'}`, text: `${feature} raised the risk` };
}

/** One code per feature, in feature order: the manifest's entry when valid, else the derived one. */
export function reasonTable(features: readonly string[], map: unknown): ReasonCode[] {
  const m = typeof map === 'object' && map !== null ? (map as Record<string, unknown>) : {};
  return features.map((f) => {
    const parsed = Object.hasOwn(m, f) ? entry.safeParse(m[f]) : undefined;
    return parsed?.success ? { code: parsed.data.code, text: parsed.data.text } : derivedReason(f);
  });
}

/**
 * The k features with the largest positive contributions, largest first; equal contributions
 * in feature order. Features with a contribution <= 0 (or NaN) are never reasons, so fewer
 * than k may come back.
 */
export function topReasons(contributions: ArrayLike<number>, table: readonly ReasonCode[], features: readonly string[], k = 3): TopReason[] {
  const picked: TopReason[] = [];
  const n = Math.min(contributions.length, table.length, features.length);
  for (let i = 0; i < n; i++) {
    const c = contributions[i] as number;
    if (!(c > 0)) continue;
    // Insertion into the (at most k) best so far; a later index with an equal value goes after.
    let at = picked.length;
    while (at > 0 && (picked[at - 1] as TopReason).contribution < c) at--;
    if (at >= k) continue;
    picked.splice(at, 0, { ...(table[i] as ReasonCode), feature: features[i] as string, index: i, contribution: c });
    if (picked.length > k) picked.pop();
  }
  return picked;
}
