import type { Command } from 'commander';
import { loadMetrics, renderPng, writeRunReport } from '../report/index.js';

/** `fraudscore report`: a scorer's /metrics (live or saved) as an HTML page, and a PNG when Chromium is installed. */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description('turn a scorer\'s /metrics (URL or saved file) into a one-file HTML report: latency distributions end to end and per stage, scores, decisions, dead letters, lag, model (plus a PNG when /usr/bin/chromium exists)')
    .requiredOption('--metrics <url-or-file>', 'a scorer\'s metrics URL (http://host:9464/metrics) or a saved exposition')
    .requiredOption('--out <file.html>', 'where to write the HTML report')
    .option('--title <text>', 'report title', 'fraudscore run report')
    .option('--png <file.png>', 'where to write the PNG (default: beside the HTML)')
    .option('--no-png-render', 'write the HTML only')
    .action(async (opts: { metrics: string; out: string; title: string; png?: string; pngRender: boolean }) => {
      const text = await loadMetrics(opts.metrics);
      await writeRunReport(text, opts.out, opts.title, { source: opts.metrics });
      process.stdout.write(`report: ${opts.out}\n`);
      if (!opts.pngRender) return;
      const png = opts.png ?? opts.out.replace(/\.html?$/i, '') + '.png';
      if (await renderPng(opts.out, png)) process.stdout.write(`report: ${png}\n`);
      else process.stdout.write('report: no /usr/bin/chromium, so no PNG (the HTML is the report)\n');
    });
}
