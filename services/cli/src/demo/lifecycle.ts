/**
 * `demo --scenario lifecycle`: the standard demo's traffic, exactly-once, while a model goes
 * through its life on the stream. At 15, 35, 55 and 75 % of the publishing time a deployment
 * spec is pinned, verified and written (models/deployments.ts): fraud-lr as shadow of the
 * fraud-lgbm champion, then as a 10 % canary, then as champion, then a rollback to the spec
 * before it. The specs go to a deployments topic of the run's own (and the scorer reports to a
 * status topic of its own), so the deployment the user runs is never touched.
 *
 * At the end the outputs are read back committed and audited (demo/lifecycle-audit.ts): every
 * input of the run has exactly one decision or dead letter, every decision was made by the
 * model its revision's spec names for its card, and the shadow's decisions are compared with
 * the real ones.
 */
import { relative } from 'node:path';
import type { Kafka } from 'kafkajs';
import { createCodecs, type Codecs, type DeploymentSpec, type ModelPin } from '../../../common/src/contracts.js';
import { TOPICS } from '../../../common/src/kafka.js';
import { loadConfig } from '../../../scorer/src/config.js';
import { DEFAULT_POLICY, describeSpec } from '../../../scorer/src/deployment/spec.js';
import { resolveModelDir } from '../../../scorer/src/model/load.js';
import { topicSpecs } from '../../../scorer/src/source/topics.js';
import type { DemoEnd, DemoOptions, DemoScenario } from '../commands/demo.js';
import { DEFAULT_TOPIC_PLAN } from '../commands/topics.js';
import { pinOf, readHistory, readStatuses, rollbackTarget, verifySpec, writeSpec } from '../models/deployments.js';
import { auditLifecycle } from './lifecycle-audit.js';
import { appliedRevision, say, sleep } from './console.js';

const REQUESTED_BY = 'fraudscore demo --scenario lifecycle';
const CHAMPION = 'fraud-lgbm/1.0.0';
const CHALLENGER = 'fraud-lr/1.0.0';
const CANARY_SHARE = 10;

interface StepContext {
  kafka: Kafka;
  modelsDir: string;
  deployments: string;
  codecs: Codecs;
}

interface Step {
  /** When it is written: share of the publishing time. */
  at: number;
  make(ctx: StepContext): Promise<{ spec: DeploymentSpec; why: string }>;
}

/** A spec of pinned models (digests read from the models folder). */
async function pinned(ctx: StepContext, why: string, models: { champion: string; shadow?: string; canary?: string }): Promise<{ spec: DeploymentSpec; why: string }> {
  const spec: DeploymentSpec = {
    champion: await pinOf(ctx.modelsDir, models.champion),
    shadow: models.shadow ? await pinOf(ctx.modelsDir, models.shadow) : null,
    canary: models.canary ? { model: await pinOf(ctx.modelsDir, models.canary), sharePercent: CANARY_SHARE } : null,
    policy: DEFAULT_POLICY,
    requestedBy: REQUESTED_BY,
    requestedAt: Date.now(),
    reason: why,
    restoresRevision: null,
  };
  return { spec, why };
}

const STEPS: Step[] = [
  { at: 0.15, make: (ctx) => pinned(ctx, `shadow: ${CHALLENGER} scores every event beside the champion, its decisions only recorded`, { champion: CHAMPION, shadow: CHALLENGER }) },
  { at: 0.35, make: (ctx) => pinned(ctx, `canary: ${CHALLENGER} decides ${CANARY_SHARE} % of the cards`, { champion: CHAMPION, canary: CHALLENGER }) },
  { at: 0.55, make: (ctx) => pinned(ctx, `promotion: ${CHALLENGER} decides every card`, { champion: CHALLENGER }) },
  {
    at: 0.75,
    make: async (ctx) => {
      const target = rollbackTarget(await readHistory(ctx.kafka, ctx.deployments, ctx.codecs.deploymentSpec));
      const why = `rollback: restores revision ${target.revision}`;
      return { spec: { ...target.spec, requestedBy: REQUESTED_BY, requestedAt: Date.now(), reason: why, restoresRevision: target.revision }, why };
    },
  },
];

