/** What the scenarios share: lines printed clear of the live progress line, and the scorer's applied deployment revision. */

/** One line, clear of the live progress line a terminal shows. */
export function say(line: string): void {
  if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2K${line}\n`);
  else console.log(line);
}

/** The scorer's `fraudscore_deployment_revision` gauge; undefined when it cannot be read. */
export async function appliedRevision(adminUrl: string): Promise<number | undefined> {
  const text = await fetch(`${adminUrl}/metrics`).then((r) => (r.ok ? r.text() : '')).catch(() => '');
  const m = /^fraudscore_deployment_revision(?:\{[^}]*\})?\s+(-?\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
