import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cachedFeaturesName,
  ensureFeatures,
  metaPath,
  staleReason,
  type Generate,
} from '../../../../services/cli/src/evaluate/features-cache.js';
import {
  listModels,
  parseModelSpecs,
  pickReported,
  readDefaultModel,
  trainerArgs,
} from '../../../../services/cli/src/evaluate/models.js';
import { selectTestRows, makeSplit, describeSplit } from '../../../../services/cli/src/evaluate/protocol.js';
import { formatTable, jsonLine, round4, type ModelResult } from '../../../../services/cli/src/evaluate/report.js';
import { scoreRows } from '../../../../services/cli/src/evaluate/score.js';

let dir: string;
const savedCache = process.env.FRAUDSCORE_CACHE;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'evaluate-support-'));
});
afterEach(() => {
  if (savedCache === undefined) delete process.env.FRAUDSCORE_CACHE;
  else process.env.FRAUDSCORE_CACHE = savedCache;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('model choice', () => {
  it('parses repeated and comma-separated --model values, once each', () => {
    expect(parseModelSpecs(['fraud-lr/1.0.0,fraud-rf/1.0.0', 'fraud-lr/1.0.0', ' fraud-lgbm/2.1 '])).toEqual([
      'fraud-lr/1.0.0',
      'fraud-rf/1.0.0',
      'fraud-lgbm/2.1',
    ]);
    expect(parseModelSpecs([])).toEqual([]);
    expect(() => parseModelSpecs(['fraud-lr'])).toThrow(/name\/version/);
    expect(() => parseModelSpecs(['../x/1'])).toThrow(/name\/version/);
  });

  it('lists the artifacts that have a manifest, and reads default.json', async () => {
    const models = join(dir, 'models');
    for (const p of ['b/1.0.0', 'a/2.0.0', 'a/1.0.0', 'c/empty']) await mkdir(join(models, p), { recursive: true });
    for (const p of ['b/1.0.0', 'a/2.0.0', 'a/1.0.0']) await writeFile(join(models, p, 'manifest.json'), '{}');
    await writeFile(join(models, 'default.json'), JSON.stringify({ name: 'b', version: '1.0.0' }));
    expect(await listModels(models)).toEqual(['a/1.0.0', 'a/2.0.0', 'b/1.0.0']);
    expect(await readDefaultModel(models)).toBe('b/1.0.0');
    expect(await listModels(join(dir, 'nothing'))).toEqual([]);
    expect(await readDefaultModel(join(dir, 'nothing'))).toBeUndefined();
  });

  it('reports the default when it was evaluated, else the first', () => {
    expect(pickReported(['a/1', 'b/1'], 'b/1')).toBe('b/1');
    expect(pickReported(['a/1', 'b/1'], 'c/1')).toBe('a/1');
    expect(pickReported(['a/1'], undefined)).toBe('a/1');
  });

  it('passes the split and the data seed to the trainer', () => {
    const args = trainerArgs({
      features: 'f.csv', modelsDir: 'm', trainStart: '2018-07-25', valTrainStart: '2018-07-11',
      deltaTrain: 7, deltaDelay: 7, deltaTest: 7, dataSeed: 42, quick: true,
    });
    expect(args.join(' ')).toBe(
      '--features f.csv --models-dir m --train-start 2018-07-25 --val-train-start 2018-07-11 ' +
        '--delta-train 7 --delta-delay 7 --delta-test 7 --data-seed 42 --quick',
    );
  });
});

describe('scoreRows', () => {
  it('scores in batches through model.score, passing each batch as its own rows', async () => {
    const calls: number[] = [];
    const model = {
      score: (rows: Float32Array, n: number) => {
        calls.push(n);
        expect(rows.length).toBe(n * 2);
        // score = first input of the row
        return Promise.resolve(Float32Array.from({ length: n }, (_, i) => rows[i * 2] as number));
      },
    };
    const X = Float32Array.from({ length: 10 * 2 }, (_, i) => (i % 2 === 0 ? i / 2 / 10 : -1));
    const done: number[] = [];
    const s = await scoreRows(model, X, 10, 2, { batch: 4, onProgress: (d) => done.push(d) });
    expect(calls).toEqual([4, 4, 2]);
    expect(done).toEqual([4, 8, 10]);
    expect([...s]).toEqual([...Float32Array.from({ length: 10 }, (_, i) => i / 10)]);
  });
});

describe('report', () => {
  const result: ModelResult = { model: 'fraud-lr/1.0.0', auc: 0.87412345, ap: 0.63089, cp100: 0.348571, cp100Hb: 0.29, scoreMs: 5 };

  it('the JSON line has exactly the four keys, in order, rounded to 4 decimals', () => {
    expect(jsonLine(result)).toBe('{"auc_roc":0.8741,"average_precision":0.6309,"card_precision_at_100":0.3486,"model":"fraud-lr/1.0.0"}');
    expect(round4(Number.NaN)).toBeNull();
  });

  it('the table shows each model, the handbook rows and the test set', () => {
    const split = makeSplit({ trainStart: '2018-07-25' });
    const selection = selectTestRows({ days: [0, 14, 15], cards: [1, 1, 2], labels: [1, 0, 1] }, split);
    const text = formatTable({
      results: [{ ...result, trainer: { auc: 0.8741, ap: 0.6309, cp100: 0.3486, sameData: true } }],
      reported: 'fraud-lr/1.0.0', dirDefault: 'fraud-lr/1.0.0', split: describeSplit(split), selection,
      featuresPath: 'f.csv', modelsDir: 'models',
    });
    expect(text).toMatch(/fraud-lr\/1\.0\.0 \*\s+0\.874\s+0\.631\s+0\.349\s+0\.290\s+0\.8741 \/ 0\.6309 \/ 0\.3486 \(0\.0000\)/);
    expect(text).toMatch(/handbook logistic regression\s+0\.871\s+0\.606\s+0\.291/);
    expect(text).toMatch(/handbook random forest\s+0\.867\s+0\.658\s+0\.287/);
    expect(text).toMatch(/handbook XGBoost\s+0\.862\s+0\.639\s+0\.273/);
    expect(text).toContain('test 2018-08-08..2018-08-14');
    expect(text).toContain('test: 1 rows, 1 frauds, 1 cards; removed as known compromised: 1 rows (0 frauds) of 1 cards');
    expect(text.endsWith('\n')).toBe(true);
  });
});

describe('features cache', () => {
  it('names the default world features-seed<seed>.csv and other worlds by what differs', () => {
    expect(cachedFeaturesName({ seed: 42 })).toBe('features-seed42.csv');
    expect(cachedFeaturesName({ seed: 42, customers: 5000, days: 183 })).toBe('features-seed42.csv');
    expect(cachedFeaturesName({ seed: 1, customers: 200, terminals: 400, days: 40, startDate: '2018-05-01' }))
      .toBe('features-seed1-c200-t400-d40-s2018-05-01.csv');
  });

  it('generates once, reuses while the sidecar matches, regenerates when it does not', async () => {
    process.env.FRAUDSCORE_CACHE = join(dir, 'cache');
    let runs = 0;
    const generate: Generate = async (_sim, out) => {
      runs++;
      await writeFile(out, `header\nrow ${runs}\n`);
      return 1;
    };
    const sim = { seed: 3, customers: 10 };
    const first = await ensureFeatures(undefined, sim, generate);
    expect(first.source).toBe('generated');
    expect(first.path).toBe(join(dir, 'cache', 'features-seed3-c10.csv'));
    expect(first.note).toMatch(/not generated yet/);
    const meta = JSON.parse(await readFile(metaPath(first.path), 'utf8')) as { simulation: { seed: number }; rows: number; bytes: number };
    expect(meta.simulation.seed).toBe(3);
    expect(meta.bytes).toBe((await stat(first.path)).size);

    expect((await ensureFeatures(undefined, sim, generate)).source).toBe('cached');
    expect(runs).toBe(1);

    // A truncated or edited file is not trusted.
    await writeFile(first.path, 'header\n');
    expect(await staleReason(first.path, sim)).toMatch(/incomplete or edited/);
    expect((await ensureFeatures(undefined, sim, generate)).source).toBe('generated');
    expect(runs).toBe(2);

    // Without a sidecar, or with other options, it is regenerated as well.
    await rm(metaPath(first.path));
    expect(await staleReason(first.path, sim)).toMatch(/no .*meta\.json/);
    await ensureFeatures(undefined, sim, generate);
    expect(await staleReason(first.path, { ...sim, terminals: 20 })).toMatch(/other simulation options/);
  });

  it('uses a given file as is, and generates it only when missing', async () => {
    let runs = 0;
    const generate: Generate = async (_sim, out) => {
      runs++;
      await writeFile(out, 'x\n');
      return 0;
    };
    const given = join(dir, 'given.csv');
    await writeFile(given, 'mine\n');
    const r = await ensureFeatures(given, { seed: 1 }, generate);
    expect(r).toMatchObject({ path: given, source: 'given' });
    expect(runs).toBe(0);
    expect(await readFile(given, 'utf8')).toBe('mine\n');
    const missing = join(dir, 'sub', 'missing.csv');
    expect((await ensureFeatures(missing, { seed: 1 }, generate)).source).toBe('generated');
    expect(runs).toBe(1);
  });

  it('leaves no half-written file when generation fails', async () => {
    process.env.FRAUDSCORE_CACHE = join(dir, 'cache-fail');
    const failing: Generate = async (_sim, out) => {
      await writeFile(out, 'partial');
      throw new Error('boom');
    };
    await expect(ensureFeatures(undefined, { seed: 9 }, failing)).rejects.toThrow('boom');
    await expect(stat(join(dir, 'cache-fail', 'features-seed9.csv'))).rejects.toThrow();
  });
});
