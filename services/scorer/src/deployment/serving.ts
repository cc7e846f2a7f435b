/**
 * What scores a chunk: the models of one deployment revision, each with its decision policy.
 * A Serving is immutable; a new revision is a new object, swapped in whole between chunks, so
 * a chunk is never scored half by one revision and half by another.
 */
import type { ModelRole } from '../../../common/src/contracts.js';
import type { Policy } from '../decision/policy.js';
import type { Model } from '../model/load.js';

export interface Arm {
  readonly role: ModelRole;
  readonly model: Model;
  readonly policy: Policy;
}

export interface Serving {
  /** Offset of the spec on the deployments topic; -1: no spec, the fallback model. */
  readonly revision: number;
  readonly champion: Arm;
  /** Decides the cards in its share (canary.ts); the champion decides the others. */
  readonly canary?: Arm & { readonly sharePercent: number };
  /** Scores every event; its decisions are recorded apart and never decide. */
  readonly shadow?: Arm;
}

export function armsOf(serving: Serving): Arm[] {
  return [serving.champion, ...(serving.canary ? [serving.canary] : []), ...(serving.shadow ? [serving.shadow] : [])];
}
