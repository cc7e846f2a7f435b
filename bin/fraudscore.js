#!/usr/bin/env node
// The `fraudscore` command (package.json "bin"): the compiled CLI, so `npm run build` first.
// From the sources, `npm run fraudscore -- …` runs the same CLI through tsx.
import { existsSync } from 'node:fs';

const main = new URL('../dist/services/cli/src/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('fraudscore: the CLI is not built; run `npm run build` (or use `npm run fraudscore -- …` from the sources)\n');
  process.exit(2);
}
await import(main.href);
