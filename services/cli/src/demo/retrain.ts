/**
 * `demo --scenario retrain`: the drift scenario's world (amounts ×1.3 and card testing from day
 * 40) on topics of the run's own, while the champion decays and the loop a team would run
 * closes on the stream:
 *
 *   1. traffic flows until the labels of a post-drift test week are on the topics (the
 *      candidate's training week starts on the drift's first day; its test week ends 14 days
 *      later, and is labelled 7 days after that);
 *   2. `retrain --from-kafka` runs in-process on the run's topics (read-only replay), trains a
 *      candidate into a copy of the models folder kept with the run (the working tree's models/
 *      is never written), gates it against the champion on that test week through the serving
 *      path, and with a passed gate writes it as shadow to the run's deployments topic;
 *   3. once the scorer reports the shadow revision applied and a few simulated days of shadow
 *      decisions have passed, the candidate is promoted (verified, then written as champion);
 *   4. traffic goes on under the new champion to the end of the simulated days.
 *
 * At the end the outputs are read back committed (demo/lifecycle-audit.ts): every input has
 * exactly one decision or dead letter, every decision was made by the model its revision's
 * spec names, and the candidate's shadow and champion decisions are counted. The AP figures of
 * the summary line are the gate's own, on the post-drift test week's labelled rows.
 */
import { cpSync, createWriteStream, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Kafka } from 'kafkajs';
import { createCodecs, type Codecs, type DeploymentSpec, type ModelPin } from '../../../common/src/contracts.js';
import { loadConfig } from '../../../scorer/src/config.js';
import { describeSpec, pinName } from '../../../scorer/src/deployment/spec.js';
import type { TopicPlan } from '../../../scorer/src/source/topics.js';
import { resolveSimulationOptions, type DriftOptions, type SimEvent } from '../../../simulator/src/index.js';
import type { DemoEnd, DemoOptions, DemoScenario } from '../commands/demo.js';
import { DEFAULT_TOPIC_PLAN } from '../commands/topics.js';
import { readDefaultRef } from '../models/catalog.js';
import { pinOf, readHistory, readStatuses, verifySpec, writeSpec } from '../models/deployments.js';
import { kafkaDeployments } from '../retrain/deploy.js';
import { DEFAULT_BOUNDS } from '../retrain/gate.js';
import type { RetrainResult } from '../retrain/report.js';
import { runRetrain } from '../retrain/run.js';
import { DEFAULT_DELTAS, isoOfDay, type Deltas } from '../retrain/window.js';
import { driftOptions } from '../sim-options.js';
import { auditLifecycle } from './lifecycle-audit.js';
import { appliedRevision, say, sleep } from './console.js';

/** Events per second offered when --rate is not given. */
export const RETRAIN_RATE = 20_000;
/**
 * Simulated days when --days is not given: room after the retrain for shadow and promotion.
 * Measured at 20,000 events/s: the retrain starts on day 82.5 after about 100 s, takes about
 * 100 s (replay 60, training 35), and the stream moves on about 65 days meanwhile.
 */
export const RETRAIN_DAYS = 200;
const DRIFT_FROM_DAY = 40;
const DEFAULT_DRIFT: DriftOptions = { amountInflation: { fromDay: DRIFT_FROM_DAY, factor: 1.3 }, cardTesting: { fromDay: DRIFT_FROM_DAY, cardsPerDay: 25 } };
/**
 * Days after the drift starts before the candidate's training days begin: Δtrain + Δdelay, so
 * that the trainer's validation split (model choice, thresholds, calibration) starts on the
 * drift's first day too. With the validation split before the drift (settleDays 0) the
 * candidate ranks well but its calibration is fitted on the old world, and the gate's ECE
 * criterion rightly fails it (measured: ECE 0.018 against a bound of 0.012).
 */
export const SETTLE_DAYS = 14;
/** Simulated days of shadow decisions before the promotion. */
export const SHADOW_DAYS = 3;
/** Simulated days the promoted candidate must have left to decide at least. */
export const PROMOTED_DAYS = 2;
/** Stream time past the test week's last label before the retrain reads the topics (the publisher batches). */
const LABEL_MARGIN_DAYS = 0.5;
const REQUESTED_BY = 'fraudscore demo --scenario retrain';
const APPLY_TIMEOUT_MS = 120_000;

