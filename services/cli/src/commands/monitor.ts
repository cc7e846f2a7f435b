import type { Command } from 'commander';
import { runMonitorProcess } from '../../../monitor/src/main.js';

const ENV_HELP = `
Configuration comes from FRAUD_* environment variables (see README "Monitoring"):
  FRAUD_KAFKA_BROKERS (or KAFKA_BROKERS)  host:port list (required)
  FRAUD_MONITOR_GROUP_ID                  consumer group (default fraudscore-monitor)
  FRAUD_TOPIC_DECISIONS|SHADOW_DECISIONS|OUTCOMES  topics read
  FRAUD_MONITOR_DB                        the store (default .cache/monitor/monitor.db)
  FRAUD_LABEL_HORIZON_DAYS                days a decision waits for its label (default 30)
  FRAUD_MONITOR_INTERVAL_MS               how often the windows are recomputed (default 5000)
  FRAUD_MONITOR_ADMIN_PORT                /healthz /readyz /metrics port (default 9465)
Exit codes: 0 stopped, 1 failed, 2 bad configuration.
Subcommand: "fraudscore monitor report" writes an HTML + JSON report from the store.`;

const REPORT_HELP = `
Each day's figures are what the monitor showed at the end of that UTC day: decisions made and
labels known by then. Writes <out>/report.json and <out>/report.html (self-contained, no scripts).
Exit codes: 0 written, 1 failed, 2 bad arguments or no store.`;

interface ReportOpts {
  db?: string;
  modelsDir?: string;
  from?: string;
  to?: string;
  out?: string;
}

const fail = (msg: string): never => {
  process.stderr.write(`fraudscore monitor report: ${msg}\n`);
  process.exit(2);
};

/** A --from/--to value as epoch ms, or exit 2 naming the option. */
function dayOption(parseDay: (s: string) => number | undefined, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return parseDay(value) ?? fail(`${name} must be a date YYYY-MM-DD (got "${value}")`);
}

export function registerMonitor(program: Command): void {
  const monitor = program
    .command('monitor')
    .description("run the model monitor: joins decisions with their delayed labels and exposes each model version's realized performance")
    .addHelpText('after', ENV_HELP)
    .action(async () => {
      await runMonitorProcess(process.env);
    });

  monitor
    .command('report')
    .description("write an HTML + JSON report of the monitor's store over a period: realized vs estimated performance, input drift, alerts")
    .option('--db <path>', 'the monitor store (default: FRAUD_MONITOR_DB or .cache/monitor/monitor.db)')
    .option('--models-dir <dir>', 'the models folder, for reference histograms and validation AP (default: FRAUD_MODELS_DIR or models)')
    .option('--from <YYYY-MM-DD>', 'first UTC day (default: the first day with a decision)')
    .option('--to <YYYY-MM-DD>', 'last UTC day (default: the last day with a decision)')
    .option('--out <dir>', 'output folder (default: runs/monitor-report-<timestamp>)')
    .addHelpText('after', REPORT_HELP)
    .action(async (opts: ReportOpts) => {
      // Loaded here, not at the top: ECharts takes ~0.4 s to import, and every fraudscore command loads this file.
      const { parseDay, ReportInputError, writeMonitorReport } = await import('../../../monitor/src/report/index.js');
      const from = dayOption(parseDay, '--from', opts.from);
      const to = dayOption(parseDay, '--to', opts.to);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      try {
        const { json, html, summary } = await writeMonitorReport({
          db: opts.db ?? (process.env.FRAUD_MONITOR_DB || '.cache/monitor/monitor.db'),
          modelsDir: opts.modelsDir ?? (process.env.FRAUD_MODELS_DIR || 'models'),
          from,
          to,
          out: opts.out ?? `runs/monitor-report-${stamp}`,
          warn: (msg) => process.stderr.write(`fraudscore monitor report: ${msg}\n`),
          progress: (done, total) => {
            if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2Kmonitor report: day ${done} of ${total}${done === total ? '\n' : ''}`);
            else if (done % 10 === 0 || done === total) process.stderr.write(`monitor report: day ${done} of ${total}\n`);
          },
        });
        process.stdout.write(`monitor report: ${summary}\nmonitor report: ${html}\nmonitor report: ${json}\n`);
      } catch (err) {
        if (err instanceof ReportInputError) fail(err.message);
        throw err;
      }
    });
}
