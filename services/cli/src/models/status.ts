/**
 * `fraudscore models status`: the spec in force beside what each scorer instance says it
 * serves. Pure functions of what was read from the two topics, so the wording is testable.
 */
import type { DeploymentStatus, ModelRef } from '../../../common/src/contracts.js';
import { describeSpec } from '../../../scorer/src/deployment/spec.js';
import type { Revision } from './deployments.js';

/** current: serves the spec in force; behind: has not applied it (yet); refused: said no to a newer spec. */
export type InstanceState = 'current' | 'behind' | 'refused';

export interface InstanceView extends DeploymentStatus {
  state: InstanceState;
  reportedAgoMs: number;
}

export interface StatusView {
  deploymentsTopic: string;
  statusTopic: string;
  /** The last spec on the topic; null: none yet, every scorer serves its fallback model. */
  current: (Revision & { description: string }) | null;
  instances: InstanceView[];
}

export function statusView(deploymentsTopic: string, statusTopic: string, history: readonly Revision[], statuses: ReadonlyMap<string, DeploymentStatus>, now: number): StatusView {
  const last = history.at(-1);
  const revision = last?.revision ?? -1;
  const instances = [...statuses.values()]
    .sort((a, b) => a.instance.localeCompare(b.instance))
    .map((s): InstanceView => ({
      ...s,
      // A refusal is only reported with the serving that was kept, so it explains why the
      // instance is not on the current revision.
      state: s.appliedRevision === revision ? 'current' : s.refusal ? 'refused' : 'behind',
      reportedAgoMs: Math.max(0, now - s.reportedAt),
    }));
  return { deploymentsTopic, statusTopic, current: last ? { ...last, description: describeSpec(last.spec) } : null, instances };
}

export function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

const ref = (m: ModelRef) => `${m.name}/${m.version}`;

function served(s: DeploymentStatus): string {
  const parts = [`champion ${ref(s.champion)}`];
  if (s.shadow) parts.push(`shadow ${ref(s.shadow)}`);
  if (s.canary) parts.push(`canary ${ref(s.canary)} at ${s.canarySharePercent} %`);
  return parts.join(', ');
}

export function formatStatus(v: StatusView): string[] {
  const lines: string[] = [];
  if (v.current) {
    const { spec } = v.current;
    lines.push(`revision ${v.current.revision} in force: ${v.current.description} (policy ${spec.policy})`);
    lines.push(`  requested by ${spec.requestedBy} at ${new Date(spec.requestedAt).toISOString()}${spec.reason ? `: ${spec.reason}` : ''}`);
    if (spec.restoresRevision !== null) lines.push(`  a rollback: restores revision ${spec.restoresRevision}`);
  } else {
    lines.push(`no deployment on ${v.deploymentsTopic}: the scorers serve their fallback model (FRAUD_MODEL, else models/default.json)`);
  }
  if (v.instances.length === 0) {
    lines.push(`no scorer instance has reported on ${v.statusTopic} yet`);
    return lines;
  }
  lines.push(`instances (${v.instances.length}):`);
  for (const i of v.instances) {
    const applied = i.appliedRevision < 0 ? 'fallback' : `revision ${i.appliedRevision}`;
    const mark = i.state === 'current' ? '' : `  ${i.state.toUpperCase()}`;
    lines.push(`  ${i.instance}  ${applied}: ${served(i)}  (last seen revision ${i.lastRevisionSeen}, reported ${ago(i.reportedAgoMs)})${mark}`);
    if (i.refusal) lines.push(`    refusal: ${i.refusal}`);
  }
  return lines;
}
