/**
 * Bad lines of a user's history files: what is wrong, where, and how many of each kind.
 *
 * The rule of every message here (as in simulator/src/validate.ts): a message names the file,
 * the line (for Avro files: the record number, or `header` for the file's schema), the
 * contract field and what was expected, never the value found. A user's file may hold a real
 * card number in any field, and these lines go to terminals and CI logs.
 *
 * Records replayed from Kafka topics (replay.ts) are reported the same way, with
 * `<topic>/<partition>` for the file and the record's offset for the line.
 */

/** Every kind of bad line, with the words the summary uses. */
export const BAD_KINDS = {
  'malformed': 'malformed line',
  'missing-field': 'missing field',
  'bad-number': 'bad number',
  'bad-time': 'bad time',
  'bad-value': 'bad value',
  'pan-like': 'PAN-like value',
  'invalid-id': 'invalid id',
  'duplicate-transaction': 'duplicate transaction',
  'unknown-transaction': 'outcome for an unknown transaction',
  'out-of-order-outcome': 'out-of-order outcome',
  'mismatched-outcome': 'outcome that does not match its transaction',
  'duplicate-outcome': 'duplicate outcome',
  'unknown-column': 'unknown column in --columns',
  'bad-header': 'unusable header',
} as const;

export type BadKind = keyof typeof BAD_KINDS;

/** One problem of one line; `field` is a contract field name (never user text), or '' for the whole line. */
export interface Problem {
  field: string;
  kind: BadKind;
  message: string;
}

/**
 * A bad line. `fatal` marks a problem that makes the whole file unreadable (a CSV header
 * without a required column, an Avro writer schema without a required field, a file that is
 * not Avro): the run fails whatever --max-bad says.
 */
export interface BadLine {
  file: string;
  line: number | 'header';
  problems: Problem[];
  fatal?: boolean;
}

/** `<file>:<line>: <field>: <what>`, problems of one line joined by '; '. */
export function formatBadLine(bad: BadLine): string {
  const what = bad.problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; ');
  return `${bad.file}:${bad.line}: ${what}`;
}

/** Lines printed in full; the rest are counted ("... and N more"). */
export const MAX_SHOWN = 20;

/**
 * Counts bad lines by kind (a line counts once, under its first problem's kind) and keeps
 * the first MAX_SHOWN messages.
 */
export class BadLineLog {
  readonly counts = new Map<BadKind, number>();
  readonly shown: string[] = [];
  total = 0;
  fatal = false;

  add(bad: BadLine): void {
    const first = bad.problems[0];
    if (!first) throw new Error('a bad line needs at least one problem');
    this.total++;
    this.counts.set(first.kind, (this.counts.get(first.kind) ?? 0) + 1);
    if (bad.fatal) this.fatal = true;
    if (this.shown.length < MAX_SHOWN) this.shown.push(formatBadLine(bad));
  }

  /** The printable lines: up to MAX_SHOWN messages, then "... and N more". */
  lines(): string[] {
    const more = this.total - this.shown.length;
    return more > 0 ? [...this.shown, `... and ${more} more`] : [...this.shown];
  }

  /** "2 missing field, 1 bad time", most frequent first (ties in BAD_KINDS order). */
  byKind(): string {
    const order = Object.keys(BAD_KINDS) as BadKind[];
    return [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1] || order.indexOf(a[0]) - order.indexOf(b[0]))
      .map(([kind, n]) => `${n} ${BAD_KINDS[kind]}`)
      .join(', ');
  }

  /** Plain counts by kind, for callers and tests. */
  countsRecord(): Partial<Record<BadKind, number>> {
    return Object.fromEntries(this.counts) as Partial<Record<BadKind, number>>;
  }
}
