/**
 * Builds the in-browser engine into dist/web/ (served by `llama-ts serve` at /static/engine/):
 *   lib/engine/engine-worker.js  the engine (a module Web Worker started by web/browser.js)
 *   lib/engine/kernel-worker.js  a kernel thread (started by the engine when the page is cross-origin isolated)
 *   wasm/kernels-*.wasm          the WebAssembly kernels (copied from dist/wasm; run build-wasm.mjs first)
 * The bundles sit two folders below dist/web, as the compiled loader sits below dist/ in Node
 * (dist/src/kernels/wasm-loader.js), so its URL `../../wasm/<name>.wasm`, relative to the script,
 * finds the kernels in both places without a browser-specific path.
 *
 * Two substitutions make the Node-first sources run in a browser (esbuild plugin below):
 *   - src/kernels/pool.ts (node:worker_threads) -> src/web/web-pool.ts (Web Workers), same surface;
 *   - node:* built-ins -> an empty module: they are only reached on Node-only paths (guarded by
 *     isNode, or file-path readers the browser never calls), so they only need to resolve.
 * Usage: node scripts/build-web.mjs [--minify]
 */
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
const wasmSrc = join(root, 'dist', 'wasm');

const browserAdapters = {
  name: 'browser-adapters',
  setup(b) {
    b.onResolve({ filter: /^\.\/pool\.js$/ }, (args) =>
      args.importer.endsWith(join('src', 'kernels', 'wasm.ts')) ? { path: join(root, 'src', 'web', 'web-pool.ts') } : undefined);
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
      contents: `module.exports = {}; // ${args.path}: not available in the browser`, loader: 'js',
    }));
  },
};

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
  outdir: tmp,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome114', 'firefox120', 'safari17'],
  sourcemap: true,
  minify: process.argv.includes('--minify'),
  plugins: [browserAdapters],
  metafile: true,
  logLevel: 'warning',
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
