/**
 * The service logger (pino, JSON lines on stdout). Every string argument passes through the
 * PAN redactor first: a log line is a place a card number must never reach.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { redactPanLike } from '../decode/pan.js';

export type { Logger };

export function createLogger(level: LevelWithSilent, name = 'fraudscore', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      name,
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        // Structured fields too: an error message can quote input.
        log(object) {
          const out: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(object)) out[k] = typeof v === 'string' ? redactPanLike(v) : v;
          return out;
        },
      },
      hooks: {
        logMethod(args, method) {
          const clean = args.map((a: unknown) => (typeof a === 'string' ? redactPanLike(a) : a));
          return method.apply(this, clean as Parameters<typeof method>);
        },
      },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
