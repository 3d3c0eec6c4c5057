/**
 * `npm run bench -- <name> [options]`: runs bench/<name>.ts, which exports `run(args)`.
 * Each benchmark runs our code and its peer in the same run, alternating, and prints medians and
 * ratios, ending with one line of JSON.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here).filter((f) => f.endsWith('.js') && f !== 'run.js' && !f.startsWith('_')).map((f) => f.slice(0, -3)).sort();
const [name, ...args] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- <${names.join('|')}> [options]`);
  process.exit(2);
}
const mod = (await import(pathToFileURL(join(here, `${name}.js`)).href)) as { run(args: string[]): Promise<void> };
await mod.run(args);
process.exit(0);