export interface RetrainDayPlan {
  /** Simulated day numbers (day 0 = the simulation's first day). */
  trainFirst: number;
  testFirst: number;
  testLast: number;
  /** The first validation training day (the earliest labelled day the retrain needs). */
  validationFirst: number;
  /** Stream day (fractional) at which every label of the test week has been published. */
  retrainAt: number;
  /** Days left after retrainAt for retraining, shadow and promotion. */
  daysAfter: number;
}

/**
 * Which days the retrain trains and tests on: the candidate's training week starts `settleDays`
 * after the drift's first day, so it learns the drifted world only; its test week (the gate's) ends
 * Δtrain + Δdelay + Δtest - 1 days later; the retrain starts once the stream has passed that
 * week's last label (label delay) by a margin. Throws when the simulated days leave no room.
 */
export function planRetrainDays(o: { driftDay: number; days: number; labelDelayDays: number; settleDays?: number; deltas?: Deltas }): RetrainDayPlan {
  const d = o.deltas ?? DEFAULT_DELTAS;
  const trainFirst = o.driftDay + (o.settleDays ?? SETTLE_DAYS);
  const testLast = trainFirst + d.deltaTrain - 1 + d.deltaDelay + d.deltaTest;
  const testFirst = testLast - d.deltaTest + 1;
  const validationFirst = trainFirst - d.deltaTrain - d.deltaDelay;
  const retrainAt = testLast + 1 + o.labelDelayDays + LABEL_MARGIN_DAYS;
  if (validationFirst < 0) throw new Error(`the candidate's training days start on day ${trainFirst}: its validation split needs ${d.deltaTrain + d.deltaDelay} labelled days before them`);
  const daysAfter = o.days - retrainAt;
  if (daysAfter < SHADOW_DAYS + PROMOTED_DAYS + 1) {
    throw new Error(`--days ${o.days} is too few: the post-drift test week ${testFirst}–${testLast} is labelled by day ${retrainAt}, and shadow and promotion need ${SHADOW_DAYS + PROMOTED_DAYS + 1} more days (give --days ${Math.ceil(retrainAt + SHADOW_DAYS + PROMOTED_DAYS + 1)} or more)`);
  }
  return { trainFirst, testFirst, testLast, validationFirst, retrainAt, daysAfter };
}

/** The summary line the scenario ends with. */
export function summaryLine(s: { championAp?: number; candidateAp?: number; gate?: 'pass' | 'fail'; deployed?: string; role?: string }): string {
  const ap = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(3));
  return `retrain: champion AP ${ap(s.championAp)} on the post-drift window, candidate AP ${ap(s.candidateAp)}, gate ${s.gate ?? 'fail'}, deployed ${s.deployed ?? 'nothing'} as ${s.role ?? 'none'}`;
}

interface Applied {
  revision: number;
  /** Stream day when the scorer reported it applied. */
  day: number;
}

