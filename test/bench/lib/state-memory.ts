/** Card-state bytes per card: test/bench/features-card-memory.ts in a child process. */
import { spawn } from 'node:child_process';
import { fmt, fmtInt } from './stats.js';
import { say, stamp, status } from './ui.js';

export interface StateResult {
  cards: number;
  storeBytesPerCard: number;
  processBytesPerCard: number;
  nsPerEvent: number;
  output: string;
}

/** test/bench/features-card-memory.ts with `cards` cards at 2 tx/day for 60 days (steady state). */
export async function stateMemory(cards: number): Promise<StateResult> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/bench/features-card-memory.ts', String(cards), '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const started = Date.now();
  const ticker = setInterval(() => status(`  [${stamp()}] card state: ${fmtInt(cards)} cards, ${fmt((Date.now() - started) / 1000, 0)} s`), 1000);
  child.stdout!.on('data', (b: Buffer) => {
    output += b.toString();
    for (const line of b.toString().split('\n')) if (line.trim()) say(`  ${line.trim()}`);
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearInterval(ticker);
  if (code !== 0) throw new Error(`features-card-memory.ts exited with ${code}`);
  const last = output.trim().split('\n').filter((l) => l.startsWith('day')).at(-1) ?? '';
  const num = (re: RegExp) => Number(last.match(re)?.[1] ?? NaN);
  return {
    cards,
    storeBytesPerCard: num(/bytesUsed\(\)\/card (\d+) B/),
    processBytesPerCard: num(/process heap\+buffers\/card (\d+) B/),
    nsPerEvent: num(/(\d+) ns per observe/),
    output: output.trim(),
  };
}
