/** Paths and loaders shared by the tokenizer tests (paths resolve from the repository root). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const fixtureDir = `${repoRoot}fixtures/tokenizer/`;
export const sharedData = `${repoRoot}../shared/data/`;
export const metaModelPath = `${sharedData}tokenizer/tokenizer.model`;
export const haveMeta = existsSync(metaModelPath);

export function readJsonlGz<T>(name: string): T[] {
  return gunzipSync(readFileSync(fixtureDir + name)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as T);
}