export function retrainScenario(opts: DemoOptions): DemoScenario {
  const drift = driftOptions(opts) ?? DEFAULT_DRIFT;
  const driftDay = Math.min(drift.amountInflation?.fromDay ?? Infinity, drift.cardTesting?.fromDay ?? Infinity);
  const days = opts.days ?? RETRAIN_DAYS;
  const sim = resolveSimulationOptions({ seed: opts.seed, customers: opts.customers, terminals: opts.terminals, days, drift });
  const plan = planRetrainDays({ driftDay, days, labelDelayDays: sim.labelDelayMs / 86_400_000 });
  const DAY = 86_400_000;
  const dayIso = (day: number) => isoOfDay(Math.floor(sim.startMs / DAY) + day);

  let kafka: Kafka | undefined;
  let topics: TopicPlan | undefined;
  let codecs: Codecs | undefined;
  let wireFormat = 'confluent';
  let runDir = '';
  let modelsDir = '';
  let brokers = '';
  let log: WriteStream | undefined;
  let fallback: ModelPin | undefined;
  // The stream's clock: the newest transaction handed to the publisher, and how many.
  let clockMs = sim.startMs;
  let transactions = 0;
  let ended = false;
  let phase = 'waiting for the post-drift labels';
  let applied: number | undefined;
  let polling: NodeJS.Timeout | undefined;
  let stopped = false;
  let result: RetrainResult | undefined;
  let retrainExit: number | undefined;
  let shadow: Applied | undefined;
  let promoted: Applied | undefined;
  let candidatePin: ModelPin | undefined;
  const failures: string[] = [];
  const streamDay = () => (clockMs - sim.startMs) / DAY;

  /** Waits until `done` or publishing ends; true when done. */
  async function until(done: () => boolean, timeoutMs = Infinity): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (ended || Date.now() > deadline) return done();
      await sleep(200);
    }
    return true;
  }

  async function waitApplied(adminUrl: string, revision: number): Promise<Applied | undefined> {
    const deadline = Date.now() + APPLY_TIMEOUT_MS;
    for (;;) {
      applied = (await appliedRevision(adminUrl)) ?? applied;
      if (applied !== undefined && applied >= revision) return { revision, day: streamDay() };
      if (Date.now() > deadline) return undefined;
      await sleep(250);
    }
  }

  async function run(adminUrl: string): Promise<void> {
    // 1. Until the post-drift test week's labels are on the topics.
    if (!(await until(() => streamDay() >= plan.retrainAt))) {
      failures.push(`publishing ended on day ${streamDay().toFixed(1)}, before the test week's labels (day ${plan.retrainAt}): give more --seconds or a higher --rate`);
      return;
    }
    // 2. Retrain from Kafka, in-process, on the run's topics; the candidate as shadow after a passed gate.
    phase = 'retraining';
    const at = streamDay();
    say(`retrain: day ${at.toFixed(1)}: labels of the post-drift test week ${dayIso(plan.testFirst)}..${dayIso(plan.testLast)} (days ${plan.testFirst}–${plan.testLast}) are on ${topics!.outcomes}; running retrain --from-kafka --since ${dayIso(0)} --test-end ${dayIso(plan.testLast)} --deploy shadow (log ${join(runDir, 'retrain.log')})`);
    // The run's poison records are bad records to the replay, as they are dead letters to the
    // scorer: one per --poison-every transactions, counted up to where the replay will read (the
    // end offsets it captures when it starts, up to a minute of traffic from now).
    const maxBad = opts.poisonEvery > 0 ? Math.floor((transactions + opts.rate * 60) / opts.poisonEvery) + 1 : 0;
    let out = '';
    const t0 = Date.now();
    const outcome = await runRetrain(
      {
        input: { kind: 'kafka', since: dayIso(0), brokers, transactionsTopic: topics!.transactions, outcomesTopic: topics!.outcomes, maxBad },
        modelsDir,
        quick: false,
        deltas: DEFAULT_DELTAS,
        testEnd: dayIso(plan.testLast),
        bounds: DEFAULT_BOUNDS,
        outDir: join(runDir, 'retrain'),
        deploy: { mode: 'shadow', requestedBy: REQUESTED_BY, reason: `retrain on the post-drift weeks (test ${dayIso(plan.testFirst)}..${dayIso(plan.testLast)})` },
      },
      {
        out: (s) => (out += s),
        err: (s) => {
          log!.write(s);
          for (const line of s.split('\n')) if (/^retrain (\[|\s+(pass|FAIL|deploy) )/.test(line)) say(`retrain:   ${line.replace(/^retrain\s+/, '')}`);
        },
        deployments: kafkaDeployments({ brokers, topic: topics!.deployments, wireFormat }, (m) => say(`retrain: warning: ${m}`)),
      },
    );
    retrainExit = outcome.exitCode;
    result = outcome.result;
    say(`retrain: ${out.trim() || `(no JSON line: exit ${outcome.exitCode}, see ${join(runDir, 'retrain.log')})`}`);
    say(`retrain: retrain took ${((Date.now() - t0) / 1000).toFixed(0)} s of wall time (stream days ${at.toFixed(1)}–${streamDay().toFixed(1)}), exit ${outcome.exitCode}`);
    const deploy = result?.deploy;
    if (!result || result.gate !== 'pass' || !deploy?.written || deploy.revision === undefined) {
      failures.push(result ? `gate ${result.gate}${deploy?.why ? `; ${deploy.why}` : ''}: nothing deployed` : `retrain exit ${outcome.exitCode}: nothing judged`);
      phase = 'retrain done, nothing deployed';
      return;
    }
    candidatePin = await pinOf(modelsDir, result.candidate);

    // 3. The shadow applied, a few days of shadow decisions, then the promotion.
    phase = `waiting for revision ${deploy.revision} (shadow)`;
    shadow = await waitApplied(adminUrl, deploy.revision);
    if (!shadow) {
      failures.push(`the scorer did not report revision ${deploy.revision} applied within ${APPLY_TIMEOUT_MS / 1000} s`);
      return;
    }
    say(`retrain: day ${shadow.day.toFixed(1)}: the scorer reports revision ${shadow.revision} applied: ${result.candidate} scores every event as shadow of ${result.champion}`);
    phase = `shadow (revision ${shadow.revision})`;
    if (!(await until(() => streamDay() >= shadow!.day + SHADOW_DAYS))) {
      failures.push(`publishing ended on day ${streamDay().toFixed(1)}, before ${SHADOW_DAYS} days of shadow decisions: give more --days`);
      return;
    }
    const history = await readHistory(kafka!, topics!.deployments, codecs!.deploymentSpec, (m) => say(`retrain: ${m}`));
    const current = history.at(-1)?.spec;
    const spec: DeploymentSpec = {
      champion: candidatePin,
      shadow: null,
      canary: null,
      policy: current!.policy,
      requestedBy: REQUESTED_BY,
      requestedAt: Date.now(),
      reason: `promotion: ${result.candidate} after ${SHADOW_DAYS} days as shadow (gate AP ${result.models.candidate.ap?.toFixed(3)} vs ${result.models.champion.ap?.toFixed(3)})`,
      restoresRevision: null,
    };
    await verifySpec(modelsDir, spec);
    const revision = await writeSpec(kafka!, topics!.deployments, codecs!.deploymentSpec, spec);
    say(`retrain: day ${streamDay().toFixed(1)}: revision ${revision} written: ${describeSpec(spec)}`);
    phase = `waiting for revision ${revision} (promotion)`;
    promoted = await waitApplied(adminUrl, revision);
    if (!promoted) {
      failures.push(`the scorer did not report revision ${revision} applied within ${APPLY_TIMEOUT_MS / 1000} s`);
      return;
    }
    say(`retrain: day ${promoted.day.toFixed(1)}: the scorer reports revision ${revision} applied: ${pinName(candidatePin)} is the champion`);
    phase = `promoted (revision ${revision})`;
  }

  return {
    async prepare(k: Kafka, stamp: string, scorerEnv) {
      kafka = k;
      topics = Object.fromEntries(Object.entries(DEFAULT_TOPIC_PLAN).map(([key, t]) => [key, `${t}-retrain-${stamp}`])) as unknown as TopicPlan;
      runDir = join('runs', `demo-${stamp}`);
      // A copy of the models folder kept with the run: the candidate is written there, the scorer loads it from there.
      modelsDir = resolve(runDir, 'models');
      cpSync('models', modelsDir, { recursive: true });
      brokers = scorerEnv.FRAUD_KAFKA_BROKERS!;
      log = createWriteStream(join(runDir, 'retrain.log'));
      const env = { FRAUD_GROUP_ID: `fraudscore-scorer-retrain-${stamp}`, FRAUD_MODELS_DIR: modelsDir };
      const config = loadConfig({ ...process.env, ...scorerEnv, ...env });
      wireFormat = config.wireFormat;
      codecs = createCodecs(config.wireFormat);
      const fallbackRef = config.model || (await readDefaultRef(modelsDir));
      if (!fallbackRef) throw new Error(`${modelsDir}/default.json names no model`);
      fallback = await pinOf(modelsDir, fallbackRef);
      const kinds = [drift.amountInflation && `amounts ×${drift.amountInflation.factor ?? 1.3} from day ${drift.amountInflation.fromDay}`, drift.cardTesting && `card testing on ${drift.cardTesting.cardsPerDay ?? 5} cards a day from day ${drift.cardTesting.fromDay}`].filter(Boolean);
      say(`retrain: ${days} simulated days (${dayIso(0)} = day 0); drift: ${kinds.join(', ')}; champion ${fallbackRef}; this run's topics end in -retrain-${stamp}, its models folder ${modelsDir}`);
      say(`retrain: plan: candidate trains on days ${plan.trainFirst}–${plan.trainFirst + DEFAULT_DELTAS.deltaTrain - 1} (post-drift), gate on days ${plan.testFirst}–${plan.testLast}, retrain once the stream passes day ${plan.retrainAt}; then ${SHADOW_DAYS} days as shadow, then promoted`);
      return {
        topics: [],
        plan: topics,
        env,
        // Labels at their knownAt: the newest week stays unlabelled, as it would be live.
        simulation: { days, drift, flushOutcomes: false },
      };
    },

    observe(e: SimEvent) {
      if (e.kind !== 'transaction') return;
      transactions++;
      if (e.tx.eventTime > clockMs) clockMs = e.tx.eventTime;
    },

    published() {
      ended = true;
    },

    async publishing(adminUrl) {
      const poll = async () => {
        applied = (await appliedRevision(adminUrl)) ?? applied;
        if (!stopped) polling = setTimeout(() => void poll(), 1000).unref();
      };
      void poll();
      try {
        await run(adminUrl);
      } catch (err) {
        failures.push(`${phase}: ${(err as Error).stack ?? (err as Error).message}`);
        say(`retrain: ${failures.at(-1)}`);
      }
    },

    progress: () => ` | day ${streamDay().toFixed(1)} | ${phase}, revision applied ${applied === -1 ? '-1 (fallback)' : (applied ?? '?')}`,

    async finish(end: DemoEnd) {
      stopped = true;
      clearTimeout(polling);
      await new Promise<void>((r) => (log ? log.end(r) : r()));
      const k = kafka!;
      const history = await readHistory(k, topics!.deployments, codecs!.deploymentSpec, (msg) => say(`retrain: ${msg}`));
      const audit = await auditLifecycle(
        k,
        { decisions: topics!.decisions, dlq: topics!.dlq, shadowDecisions: topics!.shadowDecisions },
        codecs!.decision,
        { topic: topics!.transactions, ...end.inputs },
        new Map(history.map((r) => [r.revision, r.spec])),
        fallback!,
      );
      for (const s of (await readStatuses(k, topics!.deploymentStatus, codecs!.deploymentStatus)).values()) {
        say(`retrain: scorer ${s.instance} reports revision ${s.appliedRevision} applied, ${s.lastRevisionSeen} the newest seen${s.refusal ? `; refused: ${s.refusal}` : ''}`);
      }
      for (const [revision, t] of [...audit.byRevision].sort(([a], [b]) => a - b)) {
        const spec = history.find((r) => r.revision === revision)?.spec;
        const label = revision < 0 ? `fallback model ${pinName(fallback!)}` : `revision ${revision} (${spec ? describeSpec(spec) : 'not on the deployments topic'})`;
        say(`retrain: ${label}: ${t.decisions} decisions${t.shadow ? `, ${t.shadow} shadow decisions` : ''}`);
      }
      const shadowDecisions = shadow ? (audit.byRevision.get(shadow.revision)?.shadow ?? 0) : 0;
      const promotedDecisions = promoted ? (audit.byRevision.get(promoted.revision)?.decisions ?? 0) : 0;
      const candidate = result?.candidate ?? '-';
      say(`retrain: read back (committed): ${candidate} made ${shadowDecisions} shadow decisions (agreement with the champion's ${audit.shadow ? ((100 * audit.agreeing) / audit.shadow).toFixed(1) : '-'}%) and ${promotedDecisions} decisions as champion`);
      say(`retrain: model check: ${audit.mismatches} of ${audit.decisions + audit.shadow} decisions made by another model or role than their revision's spec gives`);
      for (const e of audit.mismatchExamples) say(`retrain:   ${e}`);
      say(`retrain: ${audit.inputs} events, ${audit.lost} lost, ${audit.duplicated} duplicated, ${audit.shadowDuplicated} shadow duplicated; report of the retrain ${result?.report.html ?? '-'}`);
      const champion = result?.models.champion;
      const trained = champion?.trainer_test?.average_precision;
      if (champion?.ap !== undefined) {
        say(`retrain: the champion ${champion.ref} decayed: AP ${typeof trained === 'number' ? `${trained.toFixed(3)} on its own test week when trained (its manifest; a world without drift)` : '-'}, ${champion.ap.toFixed(3)} on the post-drift test week ${result!.window.test.join('..')} (the gate's rows)`);
      }
      for (const f of failures) say(`retrain: ${f}`);
      const role = promoted ? 'champion' : shadow ? 'shadow' : undefined;
      say(summaryLine({ championAp: champion?.ap, candidateAp: result?.models.candidate.ap, gate: result?.gate, deployed: role ? candidate : undefined, role }));
      const clean = audit.lost === 0 && audit.duplicated === 0 && audit.shadowDuplicated === 0 && audit.mismatches === 0;
      const ok = result?.gate === 'pass' && retrainExit === 0 && shadow && promoted && shadowDecisions > 0 && promotedDecisions > 0 && failures.length === 0;
      return ok && clean && end.drained && end.scorerExit === 0 ? 0 : 1;
    },
  };
}
