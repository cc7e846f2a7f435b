/**
 * The two things the CLI publishes: a simulation run, and a user's own JSON Lines file.
 */
import type { Kafka } from 'kafkajs';
import { createSimulation } from './generator.js';
import { readUserTransactions } from './files.js';
import type { SimulationOptions } from './options.js';
import { publishEvents, type PublishableEvent, type PublishOptions, type PublishStats } from './publisher.js';
import { JsonLinesValidationError, type JsonLinesError } from './validate.js';

export type PublishSimulationOptions = SimulationOptions & PublishOptions;

/** Generates a run and publishes it as it is generated (transactions and outcomes). */
export function publishSimulation(kafka: Kafka, opts: PublishSimulationOptions = {}): Promise<PublishStats> {
  return publishEvents(kafka, createSimulation(opts).events(), opts);
}

export interface PublishJsonLinesOptions extends PublishOptions {
  /**
   * false (default): check the whole file first and publish nothing if any line is invalid
   * (throws JsonLinesValidationError listing the first `maxErrors`), so a typo does not leave
   * half a file on the topic. true: publish the valid lines, report each invalid one.
   */
  skipInvalid?: boolean;
  /** Called for each invalid line when skipInvalid is true. */
  onInvalid?: (error: JsonLinesError) => void;
  /** Errors kept for the thrown JsonLinesValidationError. Default 20. */
  maxErrors?: number;
}

export interface PublishJsonLinesStats extends PublishStats {
  /** Lines skipped as invalid (only with skipInvalid). */
  invalid: number;
}

/** Publishes the transactions of a user's JSON Lines file (one Transaction object per line). */
export async function publishJsonLines(kafka: Kafka, file: string, opts: PublishJsonLinesOptions = {}): Promise<PublishJsonLinesStats> {
  if (!opts.skipInvalid) {
    const maxErrors = opts.maxErrors ?? 20;
    const errors: JsonLinesError[] = [];
    let invalid = 0;
    for await (const record of readUserTransactions(file)) {
      if (!record.error) continue;
      invalid++;
      if (errors.length < maxErrors) errors.push(record.error);
    }
    if (invalid > 0) throw new JsonLinesValidationError(file, errors, invalid);
  }

  let invalid = 0;
  async function* valid(): AsyncGenerator<PublishableEvent> {
    for await (const record of readUserTransactions(file)) {
      if (record.error) {
        invalid++;
        opts.onInvalid?.(record.error);
      } else {
        yield { kind: 'transaction', tx: record.tx };
      }
    }
  }
  const stats = await publishEvents(kafka, valid(), opts);
  return { ...stats, invalid };
}
