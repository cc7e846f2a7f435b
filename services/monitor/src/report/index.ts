/**
 * `fraudscore monitor report`: reads a monitor store (never creates one), rebuilds what the
 * monitor showed at the end of each day of a period, and writes it as report.json (the
 * figures) and report.html (one self-contained page with the charts).
 */
import { statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DAY_MS } from '../performance.js';
import { referenceLoader } from '../references.js';
import { openStore, type Store } from '../store.js';
import { reportCharts } from './charts.js';
import { buildReport, isoDay, type MonitorReport } from './data.js';
import { renderMonitorHtml } from './html.js';

export { buildReport, type MonitorReport } from './data.js';

/** A problem with what the caller asked for (missing store, bad period): the CLI exits 2 on it. */
export class ReportInputError extends Error {}

export interface MonitorReportOptions {
  db: string;
  modelsDir: string;
  /** Any time in the first and last UTC day (epoch ms); default: the store's first and last decision days. */
  from?: number;
  to?: number;
  /** Folder for report.json and report.html (created). */
  out: string;
  warn?: (msg: string) => void;
  /** After each day is computed (about a second a day on a large store). */
  progress?: (done: number, total: number) => void;
  now?: Date;
}

export interface MonitorReportFiles {
  json: string;
  html: string;
  summary: string;
  report: MonitorReport;
}

/** Epoch ms of the start of a strict YYYY-MM-DD UTC date, or undefined (also for 2025-02-30). */
export function parseDay(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(ms) && isoDay(ms) === text ? ms : undefined;
}

/**
 * The first and last UTC day with a decision. The store answers "newest decision at or
 * before t" from its time index (frontiers), so the first day is found by bisection over
 * days instead of a scan or a query the Store interface does not have.
 */
function decisionDays(store: Store): [number, number] | undefined {
  const { decided } = store.frontiers();
  if (!decided) return undefined;
  const last = Math.floor(decided / DAY_MS);
  let lo = 0;
  let hi = last;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (store.frontiers((mid + 1) * DAY_MS - 1).decided) hi = mid;
    else lo = mid + 1;
  }
  return [lo, last];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function writeMonitorReport(o: MonitorReportOptions): Promise<MonitorReportFiles> {
  // openStore would create an empty database at a mistyped path: refuse before opening.
  let isFile = false;
  try {
    isFile = statSync(o.db).isFile();
  } catch {
    // missing: reported below
  }
  if (!isFile) throw new ReportInputError(`no monitor store at ${o.db} (give --db or FRAUD_MONITOR_DB the monitor's database file)`);
  const referenceOf = referenceLoader(o.modelsDir, o.warn ?? (() => {}));
  const store = openStore(o.db, referenceOf);
  let report: MonitorReport;
  try {
    const span = decisionDays(store);
    if (!span && (o.from === undefined || o.to === undefined)) throw new ReportInputError(`the monitor store ${o.db} has no decisions; nothing to report`);
    const from = o.from ?? span![0] * DAY_MS;
    const to = o.to ?? span![1] * DAY_MS;
    if (Math.floor(from / DAY_MS) > Math.floor(to / DAY_MS)) throw new ReportInputError(`the period is empty: from ${isoDay(from)} is after to ${isoDay(to)}`);
    report = buildReport(store, referenceOf, from, to, o.progress);
  } finally {
    store.close();
  }
  const now = o.now ?? new Date();
  await mkdir(o.out, { recursive: true });
  const json = join(o.out, 'report.json');
  const html = join(o.out, 'report.html');
  await writeFile(json, JSON.stringify(report, null, 2) + '\n');
  await writeFile(html, renderMonitorHtml(report, reportCharts(report), { generatedAt: now, source: o.db }));
  const fired = report.firstFired.map((f) => `${f.rule} from ${f.date}`);
  const summary = `${plural(report.period.days, 'day')} (${report.period.from} to ${report.period.to}), ${plural(report.models.length, 'model')}, ${plural(
    report.days.reduce((n, d) => n + d.alerts.length, 0),
    'alert firing',
  )}${fired.length ? ` (${fired.join(', ')})` : ''}`;
  return { json, html, summary, report };
}
