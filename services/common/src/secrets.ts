/**
 * Secrets from the environment or, for Kubernetes secrets and compose secrets mounted as
 * files, from the file a `<NAME>_FILE` variable names. Setting both is refused (which one
 * wins would be a guess), and a named file that cannot be read fails at start-up naming the
 * setting: a service never starts with an empty password it did not ask for.
 */
import { readFileSync } from 'node:fs';

/** A setting that is wrong; the message names it. Services turn it into exit code 2. */
export class SettingError extends Error {
  override name = 'SettingError';
}

/**
 * The value of `name`, from `name` itself or from the file `name_FILE` names (its content with
 * one trailing newline removed: `echo secret > file` is the usual way to write one).
 * Undefined when neither is set.
 */
export function readSecret(env: Record<string, string | undefined>, name: string): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct && file) throw new SettingError(`${name} and ${name}_FILE are both set; set one`);
  if (direct) return direct;
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SettingError(`${name}_FILE=${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (!value) throw new SettingError(`${name}_FILE=${file} is empty`);
  return value;
}
