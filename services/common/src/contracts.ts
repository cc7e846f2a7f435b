/**
 * TypeScript shapes of the wire contracts in schemas/*.avsc, and their codecs.
 * The .avsc files are the source of truth; these types follow them field by field.
 */
import { createCodec, loadSchema, localRegistry, schemaIdOf, type Codec, type SchemaRegistry, type WireFormat } from './avro.js';

export type Channel = 'POS' | 'ECOM' | 'ATM' | 'MOTO' | 'UNKNOWN';
export type EntryMode = 'CHIP' | 'CONTACTLESS' | 'MAGSTRIPE' | 'MANUAL' | 'CARD_ON_FILE' | 'UNKNOWN';

export interface Transaction {
  transactionId: string;
  cardToken: string;
  terminalId: string;
  /** Minor units (cents). */
  amountMinor: number;
  currency: string;
  /** Epoch milliseconds. */
  eventTime: number;
  merchantId: string | null;
  merchantCategoryCode: string | null;
  merchantCountry: string | null;
  channel: Channel;
  entryMode: EntryMode;
  cardPresent: boolean;
}

export interface TransactionOutcome {
  transactionId: string;
  terminalId: string;
  cardToken: string;
  eventTime: number;
  isFraud: boolean;
  /** Simulator only: 0 genuine, 1 amount > 220, 2 compromised terminal, 3 compromised card, 4 card testing (drift). */
  fraudScenario: number;
  knownAt: number;
}

export type Outcome = 'ALLOW' | 'REVIEW' | 'BLOCK';

export interface SourceRef {
  topic: string;
  partition: number;
  offset: number;
}

export interface ModelRef {
  name: string;
  version: string;
  digest: string;
}

/** Which deployed model made a decision (schemas/Decision.avsc, version 2). */
export type ModelRole = 'CHAMPION' | 'CANARY' | 'SHADOW';

export interface Decision {
  transactionId: string;
  cardToken: string;
  score: number;
  decision: Outcome;
  reasons: string[];
  model: ModelRef;
  policyVersion: string;
  eventTime: number;
  scoredAt: number;
  source: SourceRef;
  featureSetVersion: string;
  features: number[];
  role: ModelRole;
  /** Offset of the deployment spec in force; -1: no spec (the fallback model). */
  deploymentRevision: number;
}

/** A model named by a deployment spec; `digest` is the sha256 its manifest gives the ONNX bytes. */
export interface ModelPin {
  name: string;
  version: string;
  digest: string;
}

/** schemas/DeploymentSpec.avsc: which models serve (fraudscore-deployments; offset = revision). */
export interface DeploymentSpec {
  champion: ModelPin;
  shadow: ModelPin | null;
  canary: { model: ModelPin; sharePercent: number } | null;
  policy: string;
  requestedBy: string;
  requestedAt: number;
  reason: string;
  restoresRevision: number | null;
}

/** schemas/DeploymentStatus.avsc: what one scorer instance serves (fraudscore-deployment-status, key = instance). */
export interface DeploymentStatus {
  instance: string;
  appliedRevision: number;
  champion: ModelRef;
  shadow: ModelRef | null;
  canary: ModelRef | null;
  canarySharePercent: number;
  lastRevisionSeen: number;
  refusal: string | null;
  reportedAt: number;
}

export interface DeadLetter {
  errorCode: string;
  reason: string;
  retryable: boolean;
  source: SourceRef;
  payload: Buffer | null;
  failedAt: number;
}

export const SCHEMA_FILES = {
  transaction: 'Transaction.avsc',
  outcome: 'TransactionOutcome.avsc',
  decision: 'Decision.avsc',
  deadLetter: 'DeadLetter.avsc',
  deploymentSpec: 'DeploymentSpec.avsc',
  deploymentStatus: 'DeploymentStatus.avsc',
} as const;

export interface Codecs {
  transaction: Codec<Transaction>;
  outcome: Codec<TransactionOutcome>;
  decision: Codec<Decision>;
  deadLetter: Codec<DeadLetter>;
  deploymentSpec: Codec<DeploymentSpec>;
  deploymentStatus: Codec<DeploymentStatus>;
}

/**
 * Every contract's codec in one wire format, sharing one registry. `ids`: writer ids that are
 * not schemas/ids.json's (a schema registry's, registry-codecs.ts).
 */
export function createCodecs(format: WireFormat, registry: SchemaRegistry = localRegistry(), ids: Partial<Record<keyof Codecs, number>> = {}): Codecs {
  const make = <T>(name: keyof Codecs): Codec<T> => {
    const file = SCHEMA_FILES[name];
    return createCodec<T>({ type: loadSchema(file), format, schemaId: ids[name] ?? schemaIdOf(file), registry });
  };
  return {
    transaction: make<Transaction>('transaction'),
    outcome: make<TransactionOutcome>('outcome'),
    decision: make<Decision>('decision'),
    deadLetter: make<DeadLetter>('deadLetter'),
    deploymentSpec: make<DeploymentSpec>('deploymentSpec'),
    deploymentStatus: make<DeploymentStatus>('deploymentStatus'),
  };
}
