/**
 * What the monitor would have shown at the end of each UTC day of a period, recomputed from
 * its store: decisions made and labels known by then (the store keeps each label's knownAt),
 * so a day's view is the one its operators saw, not one improved by labels that came later.
 * For `fraudscore monitor report` and the drift scenario's alert timeline.
 */
import { firingAlerts, type Alert } from './alerts.js';
import { DAY_MS } from './performance.js';
import type { Reference } from './references.js';
import type { ModelKey, Store } from './store.js';
import { computeAll, type Computation } from './windows.js';

export interface DayView extends Computation {
  /** UTC day (days since the epoch) that just ended. */
  day: number;
  /** Its end, epoch ms (exclusive). */
  asOf: number;
  alerts: Alert[];
}

/** One view per UTC day from the day of `from` to the day of `to` (epoch ms), both included; `progress` after each. */
export function dailyHistory(store: Store, referenceOf: (m: ModelKey) => Reference | undefined, from: number, to: number, progress?: (done: number, total: number) => void): DayView[] {
  const out: DayView[] = [];
  const first = Math.floor(from / DAY_MS);
  const total = Math.floor(to / DAY_MS) - first + 1;
  for (let day = first; day < first + total; day++) {
    // The last millisecond of the day: windows end at event times ≤ asOf.
    const asOf = (day + 1) * DAY_MS - 1;
    const c = computeAll(store, referenceOf, asOf);
    out.push({ day, asOf: asOf + 1, ...c, alerts: firingAlerts(c, referenceOf) });
    progress?.(out.length, total);
  }
  return out;
}
