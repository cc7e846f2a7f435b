/**
 * Contract governance in CI, without a registry (issue 16): every version of each contract in
 * schemas/ids.json reads every earlier one with avsc's resolver (BACKWARD, transitively), and a
 * deliberately breaking version is caught, named by its files and what broke.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMAS_DIR } from '../../../services/common/src/avro.js';
import { backwardProblems, contractVersions } from '../../../services/common/src/schema-compat.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of schemas/ with a new Transaction version (id 8) given by `change`. */
function withNewTransaction(change: (schema: { fields: { name: string; type: unknown; default?: unknown }[] }) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'schemas-'));
  dirs.push(dir);
  cpSync(SCHEMAS_DIR, dir, { recursive: true });
  const schema = JSON.parse(readFileSync(join(dir, 'Transaction.avsc'), 'utf8')) as { fields: { name: string; type: unknown; default?: unknown }[] };
  change(schema);
  writeFileSync(join(dir, 'Transaction.v2.avsc'), JSON.stringify(schema));
  const ids = JSON.parse(readFileSync(join(dir, 'ids.json'), 'utf8')) as { ids: Record<string, string> };
  ids.ids['8'] = 'Transaction.v2.avsc';
  writeFileSync(join(dir, 'ids.json'), JSON.stringify(ids));
  return dir;
}

describe('schemas check (BACKWARD)', () => {
  it('the repository\'s contracts: every version reads every earlier one, Decision v1 → v2 included', () => {
    const versions = contractVersions(SCHEMAS_DIR);
    expect(versions.get('dev.fraudscore.v1.Decision')?.map((v) => v.id)).toEqual([3, 5]);
    // Test vectors (ids from 9000) are writers no producer should use, not versions.
    expect([...versions.values()].flat().some((v) => v.id >= 9000)).toBe(false);
    expect(backwardProblems(versions)).toEqual([]);
  });

  it('a compatible evolution passes: a new optional field with a default', () => {
    const dir = withNewTransaction((s) => s.fields.push({ name: 'deviceId', type: ['null', 'string'], default: null }));
    expect(backwardProblems(contractVersions(dir))).toEqual([]);
  });

  it('a breaking one fails, named: a new required field without a default, a type changed', () => {
    const required = withNewTransaction((s) => s.fields.push({ name: 'deviceId', type: 'string' }));
    const [p] = backwardProblems(contractVersions(required));
    expect(p).toMatchObject({ name: 'dev.fraudscore.v1.Transaction', reader: 'Transaction.v2.avsc (id 8)', writer: 'Transaction.avsc (id 1)' });
    expect(p?.message).toMatch(/deviceId/);

    const retyped = withNewTransaction((s) => {
      const amount = s.fields.find((f) => f.name === 'amountMinor')!;
      amount.type = 'string';
    });
    expect(backwardProblems(contractVersions(retyped))).toHaveLength(1);
  });
});
