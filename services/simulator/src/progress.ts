/**
 * A progress bar for long simulator runs (cli-progress), showing events per second.
 *
 * When the output is not a terminal (CI logs, pipes) a redrawn bar is noise, so it prints
 * nothing while running and one summary line at the end.
 */
import cliProgress from 'cli-progress';
import { eventCount, type EventStats } from './stats.js';

export interface ProgressOptions {
  /** Shown before the bar. Default 'events'. */
  label?: string;
  /** Expected number of events, when known (e.g. maxEvents): shows a bar and ETA. */
  total?: number;
  /** Default process.stdout. */
  stream?: NodeJS.WriteStream;
}

export interface Progress {
  /** Takes the stats that the publisher and file writer report; usable as `onProgress`. */
  update: (stats: EventStats) => void;
  /** Ends the bar (TTY) or prints the summary line (no TTY). */
  stop: (final?: EventStats) => void;
}

const perSecond = (s: EventStats): number => (s.elapsedMs > 0 ? (eventCount(s) * 1000) / s.elapsedMs : 0);

/** One line such as "publish: 12,000 events (6,000 tx, 51 fraud, 6,000 outcomes) in 1.2 s, 10,000 ev/s". */
export function summaryLine(label: string, s: EventStats): string {
  const n = (v: number): string => Math.round(v).toLocaleString('en-US');
  return `${label}: ${n(eventCount(s))} events (${n(s.transactions)} tx, ${n(s.frauds)} fraud, ${n(s.outcomes)} outcomes) in ${(s.elapsedMs / 1000).toFixed(1)} s, ${n(perSecond(s))} ev/s`;
}

export function createProgress(opts: ProgressOptions = {}): Progress {
  const label = opts.label ?? 'events';
  const stream = opts.stream ?? process.stdout;
  let last: EventStats | undefined;

  if (!stream.isTTY) {
    let stopped = false;
    return {
      update: (stats) => {
        last = stats;
      },
      stop: (final) => {
        if (stopped) return;
        stopped = true;
        const s = final ?? last;
        if (s) stream.write(`${summaryLine(label, s)}\n`);
      },
    };
  }

  const known = opts.total !== undefined && opts.total > 0;
  const format = known
    ? `${label} [{bar}] {percentage}% | {value}/{total} events | {rate} ev/s | {frauds} fraud | ETA {eta_formatted}`
    : `${label} {value} events | {rate} ev/s | {tx} tx, {frauds} fraud, {outcomes} outcomes | {duration_formatted}`;
  const bar = new cliProgress.SingleBar(
    { format, stream, hideCursor: true, fps: 5, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  const payload = (s: EventStats | undefined): object => ({
    rate: Math.round(s ? perSecond(s) : 0).toLocaleString('en-US'),
    tx: s?.transactions ?? 0,
    outcomes: s?.outcomes ?? 0,
    frauds: s?.frauds ?? 0,
  });
  // Without a known total the bar is never drawn, but cli-progress still needs a number.
  bar.start(known ? (opts.total as number) : 1, 0, payload(undefined));
  let stopped = false;
  return {
    update: (stats) => {
      last = stats;
      if (!stopped) bar.update(eventCount(stats), payload(stats));
    },
    stop: (final) => {
      if (stopped) return;
      stopped = true;
      const s = final ?? last;
      if (s) bar.update(eventCount(s), payload(s));
      bar.stop();
    },
  };
}
