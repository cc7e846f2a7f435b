/**
 * `retrain --deploy shadow|canary`: after a passed gate, a deployment spec that keeps the
 * champion in force and adds the candidate beside it, verified with the scorer's own checks
 * (models/deployments.ts verifySpec) and written to the deployments topic like `models
 * deploy`. Never as champion: promoting is a decision for a person who has watched the
 * shadow or canary (`fraudscore models deploy --champion`), not for a batch job.
 *
 * planDeployment decides, without a broker, whether anything is written and what.
 */
import type { Kafka } from 'kafkajs';
import type { WireFormat } from '../../../common/src/avro.js';
import { createCodecs, type DeploymentSpec, type ModelPin } from '../../../common/src/contracts.js';
import { createKafka } from '../../../common/src/kafka.js';
import { DEFAULT_POLICY, describeSpec, pinName } from '../../../scorer/src/deployment/spec.js';
import { assertTopicsExist } from '../../../scorer/src/source/topics.js';
import { resolveBrokers } from '../env.js';
import { readHistory, writeSpec } from '../models/deployments.js';
import { BadInput } from './errors.js';

export type DeployMode = 'shadow' | 'canary';

/** --deploy's value; champion is refused with the reason. */
export function parseDeployMode(v: string | undefined): DeployMode | undefined {
  if (v === undefined) return undefined;
  if (v === 'shadow' || v === 'canary') return v;
  if (v === 'champion') {
    throw new BadInput('--deploy champion is refused: retrain adds a candidate only as shadow or canary next to the champion in force. ' +
      'Promote it after watching it serve, with `fraudscore models deploy --champion <name/version>`');
  }
  throw new BadInput(`--deploy takes shadow or canary, not ${JSON.stringify(v)}`);
}

export function parseShare(v: string | undefined, mode: DeployMode | undefined): number | undefined {
  if (v === undefined) {
    if (mode === 'canary') throw new BadInput('--deploy canary needs --canary-share <0-100> (percent of cards it decides)');
    return undefined;
  }
  if (mode !== 'canary') throw new BadInput('--canary-share is for --deploy canary');
  const n = v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new BadInput(`--canary-share must be a percentage 0–100, got ${JSON.stringify(v)}`);
  return n;
}

export interface DeployPlanInput {
  gatePassed: boolean;
  mode: DeployMode;
  sharePercent?: number;
  candidate: ModelPin;
  /** The champion the gate compared against. */
  gateChampion: ModelPin;
  /** The spec in force on the deployments topic (undefined: none yet, the scorers serve their fallback). */
  current: DeploymentSpec | undefined;
  requestedBy: string;
  reason: string;
  now: number;
}

export type DeployPlan = { write: false; why: string } | { write: true; spec: DeploymentSpec };

const samePin = (a: ModelPin, b: ModelPin): boolean => a.name === b.name && a.version === b.version && a.digest === b.digest;

/** What --deploy writes, or why it writes nothing. */
export function planDeployment(o: DeployPlanInput): DeployPlan {
  if (!o.gatePassed) return { write: false, why: `the gate failed: ${pinName(o.candidate)} is not deployed` };
  // The gate's comparison only speaks for the champion it compared against.
  const inForce = o.current?.champion ?? o.gateChampion;
  if (!samePin(inForce, o.gateChampion)) {
    return { write: false, why: `the champion in force is ${pinName(inForce)} (${inForce.digest.slice(0, 12)}), the gate compared against ${pinName(o.gateChampion)} (${o.gateChampion.digest.slice(0, 12)}): run retrain again against the champion in force` };
  }
  if (o.candidate.name === inForce.name && o.candidate.version === inForce.version) return { write: false, why: `${pinName(o.candidate)} is the champion already` };
  let canary = o.current?.canary ?? null;
  let shadow = o.current?.shadow ?? null;
  if (o.mode === 'shadow') shadow = o.candidate;
  else {
    if (o.sharePercent === undefined) return { write: false, why: '--deploy canary needs --canary-share' };
    canary = { model: o.candidate, sharePercent: o.sharePercent };
  }
  return {
    write: true,
    spec: {
      champion: inForce,
      shadow,
      canary,
      policy: o.current?.policy ?? DEFAULT_POLICY,
      requestedBy: o.requestedBy,
      requestedAt: o.now,
      reason: o.reason,
      restoresRevision: null,
    },
  };
}

/** The deployments topic, as retrain needs it. */
export interface Deployments {
  current(): Promise<DeploymentSpec | undefined>;
  write(spec: DeploymentSpec): Promise<number>;
  describe(spec: DeploymentSpec): string;
}

export interface TopicOptions {
  brokers?: string;
  topic: string;
  wireFormat: string;
}

/** The real topic, through models/deployments.ts (connects on first use). */
export function kafkaDeployments(o: TopicOptions, warn: (msg: string) => void): Deployments {
  if (o.wireFormat !== 'confluent' && o.wireFormat !== 'plain') throw new BadInput(`--wire-format must be confluent or plain, not ${o.wireFormat}`);
  const codec = createCodecs(o.wireFormat as WireFormat).deploymentSpec;
  let kafka: Promise<Kafka> | undefined;
  const connect = () =>
    (kafka ??= (async () => {
      const k = createKafka({ brokers: resolveBrokers(o.brokers), clientId: 'fraudscore-retrain' });
      await assertTopicsExist(k, [o.topic]);
      return k;
    })());
  return {
    current: async () => (await readHistory(await connect(), o.topic, codec, warn)).at(-1)?.spec,
    write: async (spec) => writeSpec(await connect(), o.topic, codec, spec),
    describe: describeSpec,
  };
}
