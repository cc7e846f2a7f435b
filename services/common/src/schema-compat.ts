/**
 * Contract governance without a registry: every version of a contract must read what the
 * version before it wrote (BACKWARD, as a Confluent registry's default rule checks), proven
 * with avsc's own resolver, the one the codecs use to read a writer's schema.
 *
 * Versions come from schemas/ids.json: the ids of one record (by full name) in id order, so a
 * new version is a new file with a new, higher id. Ids from 9000 are test vectors (writers no
 * producer should use, kept to show the scorer's handling of them) and are not versions.
 * Transitively too: the newest must read every earlier version, since old records stay on
 * compacted and long-retention topics.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';

export const TEST_VECTOR_IDS_FROM = 9000;

export interface SchemaVersion {
  id: number;
  file: string;
  /** namespace.name of the record. */
  name: string;
  type: avro.Type;
}

export interface CompatProblem {
  name: string;
  reader: string;
  writer: string;
  message: string;
}

/** The contract versions an ids.json lists, by record, in id order (test vectors left out). */
export function contractVersions(dir: string): Map<string, SchemaVersion[]> {
  const ids = (JSON.parse(readFileSync(join(dir, 'ids.json'), 'utf8')) as { ids: Record<string, string> }).ids;
  const byName = new Map<string, SchemaVersion[]>();
  for (const [id, file] of Object.entries(ids).sort(([a], [b]) => Number(a) - Number(b))) {
    if (Number(id) >= TEST_VECTOR_IDS_FROM) continue;
    const type = avro.Type.forSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')) as avro.Schema);
    const name = type.name ?? file;
    byName.set(name, [...(byName.get(name) ?? []), { id: Number(id), file, name, type }]);
  }
  return byName;
}

/** Why `reader` cannot read what `writer` wrote, or undefined when it can. */
export function cannotRead(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Every version reads every earlier one of its record (BACKWARD, transitively). */
export function backwardProblems(versions: Map<string, SchemaVersion[]>): CompatProblem[] {
  const problems: CompatProblem[] = [];
  for (const [name, list] of versions) {
    for (let r = 1; r < list.length; r++) {
      for (let w = 0; w < r; w++) {
        const [reader, writer] = [list[r] as SchemaVersion, list[w] as SchemaVersion];
        const why = cannotRead(reader.type, writer.type);
        if (why) problems.push({ name, reader: `${reader.file} (id ${reader.id})`, writer: `${writer.file} (id ${writer.id})`, message: why });
      }
    }
  }
  return problems;
}
