/**
 * Builds the in-browser engine into dist/web/ (served by `llama-ts serve` at /static/engine/):
 *   lib/engine/engine-worker.js  the engine (a module Web Worker started by web/browser.js)
 *   lib/engine/kernel-worker.js  a kernel thread (started by the engine when the page is cross-origin isolated)
 *   wasm/kernels-*.wasm          the WebAssembly kernels (copied from dist/wasm; run build-wasm.mjs first)
 * The bundles sit two folders below dist/web, as the compiled loader sits below dist/ in Node
 * (dist/src/kernels/wasm-loader.js), so its URL `../../wasm/<name>.wasm`, relative to the script,
 * finds the kernels in both places without a browser-specific path.
 *
 * The Node-first sources run in a browser through two substitutions (scripts/web-bundle.mjs).
 * Usage: node scripts/build-web.mjs [--minify]
 */
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleOptions } from './web-bundle.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
const wasmSrc = join(root, 'dist', 'wasm');

const wasmFiles = existsSync(wasmSrc) ? readdirSync(wasmSrc).filter((f) => f.endsWith('.wasm')) : [];
if (!wasmFiles.includes('kernels-simd.wasm')) {
  console.error(`build-web: ${wasmSrc}/kernels-simd.wasm is missing; run \`node scripts/build-wasm.mjs\` first`);
  process.exit(1);
}

// Build into a temporary folder and rename it into place: a server reading dist/web never sees a half-written bundle.
const tmp = `${out}.tmp-${process.pid}`;
const result = await build({
  entryPoints: {
    'lib/engine/engine-worker': join(root, 'src', 'web', 'engine-worker.ts'),
    'lib/engine/kernel-worker': join(root, 'src', 'web', 'kernel-worker.ts'),
  },
  ...bundleOptions(root),
  outdir: tmp,
  sourcemap: true,
  minify: process.argv.includes('--minify'),
  metafile: true,
});
mkdirSync(join(tmp, 'wasm'), { recursive: true });
for (const f of wasmFiles) copyFileSync(join(wasmSrc, f), join(tmp, 'wasm', f));
writeFileSync(join(tmp, 'build.json'), JSON.stringify({ builtAt: new Date().toISOString(), wasm: wasmFiles }, null, 2));
const { rmSync } = await import('node:fs');
rmSync(out, { recursive: true, force: true });
renameSync(tmp, out);
const sizes = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js'))
  .map(([f, o]) => `${relative(tmp, resolve(f))} ${(o.bytes / 1024).toFixed(0)} KiB`);
console.log(`build-web: dist/web/ (${sizes.join(', ')}, ${wasmFiles.length} wasm)`);
