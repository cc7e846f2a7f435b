/**
 * The container images, checked without Docker: what deploy/docker/Dockerfile promises (non-root,
 * healthcheck by node, production deps only, the default model inside), and that its ENTRYPOINT
 * runs on this machine with the image's environment. The run uses dist/ when it was built (as in
 * the image) and the TypeScript source through tsx otherwise. And the retrain image
 * (deploy/docker/trainer.Dockerfile): the trainer where the compiled CLI looks for it, its venv
 * built in, the same user.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../../services/scorer/src/config.js';
import { all, copies, envOf, execForm, includedInContext, parseDockerfile } from './dockerfile.js';
import { REPO, exists, readJson, readText, scorerConfigNames } from './support.js';

const stages = parseDockerfile(readText('deploy/docker/Dockerfile'));
const runtime = stages.at(-1)!;
const imageEnv = envOf(runtime);
const dockerignore = readText('.dockerignore');
const lastOf = (keyword: string): string => all(runtime, keyword).at(-1) ?? '';

/** ENTRYPOINT + CMD as the image runs them, minus the init process (tini), which only forwards signals. */
function imageCommand(): { entrypoint: string[]; cmd: string[] } {
  let entrypoint = execForm(lastOf('ENTRYPOINT'));
  if (/(^|\/)tini$/.test(entrypoint[0] ?? '')) entrypoint = entrypoint.slice(entrypoint[1] === '--' ? 2 : 1);
  return { entrypoint, cmd: execForm(lastOf('CMD')) };
}

