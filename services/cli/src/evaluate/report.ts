/**
 * The evaluation's output: a table of each model beside the handbook's baselines, the test set
 * it was computed on, and a last line of JSON in the one shape the issue fixes:
 * {"auc_roc":…,"average_precision":…,"card_precision_at_100":…,"model":"<name>/<version>"}.
 */
import type { TestSelection } from './protocol.js';

/** Handbook test results on the 2018-07-25 / 08-08 split: AUC ROC, AP, CP@100. */
export const HANDBOOK_RESULTS = [
  { model: 'logistic regression', auc: 0.871, ap: 0.606, cp100: 0.291 },
  { model: 'random forest', auc: 0.867, ap: 0.658, cp100: 0.287 },
  { model: 'XGBoost', auc: 0.862, ap: 0.639, cp100: 0.273 },
] as const;

export interface ModelResult {
  /** name/version */
  model: string;
  estimator?: string;
  auc: number;
  ap: number;
  cp100: number;
  /** CP@100 with the handbook implementation's removal of cards detected on earlier days. */
  cp100Hb: number;
  /** The trainer's own test figures from the manifest, when it recorded them. */
  trainer?: { auc?: number; ap?: number; cp100?: number; sameData: boolean | undefined };
  scoreMs: number;
}

export const round4 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);

const f3 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3));
const f4 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(4));
const int = (x: number): string => x.toLocaleString('en-US');

export interface ReportInput {
  results: ModelResult[];
  reported: string | undefined;
  dirDefault: string | undefined;
  split: { train: [string, string]; delayDays: number; test: [string, string] };
  selection: TestSelection;
  featuresPath: string;
  modelsDir: string;
}

/** The human part of the output, one string with a trailing newline. */
export function formatTable(r: ReportInput): string {
  const lines: string[] = [];
  const w = Math.max(30, ...r.results.map((m) => m.model.length + 4));
  const head = `${'model'.padEnd(w)}${'AUC'.padStart(8)}${'AP'.padStart(8)}${'CP@100'.padStart(8)}${'CP_hb'.padStart(8)}   trainer AUC / AP / CP@100 (Δ max)`;
  lines.push(head, '-'.repeat(head.length));
  for (const m of r.results) {
    const mark = m.model === r.dirDefault ? ' *' : '';
    let trainer = '';
    if (m.trainer) {
      const d = Math.max(
        ...[[m.auc, m.trainer.auc], [m.ap, m.trainer.ap], [m.cp100, m.trainer.cp100]]
          .filter(([, t]) => t !== undefined)
          .map(([a, t]) => Math.abs((a as number) - (t as number))),
      );
      trainer = `   ${f4(m.trainer.auc)} / ${f4(m.trainer.ap)} / ${f4(m.trainer.cp100)} (${Number.isFinite(d) ? d.toFixed(4) : '-'})`;
      if (m.trainer.sameData === false) trainer += ' other data';
    }
    lines.push(`${(m.model + mark).padEnd(w)}${f3(m.auc).padStart(8)}${f3(m.ap).padStart(8)}${f3(m.cp100).padStart(8)}${f3(m.cp100Hb).padStart(8)}${trainer}`);
  }
  for (const h of HANDBOOK_RESULTS) {
    lines.push(`${('handbook ' + h.model).padEnd(w)}${f3(h.auc).padStart(8)}${f3(h.ap).padStart(8)}${f3(h.cp100).padStart(8)}`);
  }
  const s = r.selection;
  lines.push(
    '',
    `train ${r.split.train[0]}..${r.split.train[1]} (${int(s.trainRows)} rows, ${int(s.trainFrauds)} frauds), ` +
      `delay ${r.split.delayDays} days, test ${r.split.test[0]}..${r.split.test[1]}`,
    `test: ${int(s.testRows)} rows, ${int(s.testFrauds)} frauds, ${int(s.testCards)} cards; ` +
      `removed as known compromised: ${int(s.removedRows)} rows (${int(s.removedFrauds)} frauds) of ${int(s.removedCards)} cards`,
    `features ${r.featuresPath}; models ${r.modelsDir}` + (r.dirDefault ? ` (* = default.json: ${r.dirDefault})` : ' (no default.json)'),
    'CP_hb: the handbook code also drops cards found compromised in an earlier day\'s top 100; the headline CP@100 does not.',
  );
  return lines.join('\n') + '\n';
}

/** The last line of stdout. */
export function jsonLine(m: ModelResult): string {
  return JSON.stringify({
    auc_roc: round4(m.auc),
    average_precision: round4(m.ap),
    card_precision_at_100: round4(m.cp100),
    model: m.model,
  });
}