export function lifecycleScenario(opts: Pick<DemoOptions, 'seconds'>): DemoScenario {
  let ctx: StepContext | undefined;
  let statusTopic = '';
  let shadowTopic: string = TOPICS.shadowDecisions;
  let fallback: ModelPin | undefined;
  let written: number | undefined;
  let applied: number | undefined;
  let polling: NodeJS.Timeout | undefined;
  let stopped = false;
  const failures: string[] = [];
  const statusCommand = () => `npm run fraudscore -- models status --deployments-topic ${ctx!.deployments} --status-topic ${statusTopic}`;

  return {
    async prepare(kafka, stamp, scorerEnv) {
      const deployments = `${TOPICS.deployments}-demo-${stamp}`;
      statusTopic = `${TOPICS.deploymentStatus}-demo-${stamp}`;
      const env = { FRAUD_TOPIC_DEPLOYMENTS: deployments, FRAUD_TOPIC_DEPLOYMENT_STATUS: statusTopic };
      // What the scorer child will read from its environment: models folder, fallback model, wire format.
      const config = loadConfig({ ...process.env, ...scorerEnv, ...env });
      // Configured as topicSpecs configures the real deployments and status topics.
      const topics = topicSpecs({ ...DEFAULT_TOPIC_PLAN, deployments, deploymentStatus: statusTopic }, 1).filter((s) => s.topic === deployments || s.topic === statusTopic);
      ctx = { kafka, modelsDir: config.modelsDir, deployments, codecs: createCodecs(config.wireFormat) };
      shadowTopic = config.topics.shadowDecisions;
      fallback = await pinOf(config.modelsDir, relative(config.modelsDir, await resolveModelDir(config.modelsDir, config.model)));
      say(`lifecycle: this run's deployments topic ${deployments}, status topic ${statusTopic} (see them with: ${statusCommand()})`);
      return { topics, env };
    },

    async publishing(adminUrl) {
      const t0 = Date.now();
      const poll = async () => {
        applied = (await appliedRevision(adminUrl)) ?? applied;
        if (!stopped) polling = setTimeout(() => void poll(), 1000).unref();
      };
      void poll();
      for (const [i, step] of STEPS.entries()) {
        await sleep(t0 + step.at * opts.seconds * 1000 - Date.now());
        try {
          const { spec, why } = await step.make(ctx!);
          await verifySpec(ctx!.modelsDir, spec);
          written = await writeSpec(ctx!.kafka, ctx!.deployments, ctx!.codecs.deploymentSpec, spec);
          say(`lifecycle: revision ${written} written: ${describeSpec(spec)} (${why})`);
        } catch (err) {
          failures.push(`step ${i + 1} failed: ${(err as Error).message}`);
          say(`lifecycle: ${failures.at(-1)}`);
        }
      }
    },

    progress: () => ` | revision written ${written ?? '-'}, applied ${applied === -1 ? '-1 (fallback)' : (applied ?? '?')}`,

    async finish(end: DemoEnd) {
      stopped = true;
      clearTimeout(polling);
      const { kafka, codecs, deployments } = ctx!;
      const history = await readHistory(kafka, deployments, codecs.deploymentSpec, (msg) => say(`lifecycle: ${msg}`));
      const audit = await auditLifecycle(
        kafka,
        { decisions: DEFAULT_TOPIC_PLAN.decisions, dlq: DEFAULT_TOPIC_PLAN.dlq, shadowDecisions: shadowTopic },
        codecs.decision,
        { topic: DEFAULT_TOPIC_PLAN.transactions, ...end.inputs },
        new Map(history.map((r) => [r.revision, r.spec])),
        fallback!,
      );
      for (const s of (await readStatuses(kafka, statusTopic, codecs.deploymentStatus)).values()) {
        say(`lifecycle: scorer ${s.instance} reports revision ${s.appliedRevision} applied, ${s.lastRevisionSeen} the newest seen${s.refusal ? `; refused: ${s.refusal}` : ''}`);
      }
      for (const [revision, t] of [...audit.byRevision].sort(([a], [b]) => a - b)) {
        const label = revision < 0 ? 'fallback model' : `revision ${revision}`;
        say(`lifecycle: ${label}: ${t.decisions} decisions${t.canary ? ` (${t.canary} by the canary)` : ''}${t.shadow ? `, ${t.shadow} shadow decisions` : ''}`);
      }
      for (const f of failures) say(`lifecycle: ${f}`);
      if (audit.shadowDuplicated) say(`lifecycle: ${audit.shadowDuplicated} duplicated shadow decisions`);
      say(`lifecycle: history and status of this run: ${statusCommand()}`);
      say(`lifecycle: model check: ${audit.mismatches} of ${audit.decisions + audit.shadow} decisions made by another model or role than their revision's spec gives their card`);
      for (const e of audit.mismatchExamples) say(`lifecycle:   ${e}`);
      const revisions = [...audit.byRevision].filter(([r, t]) => r >= 0 && t.decisions > 0).length;
      const agreement = audit.shadow ? (100 * audit.agreeing) / audit.shadow : 0;
      say(`lifecycle: ${audit.inputs} events, ${revisions} revisions applied, ${audit.lost} lost, ${audit.duplicated} duplicated, shadow ${audit.shadow} scored, agreement ${agreement.toFixed(1)}%`);
      const clean = audit.lost === 0 && audit.duplicated === 0 && audit.shadowDuplicated === 0 && audit.mismatches === 0 && failures.length === 0;
      return clean && end.scorerExit === 0 ? 0 : 1;
    },
  };
}
