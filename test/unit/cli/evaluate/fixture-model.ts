/**
 * A real model artifact for the end-to-end test: the logistic-regression ONNX graph
 * (Scaler node + LinearClassifier, input `features` float32 [N, 15], output `probabilities`
 * [N, 2], no ZipMap) that services/trainer exported from the seed-42 handbook training week,
 * 1,124 base64 characters. Any 15-feature table can be scored with it.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../../services/scorer/src/features/index.js';

export const LR_ONNX_BASE64 =
  'CAgSCHNrbDJvbm54GgYxLjIwLjAiB2FpLm9ubngoADJTZnJhdWQtbHIgMS4wLjA6IFN0YW5kYXJkU2NhbGVyICsgc2tsZWFybi5saW5lYXJfbW9kZWwuTG9naXN0aWNSZWdyZXNzaW9uIHsiQyI6IDEuMH06tgUK3wEKCGZlYXR1cmVzEgh2YXJpYWJsZRoGU2NhbGVyIgZTY2FsZXIqVgoGb2Zmc2V0PRz8V0I93uCQPj0xfTA+Pex9Z0A9zzBYQj1HnppBPQSqV0I9E7ieQj2qv1dCPSRjhD89pp6xOz2/t+dAPaCpFzw9+cD4QT2Q5RY8oAEGKlUKBXNjYWxlPWibvzw9VhUOQD3icylAPWIuCT89Y0DpPD2MrAQ+PfENBz09PwwOPT0oIww9PeMRcz89i2VjQT281aA+PdDqTEE9Fq3ePT2pSntBoAEGOgphaS5vbm54Lm1sCuMCCgh2YXJpYWJsZRIFbGFiZWwSDXByb2JhYmlsaXRpZXMaEExpbmVhckNsYXNzaWZpZXIiEExpbmVhckNsYXNzaWZpZXIqGQoQY2xhc3NsYWJlbHNfaW50c0AAQAGgAQcqpwEKDGNvZWZmaWNpZW50cz3UVL6/PX397rw9XaZuvT1s2pY8PeM/PL49foCwvj3Sxb6/PU/mQz49zgY4QD0cqnI+PQfM2b09ZLvIvj0X6ZK/PS5LPz49Tl9WPz3UVL4/PX397jw9XaZuPT1s2pa8PeM/PD49foCwPj3Sxb4/PU/mQ749zgY4wD0cqnK+PQfM2T09ZLvIPj0X6ZI/PS5LP749Tl9Wv6ABBioZCgppbnRlcmNlcHRzPQtdzkA9C13OwKABBioSCgttdWx0aV9jbGFzcxgAoAECKh0KDnBvc3RfdHJhbnNmb3JtIghMT0dJU1RJQ6ABAzoKYWkub25ueC5tbBIgZDEzYmUxM2M5YjM3NDQwM2IyYTEzN2UyOGUzMjdlOGNaGAoIZmVhdHVyZXMSDAoKCAESBgoACgIID2IRCgVsYWJlbBIICgYIBxICCgBiHQoNcHJvYmFiaWxpdGllcxIMCgoIARIGCgAKAggCQg4KCmFpLm9ubngubWwQAUIECgAQEUIECgAQEQ==';

/** Writes <modelsDir>/<name>/<version>/{model.onnx, manifest.json}; returns the manifest. */
export async function writeFixtureModel(
  modelsDir: string,
  name: string,
  version: string,
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const bytes = Buffer.from(LR_ONNX_BASE64, 'base64');
  const dir = join(modelsDir, name, version);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), bytes);
  const manifest = {
    name,
    version,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    features: [...FEATURE_NAMES],
    feature_set_version: FEATURE_SET_VERSION,
    thresholds: { review: 0.3, block: 0.8 },
    input_name: 'features',
    output_name: 'probabilities',
    ...extra,
  };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}
