/**
 * Metrics of the model lifecycle: which revision and which models serve, refused specs by
 * reason, each role's decisions (flag rate of champion, canary and shadow), and how the shadow
 * compares with the decision actually made (agreement, score correlation). Closed label sets:
 * role, reason, decision, agreement, and the served models' names.
 */
import type { Meter } from '@opentelemetry/api';
import type { ModelRole, Outcome } from '../../../common/src/contracts.js';
import type { PipelineResult } from '../pipeline.js';
import { armsOf, type Serving } from '../deployment/serving.js';
import type { RefusalReason } from '../deployment/spec.js';

export interface DeploymentMetrics {
  refused(reason: RefusalReason): void;
  /** After a chunk's outputs are acknowledged. */
  chunkDelivered(results: readonly PipelineResult[]): void;
}

export function createDeploymentMetrics(meter: Meter, serving: () => Serving): DeploymentMetrics {
  const refusals = meter.createCounter('fraudscore_deployment_refusals', { description: 'Deployment specs refused (the models in force kept scoring), by reason' });
  const roleDecisions = meter.createCounter('fraudscore_role_decisions', { description: 'Decisions by the role of the model that made them (CHAMPION, CANARY, SHADOW) and outcome: flag rate per role' });
  const shadowAgreement = meter.createCounter('fraudscore_shadow_agreement', { description: 'Shadow decisions compared with the decision made for the same event: agree or disagree on ALLOW/REVIEW/BLOCK' });

  meter.createObservableGauge('fraudscore_deployment_revision', { description: 'Deployment revision in force (offset of its spec; -1: the fallback model)' }).addCallback((r) => r.observe(serving().revision));
  meter.createObservableGauge('fraudscore_model_info', { description: 'The models serving, by role (value 1)' }).addCallback((r) => {
    for (const arm of armsOf(serving())) r.observe(1, { role: arm.role.toLowerCase(), name: arm.model.ref.name, version: arm.model.ref.version, digest: arm.model.ref.digest });
  });

  // Pearson correlation of shadow and decided scores over the revision in force (reset by a swap).
  let corrRevision = Number.NaN;
  let n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  meter.createObservableGauge('fraudscore_shadow_score_correlation', { description: 'Pearson correlation of shadow and decided scores since the revision in force was applied' }).addCallback((r) => {
    if (n < 2 || corrRevision !== serving().revision) return;
    const cov = sxy - (sx * sy) / n;
    const vx = sxx - (sx * sx) / n;
    const vy = syy - (sy * sy) / n;
    if (vx > 0 && vy > 0) r.observe(cov / Math.sqrt(vx * vy));
  });

  // Per chunk, counts per (role, outcome) in a fixed table, then one counter add per non-zero
  // cell: nothing allocated per event (the shadow path runs for every event of every chunk).
  const ROLES: readonly ModelRole[] = ['CHAMPION', 'CANARY', 'SHADOW'];
  const OUTCOMES: readonly Outcome[] = ['ALLOW', 'REVIEW', 'BLOCK'];
  const cell = (role: ModelRole, decision: Outcome) => ROLES.indexOf(role) * 3 + OUTCOMES.indexOf(decision);
  const cellAttrs = ROLES.flatMap((role) => OUTCOMES.map((decision) => ({ role: role.toLowerCase(), decision })));
  const counts = new Array<number>(cellAttrs.length).fill(0);
  const agree = { agreement: 'agree' };
  const disagree = { agreement: 'disagree' };

  return {
    refused: (reason) => refusals.add(1, { reason }),
    chunkDelivered(results) {
      counts.fill(0);
      let agreed = 0;
      let disagreed = 0;
      for (const r of results) {
        if (r.kind !== 'decision') continue;
        const d = r.decision;
        counts[cell(d.role, d.decision)]!++;
        const s = r.shadow;
        if (!s) continue;
        counts[cell(s.role, s.decision)]!++;
        if (s.decision === d.decision) agreed++;
        else disagreed++;
        if (corrRevision !== s.deploymentRevision) {
          corrRevision = s.deploymentRevision;
          n = sx = sy = sxx = syy = sxy = 0;
        }
        n++;
        sx += d.score;
        sy += s.score;
        sxx += d.score * d.score;
        syy += s.score * s.score;
        sxy += d.score * s.score;
      }
      for (let i = 0; i < counts.length; i++) if (counts[i]) roleDecisions.add(counts[i]!, cellAttrs[i]!);
      if (agreed) shadowAgreement.add(agreed, agree);
      if (disagreed) shadowAgreement.add(disagreed, disagree);
    },
  };
}
