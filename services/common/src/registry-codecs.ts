/**
 * The contract codecs of a process that reads and writes Avro on Kafka (the scorer, the
 * gateway), in the embedded mode or against a schema registry:
 *   - no registry: createCodecs as before (schemas/ids.json ids, `prepare` absent);
 *   - a registry: writer ids looked up at start-up for the topics the process writes (a
 *     registry out of reach, refusing the credentials, or without the schemas fails here, by
 *     name), and writer schemas of what it reads fetched by id through a RegistryResolver,
 *     whose `prepare` the process awaits before decoding a batch.
 */
import { createCodecs, SCHEMA_FILES, type Codecs } from './contracts.js';
import type { WireFormat } from './avro.js';
import { createRegistryResolver, RETRY_UNKNOWN_AFTER_MS, type RegistryResolver } from './registry-resolver.js';
import { connectRegistry, REGISTRY_URL, registryFailure, writerId, type Registry, type RegistrySettings } from './schema-registry.js';
import { SettingError } from './secrets.js';

export type ContractName = keyof Codecs;

export interface ProcessCodecs {
  codecs: Codecs;
  /** With a registry: await it before decoding a batch (RegistryResolver.prepare). */
  prepare?: RegistryResolver['prepare'];
  /** With a registry: the ids written, of the contracts in `writes`. */
  ids?: Partial<Record<ContractName, number>>;
}

export interface OpenCodecsOptions {
  format: WireFormat;
  registry?: RegistrySettings;
  /** Sent as the registry client's id (its User-Agent). */
  clientId: string;
  /** The topics each contract is written to: their subjects' ids are the ones written. */
  writes: Partial<Record<ContractName, readonly string[]>>;
  log?: { warn(fields: object, message: string): void };
}

/**
 * The writer id of each contract in `writes`: the registry's, or schemas/ids.json's without
 * one. The one piece every producer uses (the scorer, the gateway, `fraudscore publish`).
 */
export async function writerIds(registry: Registry | undefined, writes: OpenCodecsOptions['writes']): Promise<Partial<Record<ContractName, number>>> {
  const ids: Partial<Record<ContractName, number>> = {};
  for (const [name, topics] of Object.entries(writes) as [ContractName, readonly string[]][]) {
    ids[name] = await writerId(registry, topics, SCHEMA_FILES[name]);
  }
  return ids;
}

/** The registry the settings name, or none; plain framing carries no id, so it cannot use one. */
export function registryFor(format: WireFormat, settings: RegistrySettings | undefined, clientId: string): Registry | undefined {
  if (!settings) return undefined;
  if (format !== 'confluent') throw new SettingError(`${REGISTRY_URL} is set but the wire format is plain (values carry no schema id): unset one`);
  return connectRegistry(settings, clientId);
}

export async function openCodecs(o: OpenCodecsOptions): Promise<ProcessCodecs> {
  const registry = registryFor(o.format, o.registry, o.clientId);
  if (!registry) return { codecs: createCodecs(o.format) };
  const ids = await writerIds(registry, o.writes);
  const resolver = createRegistryResolver({
    fetch: (id) => registry.client.getSchema(id),
    waitMs: registry.settings.unknownIdWaitMs,
    onGiveUp: (id, err) =>
      o.log?.warn(
        { schemaId: id, err: registryFailure(registry, `fetching schema ${id}`, err).message, retryAfterMs: RETRY_UNKNOWN_AFTER_MS },
        `schema id ${id} is unknown to the registry after ${registry.settings.unknownIdWaitMs} ms: values carrying it cannot be decoded (UNKNOWN_SCHEMA_ID)`,
      ),
  });
  // A contract whose subject was not looked up has no registry id: encoding it would write an
  // ids.json id that means something else (or nothing) in the registry.
  const codecs = Object.fromEntries(
    Object.entries(createCodecs('confluent', resolver, ids)).map(([name, codec]) => [
      name,
      ids[name as ContractName] !== undefined ? codec : { ...codec, encode: () => { throw new Error(`no registry id for ${SCHEMA_FILES[name as ContractName]} in this process: it names no topic it writes it to`); } },
    ]),
  ) as unknown as Codecs;
  return { codecs, prepare: resolver.prepare, ids };
}
