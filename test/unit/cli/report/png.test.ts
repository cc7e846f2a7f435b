import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumArgs, renderPng } from '../../../../services/cli/src/report/png.js';

/** A stand-in for chromium: records its arguments, writes the --screenshot file, exits with CODE. */
const FAKE = `#!/bin/sh
printf '%s\\n' "$@" > "$(dirname "$0")/args.txt"
for a in "$@"; do case "$a" in --screenshot=*) [ "$WRITE" = 1 ] && printf 'PNG' > "\${a#--screenshot=}";; --user-data-dir=*) ls -d "\${a#--user-data-dir=}" >/dev/null || exit 9;; esac; done
exit $CODE
`;

describe('renderPng', () => {
  let dir: string;
  const fake = (code: number, write: boolean) => join(dir, `chromium-${code}-${write ? 'w' : 'n'}`);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fraudscore-png-'));
    for (const [code, write] of [[0, true], [0, false], [3, false]] as const) {
      await writeFile(fake(code, write), FAKE.replace('$CODE', String(code)).replace('"$WRITE" = 1', write ? '1 = 1' : '0 = 1'));
      await chmod(fake(code, write), 0o755);
    }
    await writeFile(join(dir, 'r.html'), '<!doctype html><p>hi</p>');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('returns false, writing nothing, when the browser is not installed', async () => {
    expect(await renderPng(join(dir, 'r.html'), join(dir, 'none.png'), { chromium: join(dir, 'no-such-chromium') })).toBe(false);
    expect(await readdir(dir)).not.toContain('none.png');
  });

  it('runs headless with a throwaway profile, the window size and the file URL', async () => {
    const before = (await readdir(tmpdir())).filter((f) => f.startsWith('fraudscore-chromium-')).length;
    expect(await renderPng(join(dir, 'r.html'), join(dir, 'out.png'), { chromium: fake(0, true) })).toBe(true);
    expect(await readFile(join(dir, 'out.png'), 'utf8')).toBe('PNG');
    const args = (await readFile(join(dir, 'args.txt'), 'utf8')).trim().split('\n');
    expect(args).toEqual(expect.arrayContaining(['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--window-size=1400,1800', `--screenshot=${join(dir, 'out.png')}`, `file://${join(dir, 'r.html')}`]));
    // the profile was made for the run and removed after it
    const profile = args.find((a) => a.startsWith('--user-data-dir='))!.slice('--user-data-dir='.length);
    expect(profile).toMatch(/fraudscore-chromium-/);
    expect((await readdir(tmpdir())).filter((f) => f.startsWith('fraudscore-chromium-')).length).toBe(before);
  });

  it('throws when the browser fails or writes no screenshot', async () => {
    await expect(renderPng(join(dir, 'r.html'), join(dir, 'x.png'), { chromium: fake(3, false) })).rejects.toThrow(/exited with 3/);
    await expect(renderPng(join(dir, 'r.html'), join(dir, 'y.png'), { chromium: fake(0, false) })).rejects.toThrow(/no screenshot/);
  });

  it('builds absolute paths and escapes the file URL', () => {
    const args = chromiumArgs('a b/r.html', 'o.png', '/tmp/p', 800, 600);
    expect(args.at(-1)).toMatch(/^file:\/\/\/.*\/a%20b\/r\.html$/);
    expect(args).toContain('--window-size=800,600');
    expect(args.find((a) => a.startsWith('--screenshot='))).toMatch(/^--screenshot=\/.*o\.png$/);
  });
});
