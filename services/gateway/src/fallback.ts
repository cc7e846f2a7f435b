/**
 * The degraded answer: when the scorer's decision misses the deadline, the gateway answers from
 * the request alone with the rules of the model's manifest (`fallback_policy`, written by the
 * trainer's fallback.py from its training rows), never with rules in code. The real decision is
 * still made on the stream and recorded there. Pure: no I/O.
 */
import { z } from 'zod';
import type { Outcome, Transaction } from '../../common/src/contracts.js';

const FIELDS = ['amountMinor', 'eventTime', 'channel', 'entryMode', 'cardPresent', 'currency', 'merchantCountry', 'merchantCategoryCode'] as const;
const value = z.union([z.number(), z.string(), z.boolean(), z.null()]);
const policySchema = z.object({
  rules: z.array(z.object({
    when: z.object({ field: z.enum(FIELDS), op: z.enum(['>=', '>', '<=', '<', '==', '!=']), value }),
    decision: z.enum(['ALLOW', 'REVIEW', 'BLOCK']),
    reason: z.string().regex(/^[A-Z0-9_]{1,64}$/),
  })),
  otherwise: z.enum(['ALLOW', 'REVIEW', 'BLOCK']),
}).passthrough();

export type FallbackPolicy = z.infer<typeof policySchema>;

export interface Degraded {
  decision: Outcome;
  reasons: string[];
}

/** The manifest's policy, or an error that names the model and what is wrong. */
export function readFallbackPolicy(manifest: Record<string, unknown>, model: string): FallbackPolicy {
  if (manifest.fallback_policy === undefined) throw new Error(`model ${model} has no fallback_policy in its manifest (train it again, or add one: services/trainer/fallback.py)`);
  const parsed = policySchema.safeParse(manifest.fallback_policy);
  if (!parsed.success) throw new Error(`model ${model}: fallback_policy is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

function holds(actual: unknown, op: string, expected: unknown): boolean {
  if (op === '==') return actual === expected;
  if (op === '!=') return actual !== expected;
  if (typeof actual !== 'number' || typeof expected !== 'number') return false;
  return op === '>=' ? actual >= expected : op === '>' ? actual > expected : op === '<=' ? actual <= expected : actual < expected;
}

/** The first rule that holds decides; else `otherwise`. Reasons: DEADLINE_EXCEEDED, then the rule's. */
export function degradedDecision(policy: FallbackPolicy, tx: Transaction): Degraded {
  for (const rule of policy.rules) {
    if (holds(tx[rule.when.field], rule.when.op, rule.when.value)) return { decision: rule.decision, reasons: ['DEADLINE_EXCEEDED', rule.reason] };
  }
  return { decision: policy.otherwise, reasons: ['DEADLINE_EXCEEDED'] };
}
