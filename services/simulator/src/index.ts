/**
 * The simulator's public entry points: the CLI and tests import from here only.
 *
 * Options `drift.cardTesting` and `drift.amountInflation` (drift.ts) make the world drift from
 * a given day, for monitoring: card-testing attacks (fraud scenario 4) and inflated amounts.
 * Off by default, and then the stream is exactly the handbook's.
 */
export { createSimulation, generateAll, simulate } from './generator.js';
export type { FraudScenario, GeneratedRun, OutcomeEvent, SimEvent, Simulation, TransactionEvent } from './generator.js';
export { DEFAULT_SIMULATION, resolveSimulationOptions } from './options.js';
export type { ResolvedSimulationOptions, SimulationOptions } from './options.js';
export { DEFAULT_AMOUNT_FACTOR, DEFAULT_CARDS_TESTED_PER_DAY } from './drift.js';
export type { DriftOptions, ResolvedDrift } from './drift.js';
export {
  buildWorld, cardTokenOf, customerIndexOf, merchantIdOf, terminalIdOf, terminalIndexOf, MERCHANT_CATEGORIES,
} from './world.js';
export type { Customer, Terminal, TerminalKind, World } from './world.js';
export {
  MANIFEST_FILE, OUTCOMES_FILE, TRANSACTIONS_FILE,
  readOutcomesFile, readTransactionsFile, readUserTransactions, simulateToFiles, writeEventsToDir,
} from './files.js';
export type { FilesResult, SimulateToFilesOptions, UserRecord, WriteOptions } from './files.js';
export { checkTransactionLine, JsonLinesError, JsonLinesValidationError } from './validate.js';
export type { FieldProblem } from './validate.js';
export { publishEvents, PUBLISHED_AT_HEADER } from './publisher.js';
export type { PublishableEvent, PublishOptions, PublishStats, StopReason } from './publisher.js';
export { publishJsonLines, publishSimulation } from './sources.js';
export type { PublishJsonLinesOptions, PublishJsonLinesStats, PublishSimulationOptions } from './sources.js';
export { createProgress, summaryLine } from './progress.js';
export type { Progress, ProgressOptions } from './progress.js';
export type { EventStats } from './stats.js';
export { Rng } from './random.js';
