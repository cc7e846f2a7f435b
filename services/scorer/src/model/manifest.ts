/**
 * The model artifact contract: models/<name>/<version>/{model.onnx, manifest.json}. The
 * manifest is written by services/trainer; this schema names only what serving relies on and
 * lets the trainer add more (metrics, training description) freely.
 */
import { z } from 'zod';

// min/max: the training rows' range (trainer histograms.py), for the monitor's out-of-range share.
const histogram = z.object({ edges: z.array(z.number()), fractions: z.array(z.number()), min: z.number().optional(), max: z.number().optional() });

export const manifestSchema = z
  .object({
    name: z.string().regex(/^[\w.-]+$/),
    version: z.string().regex(/^[\w.-]+$/),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'),
    features: z.array(z.string()).min(1),
    feature_set_version: z.string().min(1),
    thresholds: z
      .object({ review: z.number().min(0).max(1), block: z.number().min(0).max(1) })
      .refine((t) => t.review <= t.block, 'review threshold must not exceed block threshold'),
    threshold_rule: z.string().optional(),
    input_name: z.string().default('features'),
    output_name: z.string().default('probabilities'),
    /** Training distributions for drift checks: per feature and for the score. */
    reference_histograms: z
      .object({ features: z.record(z.string(), histogram), score: histogram.optional() })
      .passthrough()
      .optional(),
    metrics: z.unknown().optional(),
  })
  .passthrough();

export type Manifest = z.infer<typeof manifestSchema>;
