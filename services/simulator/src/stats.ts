/** Counters shared by the file writer and the Kafka publisher, so the CLI reports both alike. */
export interface EventStats {
  transactions: number;
  outcomes: number;
  /** Transactions labelled fraud (0 for inputs without labels, such as a user's file). */
  frauds: number;
  /** Wall time since the run started. */
  elapsedMs: number;
}

export const emptyStats = (): EventStats => ({ transactions: 0, outcomes: 0, frauds: 0, elapsedMs: 0 });

export const eventCount = (s: EventStats): number => s.transactions + s.outcomes;
