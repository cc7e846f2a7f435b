/** Runs a bench script in a child process and parses the JSON line it ends with (its stderr is shown). */
import { spawn } from 'node:child_process';

export async function childJson<T>(script: string, args: string[]): Promise<T> {
  return JSON.parse((await childText(script, args)).trim().split('\n').at(-1) ?? '{}') as T;
}

/** Its whole stdout. */
export async function childText(script: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`${script} exited with ${code}`);
  return output;
}
