/**
 * How src/ is bundled for the browser (shared by build-web.mjs and the browser tests):
 *   - src/kernels/pool-threads.ts (node:worker_threads) -> src/web/web-threads.ts (Web Workers): how the
 *     one kernel pool (src/kernels/pool.ts) starts its threads;
 *   - node:* built-ins -> an empty module: they are only reached on Node-only paths (guarded by
 *     isNode, or file-path readers the browser never calls), so they only need to resolve.
 */
import { join, sep } from 'node:path';

export function browserAdapters(root) {
  return {
    name: 'browser-adapters',
    setup(b) {
      b.onResolve({ filter: /^\.\/pool-threads\.js$/ }, (args) =>
        args.importer.endsWith(`${sep}src${sep}kernels${sep}pool.ts`) ? { path: join(root, 'src', 'web', 'web-threads.ts') } : undefined);
      b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-builtin' }));
      b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
        contents: `module.exports = {}; // ${args.path}: not available in the browser`, loader: 'js',
      }));
    },
  };
}

/** esbuild options every browser bundle uses. */
export function bundleOptions(root) {
  return {
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome114', 'firefox120', 'safari17'],
    plugins: [browserAdapters(root)],
    logLevel: 'warning',
  };
}
