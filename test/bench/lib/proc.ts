/**
 * Child processes of the benchmark (scorer, pipe) and what /proc says about them: CPU time
 * (utime + stime, sampled, so the CPU of a time window can be interpolated) and peak RSS
 * (VmHWM).
 */
import { stopChild } from '../../../services/cli/src/scorer-child.js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { freePort } from '../../../services/cli/src/scorer-child.js';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // Linux default
}

/** CPU seconds (user + system) a process has used so far, or NaN when unreadable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / clkTck;
  } catch {
    return NaN;
  }
}

/** A /proc/<pid>/status value in kB (VmHWM, VmRSS), or NaN. */
export function statusKb(pid: number, key: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export function pidFromFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Samples the CPU seconds of some processes every `everyMs`; cpuBetween interpolates. */
export class CpuSampler {
  private readonly samples = new Map<number, [number, number][]>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: number[], everyMs = 500) {
    for (const pid of pids) this.samples.set(pid, []);
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  sample(): void {
    const now = Date.now();
    for (const pid of this.pids) {
      const s = cpuSeconds(pid);
      if (Number.isFinite(s)) this.samples.get(pid)!.push([now, s]);
    }
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }

  /** CPU seconds pid used between two epoch-ms instants (linear between samples). */
  cpuBetween(pid: number, from: number, to: number): number {
    const s = this.samples.get(pid) ?? [];
    return at(s, to) - at(s, from);
  }
}

function at(samples: [number, number][], t: number): number {
  if (samples.length === 0) return NaN;
  if (t <= samples[0]![0]) return samples[0]![1];
  for (let i = 1; i < samples.length; i++) {
    const [t1, c1] = samples[i]!;
    if (t <= t1) {
      const [t0, c0] = samples[i - 1]!;
      return t1 === t0 ? c1 : c0 + ((c1 - c0) * (t - t0)) / (t1 - t0);
    }
  }
  return samples.at(-1)![1];
}

export interface BenchChild {
  readonly label: string;
  readonly process: ChildProcess;
  readonly pid: number;
  readonly adminUrl: string;
  readonly exited: Promise<number | null>;
  /** Peak RSS so far, MB (VmHWM). */
  peakRssMb(): number;
  stop(timeoutMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  label: string;
  /** The script run by node with tsx, e.g. services/cli/src/main.ts. */
  entry: string;
  args?: string[];
  env: Record<string, string>;
  /** Working directory (a source tree: entry and models are relative to it). */
  cwd?: string;
  logFile: string;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** The node binary; default the bench's own (process.execPath). */
  nodeBin?: string;
  readyTimeoutMs?: number;
}

/** Spawns `node [flags] --import tsx <entry> [args]` and waits for its /readyz. */
export async function spawnChild(opts: SpawnOptions): Promise<BenchChild> {
  const port = await freePort();
  const child = spawn(opts.nodeBin ?? process.execPath, [...(opts.nodeFlags ?? []), '--import', 'tsx', opts.entry, ...(opts.args ?? [])], {
    env: { ...process.env, FRAUD_ADMIN_HOST: '127.0.0.1', FRAUD_ADMIN_PORT: String(port), ...opts.env },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  void exited.then((c) => (exitCode = c));
  const adminUrl = `http://127.0.0.1:${port}`;
  const pid = child.pid!;
  const handle: BenchChild = {
    label: opts.label,
    process: child,
    pid,
    adminUrl,
    exited,
    peakRssMb: () => statusKb(pid, 'VmHWM') / 1024,
    stop: (timeoutMs = 30_000) => (exitCode !== undefined ? Promise.resolve(exitCode) : stopChild(child, exited, timeoutMs)),
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 180_000);
  for (;;) {
    if (exitCode !== undefined) {
      await new Promise((r) => setTimeout(r, 300)); // let the pipes flush into the log
      throw new Error(`${opts.label} exited with code ${exitCode} before it was ready${lastLines(opts.logFile)}; see ${opts.logFile}`);
    }
    const ok = await fetch(`${adminUrl}/readyz`).then((r) => r.ok, () => false);
    if (ok) return handle;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${opts.label} not ready after ${opts.readyTimeoutMs ?? 180_000} ms; see ${opts.logFile}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The last meaningful lines of a child's log (why it failed), as ": …", or ''. */
export function lastLines(file: string, n = 2): string {
  try {
    const lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    const picked = lines.slice(-n).map((l) => {
      try {
        const j = JSON.parse(l) as { msg?: string; err?: string; error?: string };
        return [j.msg, j.err ?? j.error].filter(Boolean).join(': ') || l;
      } catch {
        return l;
      }
    });
    return picked.length ? `: ${picked.join(' | ').slice(0, 400)}` : '';
  } catch {
    return '';
  }
}
