/** The monitor's store path (issue 13): test/bench/monitor-store.ts in a child process. */
import { spawn } from 'node:child_process';
import { say, stamp } from './ui.js';

export interface MonitorStoreResult {
  records: number;
  seconds: number;
  eps: number;
  pendingDecisions: number;
  bytesPerPending: number;
}

export async function monitorStore(transactions: number): Promise<MonitorStoreResult> {
  say(`bench: [${stamp()}] monitor store: ${transactions} decisions and ${transactions} outcomes decoded and stored (test/bench/monitor-store.ts)`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/monitor-store.ts', String(transactions)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`monitor-store.ts exited with ${code}`);
  const result = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as MonitorStoreResult;
  say(`  monitor store: ${result.eps.toLocaleString('en')} records/s, ${result.bytesPerPending} B on disk per pending decision`);
  return result;
}
