/**
 * Runs the scorer (or the model monitor, or the REST gateway) as a child process (its own event loop, as in
 * production), waits until /readyz says ready, and stops it with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface ScorerChild {
  process: ChildProcess;
  adminUrl: string;
  exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Same node, same loader flags (tsx when run from source), same CLI entry point. */
export function startScorerChild(env: Record<string, string>, logFile: string, readyTimeoutMs = 120_000): Promise<ScorerChild> {
  return startServiceChild('scorer', 'FRAUD_ADMIN', env, logFile, readyTimeoutMs);
}

/** `fraudscore monitor` as a child. */
export function startMonitorChild(env: Record<string, string>, logFile: string, readyTimeoutMs = 60_000): Promise<ScorerChild> {
  return startServiceChild('monitor', 'FRAUD_MONITOR_ADMIN', env, logFile, readyTimeoutMs);
}

/** `fraudscore gateway` as a child (its API port: FRAUD_GATEWAY_PORT in `env`). */
export function startGatewayChild(env: Record<string, string>, logFile: string, readyTimeoutMs = 60_000): Promise<ScorerChild> {
  return startServiceChild('gateway', 'FRAUD_GATEWAY_ADMIN', env, logFile, readyTimeoutMs);
}

/** `adminVar`: the prefix of the service's admin HOST and PORT variables. */
async function startServiceChild(command: 'scorer' | 'monitor' | 'gateway', adminVar: string, env: Record<string, string>, logFile: string, readyTimeoutMs: number): Promise<ScorerChild> {
  const port = await freePort();
  // The CLI's own entry point beside this file (not process.argv[1]: a benchmark or a test
  // starting a child is not the CLI), with this process's loader flags (tsx when from source).
  const cli = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './main.ts' : './main.js', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, cli, command], {
    env: { ...process.env, [`${adminVar}_HOST`]: '127.0.0.1', [`${adminVar}_PORT`]: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const adminUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${command} exited with code ${exitCode} before it was ready; see ${logFile}`);
    try {
      const res = await fetch(`${adminUrl}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${command} not ready after ${readyTimeoutMs} ms; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    process: child,
    adminUrl,
    exited,
    stop: (timeoutMs = 30_000) => (exitCode !== undefined ? Promise.resolve(exitCode) : stopChild(child, exited, timeoutMs)),
  };
}

/** SIGTERM, then SIGKILL if the child has not exited within `timeoutMs`; resolves to its exit code. */
export async function stopChild(child: ChildProcess, exited: Promise<number | null>, timeoutMs: number): Promise<number | null> {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