describe('deploy/docker/Dockerfile', () => {
  it('runs on a slim Node 24 LTS base as a non-root user', () => {
    expect(runtime.from).toMatch(/^node:24(\.\d+)*(-bookworm|-trixie)?-slim$/);
    const user = lastOf('USER').split(':')[0] ?? '';
    expect(user).not.toMatch(/^(|root|0)$/);
    expect(user, 'numeric, so Kubernetes can verify runAsNonRoot').toMatch(/^\d+$/);
  });

  it('sets ONNXRUNTIME_NODE_INSTALL=skip before every npm install', () => {
    for (const stage of stages) {
      const i = stage.instructions.findIndex((x) => x.keyword === 'RUN' && /\bnpm (ci|install|i)\b/.test(x.args));
      if (i < 0) continue;
      const envBefore = envOf({ ...stage, instructions: stage.instructions.slice(0, i) });
      expect(envBefore.ONNXRUNTIME_NODE_INSTALL, stage.name).toBe('skip');
    }
  });

  it('ships production dependencies only', () => {
    const nm = copies(runtime).find((c) => c.sources.some((s) => s.endsWith('node_modules')));
    const source = stages.find((s) => s.name === nm?.from);
    expect(all(source!, 'RUN').join('\n')).toMatch(/npm ci\b.*--omit=dev/);
  });

  it('health-checks /healthz on the admin port with node (no curl in slim images)', () => {
    const [, json = '[]'] = /\bCMD\s+(\[.*\])$/.exec(lastOf('HEALTHCHECK')) ?? [];
    const check = execForm(json);
    expect(check[0]).toBe('node');
    expect(check.join(' ')).toMatch(/\/healthz/);
    const defaults = loadConfig({ FRAUD_KAFKA_BROKERS: 'x:1' });
    expect(Number(lastOf('EXPOSE'))).toBe(defaults.admin.port);
    expect(Number(imageEnv.FRAUD_ADMIN_PORT ?? defaults.admin.port)).toBe(defaults.admin.port);
  });

  it('bakes the default model into /app/models and offers a volume for others', () => {
    expect(lastOf('WORKDIR')).toBe('/app');
    expect(copies(runtime)).toContainEqual({ from: undefined, sources: ['models'], dest: './models' });
    expect(imageEnv.FRAUD_MODELS_DIR).toBe('/app/models');
    expect(lastOf('VOLUME')).toMatch(/\//);
  });

  it('sets only FRAUD_* settings the scorer knows', () => {
    const known = scorerConfigNames();
    expect(Object.keys(imageEnv).filter((k) => k.startsWith('FRAUD_') && !known.has(k))).toEqual([]);
    expect(() => loadConfig({ ...imageEnv, FRAUD_KAFKA_BROKERS: 'kafka:9092' })).not.toThrow();
  });

  it('COPYs only files that exist and that .dockerignore lets into the context', () => {
    const sources = stages.flatMap((s) => copies(s).filter((c) => !c.from).flatMap((c) => c.sources));
    for (const src of sources) {
      expect(exists(src), `${src} missing from the repository`).toBe(true);
      expect(includedInContext(dockerignore, src), `${src} excluded by .dockerignore`).toBe(true);
    }
    for (const junk of ['node_modules/x', 'dist/x.js', '.git/HEAD', 'test/unit/a.test.ts', 'services/trainer/train.py']) {
      expect(includedInContext(dockerignore, junk), junk).toBe(false);
    }
    expect(includedInContext(dockerignore, 'services/cli/src/main.ts')).toBe(true);
  });

  it('points ENTRYPOINT at what `npm run build` emits for the CLI source', () => {
    const { entrypoint } = imageCommand();
    expect(entrypoint[0]).toBe('node');
    const { outDir, rootDir } = readJson('tsconfig.json').compilerOptions as { outDir: string; rootDir: string };
    const script = entrypoint[1] ?? '';
    expect(script.startsWith(`${outDir}/`)).toBe(true);
    const source = join(rootDir, script.slice(outDir.length + 1)).replace(/\.js$/, '.ts');
    expect(exists(source), `${source} (the CLI) does not exist yet`).toBe(true);
  });
});

describe('image entrypoint, run outside Docker with the image environment', () => {
  it('prints help that lists the scorer command', { timeout: 90_000 }, () => {
    const { entrypoint } = imageCommand();
    const script = entrypoint[1] ?? '';
    // WORKDIR /app mirrors the repository layout, so /app/… paths map onto the checkout.
    const env: Record<string, string | undefined> = { ...process.env };
    for (const [k, v] of Object.entries(imageEnv)) env[k] = v.replace(/^\/app(?=\/|$)/, REPO);
    const [cmd, args] = exists(script)
      ? [process.execPath, [script, ...entrypoint.slice(2), '--help']]
      : [join(REPO, 'node_modules/.bin/tsx'), [script.replace(/^dist\//, '').replace(/\.js$/, '.ts'), '--help']];
    const run = spawnSync(cmd, args, { cwd: REPO, env, encoding: 'utf8', timeout: 80_000 });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.error, output).toBeUndefined();
    expect(run.status, output).toBe(0);
    expect(output).toMatch(/\bscorer\b/);
  });
});

describe('deploy/docker/trainer.Dockerfile (the retrain image)', () => {
  const [trainer] = parseDockerfile(readText('deploy/docker/trainer.Dockerfile'));
  const ignore = readText('deploy/docker/trainer.Dockerfile.dockerignore');
  const env = envOf(trainer!);
  const kustomization = parse(readText('deploy/k8s/kustomization.yaml')) as { images: { name: string; newTag: string }[] };

  it('is one stage FROM the fraudscore image of the release kustomize deploys', () => {
    expect(parseDockerfile(readText('deploy/docker/trainer.Dockerfile'))).toHaveLength(1);
    const tag = kustomization.images.find((i) => i.name === 'fraudscore')?.newTag;
    expect(trainer!.from).toBe(`fraudscore:${tag}`);
    expect(kustomization.images.find((i) => i.name === 'fraudscore-trainer')?.newTag).toBe(tag);
  });

  it('puts the trainer where the compiled CLI looks for it: <project root>/services/trainer, the root being /app', () => {
    // The project root is the folder above the code with package.json and schemas/
    // (services/common/src/paths.ts); the fraudscore image copies both into its WORKDIR /app.
    expect(lastOf('WORKDIR')).toBe('/app');
    expect(copies(runtime)).toContainEqual({ from: undefined, sources: ['package.json'], dest: './' });
    expect(copies(runtime)).toContainEqual({ from: undefined, sources: ['schemas'], dest: './schemas' });
    expect(all(trainer!, 'WORKDIR').at(-1)).toBe('/app');
    expect(copies(trainer!)).toEqual([{ from: undefined, sources: ['services/trainer'], dest: './services/trainer' }]);
    // ...and the CLI runs the trainer from there (services/cli/src/retrain/trainer.ts).
    expect(readText('services/cli/src/retrain/trainer.ts')).toMatch(/join\(REPO_ROOT, 'services\/trainer\/setup\.sh'\)/);
  });

  it('builds the venv into the image and keeps only its lock file in /tmp, a volume of the CronJob', () => {
    const run = all(trainer!, 'RUN').join('\n');
    expect(run).toMatch(/apt-get install[^\n]*\bpython3\b[^\n]*\bpython3-venv\b[^\n]*\blibgomp1\b/);
    // Debian bookworm's python3 is 3.11, inside what setup.sh accepts (3.10-3.13).
    expect(runtime.from).toMatch(/-bookworm(-slim)?$/);
    expect(readText('services/trainer/setup.sh')).toMatch(/\(3, 10\) <= sys\.version_info\[:2\] <= \(3, 13\)/);
    const cache = env.FRAUDSCORE_CACHE ?? '';
    expect(cache).toMatch(/^\/opt\//);
    expect(run).toMatch(/bash services\/trainer\/setup\.sh\b/);
    expect(run).toContain(`ln -sf /tmp/fraudscore-venv.lock ${cache}/venv.lock`);
    expect(env.PYTHONDONTWRITEBYTECODE).toBe('1');
    const cron = readText('deploy/k8s/retrain-cronjob.yaml');
    expect(cron).toMatch(/- name: tmp\n\s+mountPath: \/tmp/);
  });

  it('runs as the same non-root user as the fraudscore image, with its entry point', () => {
    expect(all(trainer!, 'USER').at(-1)).toBe(lastOf('USER'));
    expect(all(trainer!, 'ENTRYPOINT')).toEqual([]);
    expect(execForm(all(trainer!, 'CMD').at(-1) ?? '[]')[0]).toBe('retrain');
  });

  it('takes only the trainer into its build context', () => {
    for (const src of copies(trainer!).flatMap((c) => c.sources)) expect(includedInContext(ignore, src), src).toBe(true);
    for (const file of ['services/trainer/train.py', 'services/trainer/requirements.txt', 'services/trainer/setup.sh']) expect(includedInContext(ignore, file), file).toBe(true);
    for (const junk of ['services/trainer/__pycache__/x.pyc', 'node_modules/x', 'services/cli/src/main.ts', '.cache/venv/bin/python', 'test/unit/trainer/test_data.py']) {
      expect(includedInContext(ignore, junk), junk).toBe(false);
    }
  });
});
