/**
 * The simulator's public entry points: the CLI and tests import from here only.
 */
export { createSimulation, generateAll, simulate } from './generator.js';
export type { FraudScenario, GeneratedRun, OutcomeEvent, SimEvent, Simulation, TransactionEvent } from './generator.js';
export { DEFAULT_SIMULATION, resolveSimulationOptions } from './options.js';
export type { ResolvedSimulationOptions, SimulationOptions } from './options.js';
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
