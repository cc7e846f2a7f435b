/**
 * Applies deployment specs: loads and verifies every model a spec names (signature when
 * FRAUD_MODEL_PUBLIC_KEYS is set, digest, feature contract, warm-up) while the current revision keeps scoring, then swaps the new Serving in
 * with one assignment. A spec that fails any check is refused with a reason; the models in
 * force stay. Specs are applied one at a time, in revision order.
 *
 * Loaded models are cached by name/version/digest, and the previous revision's models stay
 * loaded, so a rollback swaps without loading anything.
 */
import { join } from 'node:path';
import type { DeploymentSpec, ModelPin, ModelRole } from '../../../common/src/contracts.js';
import type { Policy } from '../decision/policy.js';
import { ModelError, type Model } from '../model/load.js';
import type { Logger } from '../telemetry/log.js';
import { armsOf, type Arm, type Serving } from './serving.js';
import { checkSpec, DeploymentRefused, describeSpec, pinName } from './spec.js';

/** Rows of zeros scored once more after loading, at a chunk's size: the first large call allocates. */
const WARM_UP_ROWS = 256;
/** A model no longer in the current or previous revision is released this long after its swap (a chunk in flight may still hold it). */
const RELEASE_AFTER_MS = 30_000;

export interface DeployerDeps {
  modelsDir: string;
  /** Serves until a spec is applied (revision -1). */
  fallback: Model;
  load(dir: string): Promise<Model>;
  policyFor(model: Model): Policy;
  log: Logger;
  /** Every refusal, after it is logged. */
  onRefused?(revision: number, err: DeploymentRefused): void;
  /** Every swap, right after the new Serving is in force. */
  onApplied?(serving: Serving, spec: DeploymentSpec): void;
}

export interface Deployer {
  /** The revision in force: read once per chunk. */
  serving(): Serving;
  /**
   * Loads, verifies and swaps in the spec at `revision`. Rejects with DeploymentRefused (and
   * changes nothing) when the spec or any model it names fails a check.
   */
  apply(spec: DeploymentSpec, revision: number): Promise<Serving>;
  /** A revision refused before it could be applied (not a spec at all), in its place in the order. */
  refuse(revision: number, err: DeploymentRefused): void;
  /** Releases every loaded model except the fallback (owned by the caller). */
  close(): Promise<void>;
}

export function createDeployer(deps: DeployerDeps): Deployer {
  const fallbackArm: Arm = { role: 'CHAMPION', model: deps.fallback, policy: deps.policyFor(deps.fallback) };
  let current: Serving = { revision: -1, champion: fallbackArm };
  let previous: Serving | undefined;
  const cache = new Map<string, Promise<Model>>();
  let queue: Promise<unknown> = Promise.resolve();

  const keyOf = (pin: ModelPin) => `${pin.name}/${pin.version}@${pin.digest}`;

  async function loadPin(pin: ModelPin, role: string): Promise<Model> {
    const key = keyOf(pin);
    const fb = deps.fallback.ref;
    if (`${fb.name}/${fb.version}@${fb.digest}` === key) return deps.fallback;
    let loading = cache.get(key);
    if (!loading) {
      loading = (async () => {
        const model = await deps.load(join(deps.modelsDir, pin.name, pin.version));
        // A folder copied under another name still says what it is: serve it only under its own name.
        if (model.ref.name !== pin.name || model.ref.version !== pin.version) {
          await model.dispose();
          throw new ModelError('invalid_manifest', `${pinName(pin)}: the manifest in that folder names ${model.ref.name}/${model.ref.version}`);
        }
        if (model.ref.digest !== pin.digest) {
          await model.dispose();
          throw new ModelError('digest_mismatch', `${pinName(pin)}: the spec pins sha256 ${pin.digest}, the artifact in ${deps.modelsDir} is ${model.ref.digest}`);
        }
        await model.score(new Float32Array(WARM_UP_ROWS * model.manifest.features.length), WARM_UP_ROWS);
        return model;
      })();
      cache.set(key, loading);
      // A failed load is not cached: the artifact may arrive later, and a new spec retries it.
      loading.catch(() => cache.delete(key));
    }
    try {
      return await loading;
    } catch (err) {
      if (err instanceof ModelError) throw new DeploymentRefused(err.reason, `${role} ${pinName(pin)}: ${err.message}`);
      throw new DeploymentRefused('warmup_failed', `${role} ${pinName(pin)}: ${(err as Error).message}`);
    }
  }

  async function armFor(pin: ModelPin, role: ModelRole): Promise<Arm> {
    const model = await loadPin(pin, role.toLowerCase());
    return { role, model, policy: deps.policyFor(model) };
  }

  async function build(spec: DeploymentSpec, revision: number): Promise<Serving> {
    checkSpec(spec);
    const champion = await armFor(spec.champion, 'CHAMPION');
    const canary = spec.canary ? { ...(await armFor(spec.canary.model, 'CANARY')), sharePercent: spec.canary.sharePercent } : undefined;
    const shadow = spec.shadow ? await armFor(spec.shadow, 'SHADOW') : undefined;
    return { revision, champion, ...(canary ? { canary } : {}), ...(shadow ? { shadow } : {}) };
  }

  function releaseUnused(): void {
    const kept = new Set([...armsOf(current), ...(previous ? armsOf(previous) : [])].map((a) => a.model));
    for (const [key, loading] of cache) {
      void loading.then((model) => {
        if (kept.has(model)) return;
        setTimeout(() => {
          const stillKept = new Set([...armsOf(current), ...(previous ? armsOf(previous) : [])].map((a) => a.model));
          if (stillKept.has(model) || cache.get(key) !== loading) return;
          cache.delete(key);
          void model.dispose().catch(() => {});
        }, RELEASE_AFTER_MS).unref();
      }, () => {});
    }
  }

  async function applyNow(spec: DeploymentSpec, revision: number): Promise<Serving> {
    const started = performance.now();
    let next: Serving;
    try {
      next = await build(spec, revision);
    } catch (err) {
      const refused = err instanceof DeploymentRefused ? err : new DeploymentRefused('invalid_spec', (err as Error).message);
      deps.log.error({ revision, reason: refused.reason, spec: describeSpec(spec), kept: current.revision }, `deployment refused: ${refused.message}; the models in force keep scoring`);
      deps.onRefused?.(revision, refused);
      throw refused;
    }
    previous = current;
    current = next;
    deps.log.info({ revision, spec: describeSpec(spec), by: spec.requestedBy, why: spec.reason, loadMs: Math.round(performance.now() - started) }, 'deployment applied');
    deps.onApplied?.(next, spec);
    releaseUnused();
    return next;
  }

  return {
    serving: () => current,
    apply(spec, revision) {
      const done = queue.then(() => applyNow(spec, revision));
      queue = done.catch(() => {});
      return done;
    },
    refuse(revision, err) {
      queue = queue.then(() => {
        deps.log.error({ revision, reason: err.reason, kept: current.revision }, `deployment refused: ${err.message}; the models in force keep scoring`);
        deps.onRefused?.(revision, err);
      });
    },
    async close() {
      const models = await Promise.allSettled([...cache.values()]);
      cache.clear();
      for (const m of models) if (m.status === 'fulfilled' && m.value !== deps.fallback) await m.value.dispose().catch(() => {});
    },
  };
}
