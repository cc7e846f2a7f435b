/**
 * A model's drift baseline: the reference histograms its manifest carries (written by the
 * trainer from its training rows), found in the models folder by name and version and
 * trusted only when the manifest's sha256 is the digest the decisions name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifestSchema } from '../../scorer/src/model/manifest.js';
import type { Calibration } from './cbpe.js';
import type { Histogram, Range } from './drift.js';
import type { ModelKey, ReferenceEdges } from './store.js';

export interface Reference extends ReferenceEdges {
  names: readonly string[];
  featureFractions: readonly (readonly number[])[];
  scoreFractions: readonly number[];
  thresholds: { review: number; block: number };
  /** The manifest's validation figures (metrics.validation), for the alerts' comparisons. */
  validation?: Record<string, unknown>;
  /** The trainer's calibration of the raw score (CBPE needs it); undefined: no estimates. */
  calibration?: Calibration;
}

/** A manifest's `calibration`, if it is a usable monotone map. */
function calibrationOf(raw: unknown): Calibration | undefined {
  const c = raw as { x?: unknown; y?: unknown } | undefined;
  if (!c || !Array.isArray(c.x) || !Array.isArray(c.y) || c.x.length < 2 || c.x.length !== c.y.length) return undefined;
  const x = c.x as number[];
  const y = c.y as number[];
  const ok = x.every((v, i) => typeof v === 'number' && (i === 0 || v > x[i - 1]!)) && y.every((v, i) => typeof v === 'number' && v >= 0 && v <= 1 && (i === 0 || v >= y[i - 1]!));
  return ok ? { x, y } : undefined;
}

const rangeOf = (h: Histogram): Range | undefined => (h.min !== undefined && h.max !== undefined && h.min <= h.max ? [h.min, h.max] : undefined);

/** Loads (once per model) the reference of a model, or undefined when it has none here. */
export function referenceLoader(modelsDir: string, warn: (msg: string) => void): (m: ModelKey) => Reference | undefined {
  const cache = new Map<string, Reference | undefined>();
  return (m) => {
    const key = `${m.name}/${m.version}@${m.digest}`;
    if (cache.has(key)) return cache.get(key);
    let ref: Reference | undefined;
    try {
      const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(modelsDir, m.name, m.version, 'manifest.json'), 'utf8')));
      const h = manifest.reference_histograms;
      if (manifest.sha256 !== m.digest) warn(`${m.name}/${m.version}: the manifest in ${modelsDir} is for another artifact (sha256 ${manifest.sha256.slice(0, 12)}, decisions name ${m.digest.slice(0, 12)}); no drift for it`);
      else if (!h?.score || manifest.features.some((f) => !h.features[f])) warn(`${m.name}/${m.version}: its manifest has no reference histograms for every feature and the score; no drift for it`);
      else {
        const features: Histogram[] = manifest.features.map((f) => h.features[f]!);
        ref = {
          names: manifest.features,
          features: features.map((x) => x.edges),
          featureFractions: features.map((x) => x.fractions),
          featureRanges: features.map(rangeOf),
          score: h.score.edges,
          scoreFractions: h.score.fractions,
          scoreRange: rangeOf(h.score),
          thresholds: manifest.thresholds,
          validation: (manifest.metrics as { validation?: Record<string, unknown> } | undefined)?.validation,
          calibration: calibrationOf((manifest as { calibration?: unknown }).calibration),
        };
        if (!ref.calibration) warn(`${m.name}/${m.version}: its manifest has no usable calibration; no performance estimates for it (services/trainer/calibrate.py adds one)`);
      }
    } catch (err) {
      warn(`${m.name}/${m.version}: no manifest readable in ${modelsDir} (${(err as Error).message}); no drift for it`);
    }
    cache.set(key, ref);
    return ref;
  };
}
