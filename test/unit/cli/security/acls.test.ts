/**
 * The ACL table (services/cli/src/security/acls.ts) checked offline for the trainer: its groups
 * are the ones the replay and deployment code actually uses, and it gets exactly the replay and
 * the deployments topic, nothing else. test/secure/access.test.ts checks the same table on a
 * broker (the positive control, and the probes it must refuse).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../../services/common/src/paths.js';
import { DEFAULT_TOPIC_PLAN } from '../../../../services/cli/src/commands/topics.js';
import { aclEntries, aclGrants, DEFAULT_ACL_PLAN, PRINCIPALS, type Grant } from '../../../../services/cli/src/security/acls.js';
import { aclProbes } from '../../../../services/cli/src/security/probes.js';

const plan = { ...DEFAULT_ACL_PLAN, topics: DEFAULT_TOPIC_PLAN };
const grants = aclGrants(plan);
const trainer = grants.filter((g) => g.principal === 'trainer');
const show = (g: Grant) => `${g.resource} ${g.name}${g.prefixed ? '*' : ''} ${g.operations.join(',')}`;
const source = (file: string) => readFileSync(join(PROJECT_ROOT, 'services/cli/src', file), 'utf8');

/** The throwaway group prefix a file passes (groupPrefix: '…'), or kafka-source's default. */
function groupPrefixIn(file: string, pattern = /groupPrefix: '([^']+)'/): string {
  const m = pattern.exec(source(file));
  if (!m) throw new Error(`no group prefix in ${file}`);
  return m[1]!;
}

describe('acls: the trainer principal', () => {
  it('is a principal of the table', () => {
    expect(PRINCIPALS).toContain('trainer');
  });

  it('may use the groups the replay and the deployments reader really make (`<prefix>-<uuid>`), deleting the replay ones', () => {
    const replay = [
      groupPrefixIn('retrain/features.ts'),
      groupPrefixIn('commands/backtest.ts'),
      groupPrefixIn('history/kafka-source.ts', /opts\.groupPrefix \?\? '([^']+)'/),
    ];
    expect(replay).toEqual(['fraudscore-retrain', 'fraudscore-backtest', 'fraudscore-features']);
    const groups = trainer.filter((g) => g.resource === 'GROUP');
    for (const p of replay) {
      expect(groups.find((g) => g.name === `${p}-`), p).toEqual({ principal: 'trainer', resource: 'GROUP', name: `${p}-`, prefixed: true, operations: ['READ', 'DESCRIBE', 'DELETE'] });
    }
    const deployments = groupPrefixIn('models/deployments.ts');
    expect(groups.find((g) => g.name === `${deployments}-`)).toEqual({ principal: 'trainer', resource: 'GROUP', name: `${deployments}-`, prefixed: true, operations: ['READ', 'DESCRIBE'] });
    expect(groups).toHaveLength(replay.length + 1);
  });

  it('reads transactions and outcomes, reads and writes the deployments topic, and nothing else', () => {
    const t = DEFAULT_TOPIC_PLAN;
    expect(trainer.filter((g) => g.resource === 'TOPIC').map(show).sort()).toEqual([
      `TOPIC ${t.deployments} READ,WRITE,DESCRIBE`,
      `TOPIC ${t.outcomes} READ,DESCRIBE`,
      `TOPIC ${t.transactions} READ,DESCRIBE`,
    ].sort());
    expect(trainer.some((g) => g.resource === 'TRANSACTIONAL_ID')).toBe(false);
    // Nobody else may delete anything.
    expect(grants.filter((g) => g.operations.includes('DELETE')).every((g) => g.principal === 'trainer' && g.resource === 'GROUP')).toBe(true);
  });

  it('becomes kafkajs DELETE entries on prefixed groups', () => {
    const deletes = aclEntries(trainer).filter((e) => e.operation === kafkajs.AclOperationTypes.DELETE);
    expect(deletes).toHaveLength(DEFAULT_ACL_PLAN.trainerReplayGroupPrefixes.length);
    for (const e of deletes) {
      expect(e).toMatchObject({ principal: 'User:trainer', resourceType: kafkajs.AclResourceTypes.GROUP, resourcePatternType: kafkajs.ResourcePatternTypes.PREFIXED });
    }
  });

  it('has probes the broker must refuse, as every principal does', () => {
    const probes = aclProbes(DEFAULT_TOPIC_PLAN, { scorer: plan.scorerGroup, monitor: plan.monitorGroup });
    for (const p of PRINCIPALS) expect(probes.some((x) => x.principal === p), p).toBe(true);
    expect(probes.filter((x) => x.principal === 'trainer').map((x) => x.expect)).toEqual(['TOPIC_AUTHORIZATION_FAILED', 'TOPIC_AUTHORIZATION_FAILED']);
  });
});
