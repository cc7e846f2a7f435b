/**
 * Run reports: one scrape of a scorer's /metrics turned into a self-contained HTML page
 * (and a PNG of it when Chromium is installed). `writeRunReport` is what the demo calls at the
 * end of a run; `fraudscore report` does the same from a URL or a saved file.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { renderReportHtml } from './html.js';
import { summarize } from './summary.js';

export { renderPng } from './png.js';
export { renderReportHtml } from './html.js';
export { summarize, type RunSummary } from './summary.js';

export interface RunReportOptions {
  /** Shown in the header: where the metrics came from. */
  source?: string;
  /** The report's time (default now). */
  now?: Date;
}

/** Writes the HTML report of one /metrics scrape to outFile (creating its folder). */
export async function writeRunReport(metricsText: string, outFile: string, title?: string, opts: RunReportOptions = {}): Promise<void> {
  const html = renderReportHtml(summarize(metricsText), { title, generatedAt: opts.now ?? new Date(), source: opts.source });
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, html);
}

/** A /metrics exposition from an http(s) URL or a file. */
export async function loadMetrics(urlOrFile: string, timeoutMs = 10_000): Promise<string> {
  if (/^https?:\/\//i.test(urlOrFile)) {
    const res = await fetch(urlOrFile, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'text/plain;version=0.0.4' } });
    if (!res.ok) throw new Error(`GET ${urlOrFile}: HTTP ${res.status}`);
    return res.text();
  }
  return readFile(urlOrFile, 'utf8');
}
