/** Broken copies of a shipped model for refusal tests: models/fraud-lr/1.0.0 copied, then tampered with. */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Copies models/fraud-lr/1.0.0 to <dir>/<name>/1.0.0 and lets `tamper` break it. */
export function modelVariant(dir: string, name: string, tamper: (path: string) => void): void {
  const to = join(dir, name, '1.0.0');
  cpSync(join('models', 'fraud-lr', '1.0.0'), to, { recursive: true });
  tamper(to);
}

/**
 * Rewrites the manifest of the artifact folder `path` through `edit`. The copied manifest.sig
 * no longer matches and is removed: the variant is unsigned (a refusal only where
 * FRAUD_MODEL_PUBLIC_KEYS is set), not a forgery.
 */
export function editManifest(path: string, edit: (m: Record<string, unknown>) => void): void {
  const m = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  edit(m);
  writeFileSync(join(path, 'manifest.json'), JSON.stringify(m));
  rmSync(join(path, 'manifest.sig'), { force: true });
}
