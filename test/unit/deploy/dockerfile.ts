/**
 * A small Dockerfile reader for tests: enough of the syntax to check what the image will do
 * (stages, ENV, USER, ENTRYPOINT/CMD, HEALTHCHECK, COPY) without a Docker engine.
 * Not a full parser: heredocs and ONBUILD are not handled (the project's Dockerfile uses neither).
 */

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  name: string | undefined;
  /** Base image with build ARG defaults substituted. */
  from: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions: comments dropped, continuations joined. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue; // comments (and parser directives) end nothing, also inside continuations
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full) logical.push(full);
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*([\s\S]*)$/.exec(line) ?? [];
    const kw = keyword.toUpperCase();
    if (kw === 'ARG' && stages.length === 0) {
      const [k, v = ''] = args.split('=', 2);
      globalArgs[k as string] = v;
    } else if (kw === 'FROM') {
      const [image = '', , name] = args.split(/\s+/);
      const from = image.replace(/\$\{?(\w+)\}?/g, (_, n: string) => globalArgs[n] ?? '');
      stages.push({ name: name?.toLowerCase(), from, instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)?.instructions.push({ keyword: kw, args });
    }
  }
  return stages;
}

/** Values of all instructions with this keyword in a stage. */
export const all = (stage: Stage, keyword: string): string[] =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

/** Exec-form (JSON array) arguments, e.g. of ENTRYPOINT or CMD. Shell form is rejected. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not exec form: ${args}`);
  return parsed;
}

/** ENV key=value pairs of a stage, in order (later wins). Supports quotes and `ENV K V`. */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of all(stage, 'ENV')) {
    if (!/^[\w.-]+=/.test(args)) {
      const [k = '', ...rest] = args.split(/\s+/);
      env[k] = rest.join(' ');
      continue;
    }
    for (const m of args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
      const v = m[2] ?? '';
      env[m[1] as string] = /^["']/.test(v) ? v.slice(1, -1) : v;
    }
  }
  return env;
}

/** COPY sources and destination, without flags; `from` is the --from stage, if any. */
export function copies(stage: Stage): { from: string | undefined; sources: string[]; dest: string }[] {
  return all(stage, 'COPY').map((args) => {
    const words = args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((w) => !w.startsWith('--'));
    return { from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' };
  });
}

/**
 * Whether a context path survives .dockerignore: patterns apply in order, the last match wins,
 * `!` re-includes, and a pattern matching a parent folder matches everything inside it.
 */
export function includedInContext(ignoreText: string, path: string): boolean {
  const patterns = ignoreText
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const toRegex = (p: string) =>
    new RegExp(
      `^${p
        .replace(/\/+$/, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '\u0000')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replace(/\u0000/g, '(?:.*/)?')}$`,
    );
  const parts = path.replace(/\/+$/, '').split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const re = toRegex(negate ? raw.slice(1) : raw);
    if (prefixes.some((p) => re.test(p))) included = negate;
  }
  return included;
}
