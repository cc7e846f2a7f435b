/**
 * The model-input contract of the reference feature set (the fraud-detection handbook's 15
 * features). A model manifest lists these names in this order together with
 * FEATURE_SET_VERSION; the scorer refuses a model whose list differs, so any change to a
 * name, the order, a window or the delay must come with a new version string.
 */

export const FEATURE_SET_VERSION = 'handbook-15-v1';

export const FEATURE_NAMES = [
  'TX_AMOUNT',
  'TX_DURING_WEEKEND',
  'TX_DURING_NIGHT',
  'CUSTOMER_ID_NB_TX_1DAY_WINDOW',
  'CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW',
  'CUSTOMER_ID_NB_TX_7DAY_WINDOW',
  'CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW',
  'CUSTOMER_ID_NB_TX_30DAY_WINDOW',
  'CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW',
  'TERMINAL_ID_NB_TX_1DAY_WINDOW',
  'TERMINAL_ID_RISK_1DAY_WINDOW',
  'TERMINAL_ID_NB_TX_7DAY_WINDOW',
  'TERMINAL_ID_RISK_7DAY_WINDOW',
  'TERMINAL_ID_NB_TX_30DAY_WINDOW',
  'TERMINAL_ID_RISK_30DAY_WINDOW',
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];

/**
 * Inputs that follow the weekly calendar rather than the world: TX_DURING_WEEKEND is 0 for
 * every transaction of a Monday and 1 on a Saturday, so one day of it never looks like the
 * week of training data it is compared with. Drift monitoring judges these over whole weeks
 * only (services/monitor/src/windows.ts).
 */
export const WEEKLY_CYCLE_FEATURES: ReadonlySet<string> = new Set<FeatureName>(['TX_DURING_WEEKEND']);

export const FEATURE_COUNT = FEATURE_NAMES.length;

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Window lengths in days, shared by the card and terminal windows (output order). */
export const WINDOW_DAYS = [1, 7, 30] as const;

/** The longest window: card entries older than this behind the card's newest are dead. */
export const MAX_WINDOW_MS = 30 * DAY_MS;

/** Terminal windows end this far before the transaction: labels take that long to arrive. */
export const TERMINAL_DELAY_MS = 7 * DAY_MS;

/** Offsets of each feature group inside the 15-value vector. */
export const OFFSET_CARD_WINDOWS = 3;
export const OFFSET_TERMINAL_WINDOWS = 9;
