/**
 * The command line: which feature source the flags name, and the refusals that exit 2 before
 * anything is read, trained or written (--deploy champion among them), through the real CLI.
 */
import { describe, expect, it } from 'vitest';
import { featureInput } from '../../../../services/cli/src/commands/retrain.js';
import { BadInput } from '../../../../services/cli/src/retrain/errors.js';
import { replayWindowOf } from '../../../../services/cli/src/retrain/features.js';
import { runCli } from '../../../helpers/cli.js';

const base = { modelsDir: 'models', deltaTrain: '7', deltaDelay: '7', deltaTest: '7', apTolerance: '0.02', cpTolerance: '0.02', deploymentsTopic: 't', reason: '', by: 'x' };

describe('featureInput', () => {
  it('takes exactly one source', () => {
    expect(featureInput({ ...base, features: 'f.csv' })).toEqual({ kind: 'table', path: 'f.csv' });
    expect(featureInput({ ...base, transactions: 't.jsonl', outcomes: 'o.jsonl', maxBad: '3' })).toEqual({ kind: 'files', transactions: 't.jsonl', outcomes: 'o.jsonl', format: undefined, columns: undefined, maxBad: 3 });
    expect(featureInput({ ...base, fromKafka: true, since: '2018-09-01' })).toMatchObject({ kind: 'kafka', since: '2018-09-01', maxBad: 0 });
    expect(() => featureInput(base)).toThrow(/needs a feature source: --features <csv>.*--transactions.*--from-kafka --since/);
    expect(() => featureInput({ ...base, features: 'f.csv', fromKafka: true })).toThrow(/one feature source, not --features and --from-kafka/);
  });
  it('refuses flags of another source', () => {
    expect(() => featureInput({ ...base, features: 'f.csv', outcomes: 'o.csv' })).toThrow(BadInput);
    expect(() => featureInput({ ...base, transactions: 't.csv', since: '2018-09-01' })).toThrow(/--since needs --from-kafka/);
    expect(() => featureInput({ ...base, fromKafka: true, since: '2018-09-01', outcomes: 'o.csv' })).toThrow(/--outcomes needs --transactions/);
  });
  it('checks the replay window before connecting', () => {
    expect(() => replayWindowOf(undefined, undefined)).toThrow(/--from-kafka needs --since/);
    expect(() => replayWindowOf('2018-09-31', undefined)).toThrow(BadInput);
    expect(() => replayWindowOf('2018-09-02', '2018-09-01')).toThrow(/--until must be after --since/);
    expect(replayWindowOf('2018-09-01', undefined)).toEqual({ since: Date.parse('2018-09-01T00:00:00Z') });
  });
});

const cli = (args: string[]) => runCli(['retrain', ...args]);

describe('fraudscore retrain (exit 2, nothing done)', () => {
  it('refuses --deploy champion, a missing source and an unknown flag', async () => {
    const [champion, none, unknown] = await Promise.all([
      cli(['--features', 'does-not-matter.csv', '--deploy', 'champion']),
      cli([]),
      cli(['--features', 'f.csv', '--no-such-flag']),
    ]);
    expect(champion).toMatchObject({ code: 2, out: '' });
    expect(champion.err).toMatch(/--deploy champion is refused/);
    expect(none).toMatchObject({ code: 2, out: '' });
    expect(none.err).toMatch(/needs a feature source/);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown option/);
  }, 60_000);
});
