/**
 * Renders the report's HTML to a PNG with headless Chromium, when /usr/bin/chromium is there.
 * Optional: without it the report is the HTML alone.
 */
import { spawn } from 'node:child_process';
import { access, constants, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';

export interface RenderPngOptions {
  /** The browser binary (default /usr/bin/chromium). */
  chromium?: string;
  /** Window size; the report is laid out for 1400 wide. */
  width?: number;
  height?: number;
  /** Give up (and kill the browser) after this long. */
  timeoutMs?: number;
}

/** The command line that renders htmlFile into pngFile. */
export function chromiumArgs(htmlFile: string, pngFile: string, userDataDir: string, width = 1400, height = 1800): string[] {
  return [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${userDataDir}`,
    `--screenshot=${resolve(pngFile)}`, `--window-size=${width},${height}`, pathToFileURL(resolve(htmlFile)).href,
  ];
}

/**
 * Screenshots the HTML file `htmlFile` into `pngFile`. Returns false when the browser is not
 * installed; throws when it is and fails (non-zero exit, timeout, or no PNG written).
 */
export async function renderPng(htmlFile: string, pngFile: string, opts: RenderPngOptions = {}): Promise<boolean> {
  const bin = opts.chromium ?? CHROMIUM;
  try {
    await access(bin, constants.X_OK);
  } catch {
    return false;
  }
  const profile = await mkdtemp(join(tmpdir(), 'fraudscore-chromium-'));
  try {
    await rm(pngFile, { force: true });
    const args = chromiumArgs(htmlFile, pngFile, profile, opts.width, opts.height);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    await new Promise<void>((done, fail) => {
      const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-4000); });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail(new Error(`chromium did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      child.on('error', (err) => { clearTimeout(timer); fail(err); });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) done();
        else fail(new Error(`chromium exited with ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      });
    });
    const st = await stat(pngFile).catch(() => undefined);
    if (!st || st.size === 0) throw new Error(`chromium wrote no screenshot to ${pngFile}`);
    return true;
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}
