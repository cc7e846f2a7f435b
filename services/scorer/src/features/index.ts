/**
 * Feature engine public API: pure code (no Kafka, no clock), shared by the online scorer
 * and the offline batch path.
 */
export {
  DAY_MS,
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_SET_VERSION,
  HOUR_MS,
  MAX_WINDOW_MS,
  TERMINAL_DELAY_MS,
  WINDOW_DAYS,
  type FeatureName,
} from './feature-set.js';
export {
  CARD_STATE_FORMAT,
  CardStore,
  DEFAULT_CARD_MARGIN_MS,
  MAX_AMOUNT_MINOR,
  MIN_AMOUNT_MINOR,
  WHOLE_HISTORY_FORMAT,
  dayOf,
  type CardChange,
  type CardChanges,
  type CardStoreOptions,
} from './card-state.js';
export {
  DEFAULT_TERMINAL_MARGIN_MS,
  TerminalTable,
  type OutcomeInput,
  type TerminalTableOptions,
  type TerminalTableStats,
} from './terminal-table.js';
export {
  createFeatureEngine,
  isNightUtc,
  isWeekendUtc,
  type FeatureEngine,
  type FeatureEngineDeps,
  type FeatureInput,
} from './compute.js';
export {
  CSV_COLUMNS,
  batchFeatures,
  featureRows,
  featureRowToCsv,
  writeFeaturesCsv,
  type BatchEvent,
  type BatchTransaction,
  type FeatureRow,
} from './batch.js';
