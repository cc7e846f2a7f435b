/**
 * Writer schemas by id, from a schema registry, for the synchronous decoders of avro.ts.
 *
 * Decoding stays synchronous: `typeForId` answers from a cache only. Before a batch is decoded,
 * its consumer awaits `prepare`, which fetches the ids the batch names that are not cached:
 * nothing to await (undefined) when every one is, the steady state. An id never changes
 * meaning, so a fetched schema is cached for good, and cached ids keep decoding while the
 * registry is down.
 *
 * An id not cached is asked for again with backoff for at most `waitMs` from when it was first
 * wanted; then `prepare` resolves anyway and the decoder reports UNKNOWN_SCHEMA_ID for the
 * records that carry it (the scorer dead-letters them). So a batch waits at most `waitMs`,
 * never forever, and one that names no missing id does not wait at all. An id given up on is
 * not waited for again for RETRY_UNKNOWN_AFTER_MS: a stream of records with a garbage id costs
 * one wait, not one per batch.
 */
import avro from 'avsc';
import type { SchemaRegistry } from './avro.js';
import { withinMs } from './schema-registry.js';

export const RETRY_UNKNOWN_AFTER_MS = 30_000;
const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1_000;

export interface RegistryResolver extends SchemaRegistry {
  /**
   * Resolves once every Confluent-framed value among `items` names a cached writer schema, or
   * one the registry did not give within the bound. Undefined when there is nothing to fetch.
   * Never rejects.
   */
  prepare<T>(items: readonly T[], valueOf: (item: T) => Buffer | null | undefined): Promise<void> | undefined;
}

export interface RegistryResolverOptions {
  /** One request for the writer schema with this id; rejects when it cannot be had now. */
  fetch(id: number): Promise<unknown>;
  /** How long an id not cached may be waited for. */
  waitMs: number;
  /** An id stayed unknown for the whole wait: `err` is the last failure. */
  onGiveUp?(id: number, err: unknown): void;
}

export function createRegistryResolver(o: RegistryResolverOptions): RegistryResolver {
  const types = new Map<number, avro.Type>();
  const fetching = new Map<number, Promise<void>>();
  const gaveUpAt = new Map<number, number>();

  const wanted = (id: number): boolean => {
    if (types.has(id)) return false;
    const at = gaveUpAt.get(id);
    return at === undefined || Date.now() - at >= RETRY_UNKNOWN_AFTER_MS;
  };

  const fetchWithin = async (id: number): Promise<void> => {
    const deadline = Date.now() + o.waitMs;
    let backoff = FIRST_BACKOFF_MS;
    let last: unknown;
    for (;;) {
      try {
        const type = await withinMs(o.fetch(id), Math.max(1, deadline - Date.now()));
        if (!(type instanceof avro.Type)) {
          // A Protobuf or JSON schema: no wait will turn it into an Avro one.
          last = new Error(`schema ${id} is not an Avro schema`);
          break;
        }
        types.set(id, type);
        gaveUpAt.delete(id);
        return;
      } catch (err) {
        last = err;
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise((r) => setTimeout(r, Math.min(backoff, left)));
      backoff = Math.min(2 * backoff, MAX_BACKOFF_MS);
    }
    gaveUpAt.set(id, Date.now());
    o.onGiveUp?.(id, last);
  };

  /** One fetch per id at a time, whoever wants it: concurrent batches share the wait. */
  const resolve = (id: number): Promise<void> => {
    let p = fetching.get(id);
    if (!p) {
      p = fetchWithin(id).finally(() => fetching.delete(id));
      fetching.set(id, p);
    }
    return p;
  };

  return {
    typeForId: (id) => types.get(id),
    prepare(items, valueOf) {
      let missing: Set<number> | undefined;
      let lastId = -1;
      for (const item of items) {
        const bytes = valueOf(item);
        // Not Confluent-framed: the decoder reports it (BAD_MAGIC_BYTE); nothing to fetch.
        if (!bytes || bytes.length < 5 || bytes[0] !== 0) continue;
        const id = bytes.readUInt32BE(1);
        if (id === lastId) continue; // a batch is mostly one id
        lastId = id;
        if (wanted(id)) (missing ??= new Set()).add(id);
      }
      if (!missing) return undefined;
      return Promise.all([...missing].map(resolve)).then(() => undefined);
    },
  };
}
