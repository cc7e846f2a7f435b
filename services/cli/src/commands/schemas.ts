import type { Command } from 'commander';
import { SCHEMAS_DIR } from '../../../common/src/avro.js';
import { backwardProblems, contractVersions } from '../../../common/src/schema-compat.js';

export function registerSchemas(program: Command): void {
  const schemas = program.command('schemas').description('the Avro contracts (schemas/)');
  schemas
    .command('check')
    .description('prove with avsc\'s resolver that every contract version reads every earlier one (BACKWARD, transitively); exit 1 when one does not')
    .option('--dir <dir>', 'the schemas folder (with ids.json)', SCHEMAS_DIR)
    .action((o: { dir: string }) => {
      const versions = contractVersions(o.dir);
      const problems = backwardProblems(versions);
      for (const [name, list] of versions) console.log(`schemas: ${name}: ${list.map((v) => `${v.file} (id ${v.id})`).join(' → ')}`);
      for (const p of problems) console.error(`schemas: BACKWARD broken: ${p.reader} cannot read ${p.writer}: ${p.message}`);
      console.log(`schemas: ${problems.length === 0 ? 'every version reads every earlier one (BACKWARD)' : `${problems.length} incompatible pair(s)`}`);
      if (problems.length > 0) process.exitCode = 1;
    });
}
