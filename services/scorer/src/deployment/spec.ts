/**
 * What makes a deployment spec acceptable before any model is loaded: names that can be
 * folders, digests that are sha256, a canary share within 0–100, a policy this scorer knows.
 * Shared by the scorer (which refuses a bad spec and keeps its models) and the CLI (which
 * refuses to write one).
 */
import type { DeploymentSpec, ModelPin } from '../../../common/src/contracts.js';

/** Decision policies this scorer implements (decision/policy.ts). */
export const KNOWN_POLICIES = ['policy-v1'] as const;
export const DEFAULT_POLICY = 'policy-v1';

/** Why a spec (or a model it names) was refused: the label of fraudscore_deployment_refusals_total. */
export type RefusalReason =
  | 'unreadable_spec'
  | 'invalid_spec'
  | 'unknown_policy'
  | 'unknown_model'
  | 'missing_artifact'
  | 'unsigned'
  | 'bad_signature'
  | 'invalid_manifest'
  | 'digest_mismatch'
  | 'feature_mismatch'
  | 'graph_refused'
  | 'warmup_failed';

export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'unreadable_spec', 'invalid_spec', 'unknown_policy', 'unknown_model', 'missing_artifact',
  'unsigned', 'bad_signature', 'invalid_manifest', 'digest_mismatch', 'feature_mismatch', 'graph_refused', 'warmup_failed',
];

export class DeploymentRefused extends Error {
  override name = 'DeploymentRefused';
  constructor(readonly reason: RefusalReason, message: string) {
    super(message);
  }
}

const NAME = /^[\w.-]+$/;
const DIGEST = /^[0-9a-f]{64}$/;

/** Throws DeploymentRefused naming the first problem of the spec's shape. */
export function checkSpec(spec: DeploymentSpec): void {
  const pins: [string, ModelPin][] = [['champion', spec.champion]];
  if (spec.shadow) pins.push(['shadow', spec.shadow]);
  if (spec.canary) pins.push(['canary', spec.canary.model]);
  for (const [role, pin] of pins) {
    if (!NAME.test(pin.name) || !NAME.test(pin.version) || pin.name.startsWith('.') || pin.version.startsWith('.')) {
      throw new DeploymentRefused('invalid_spec', `${role} ${pin.name}/${pin.version} is not a model name/version (letters, digits, _ . -)`);
    }
    if (!DIGEST.test(pin.digest)) throw new DeploymentRefused('invalid_spec', `${role} ${pin.name}/${pin.version}: digest must be 64 lowercase hex characters (the manifest's sha256)`);
  }
  if (spec.canary) {
    const share = spec.canary.sharePercent;
    if (!Number.isFinite(share) || share < 0 || share > 100) {
      throw new DeploymentRefused('invalid_spec', `canary share ${share} % is outside 0–100`);
    }
  }
  if (!(KNOWN_POLICIES as readonly string[]).includes(spec.policy)) {
    throw new DeploymentRefused('unknown_policy', `policy ${spec.policy} is not one this scorer implements (${KNOWN_POLICIES.join(', ')})`);
  }
}

export const pinName = (pin: ModelPin): string => `${pin.name}/${pin.version}`;

/** One line for logs and the CLI: "champion a/1, shadow b/2, canary c/3 at 5 %". */
export function describeSpec(spec: DeploymentSpec): string {
  const parts = [`champion ${pinName(spec.champion)}`];
  if (spec.shadow) parts.push(`shadow ${pinName(spec.shadow)}`);
  if (spec.canary) parts.push(`canary ${pinName(spec.canary.model)} at ${spec.canary.sharePercent} %`);
  return parts.join(', ');
}
