/** The web pages and their assets: web/ of this package, plus uPlot from its npm package. */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from './errors.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const webRoot = join(packageRoot, 'web');
const require = createRequire(import.meta.url);
const uplotDist = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml',
};

const PAGES: Record<string, string> = { '/': 'chat.html', '/chat': 'chat.html', '/runs': 'runs.html', '/browser': 'browser.html' };

/** Files a URL may name: web/ itself, uPlot, and the browser build of the engine (dist/web). */
function resolveAsset(urlPath: string): string | null {
  if (PAGES[urlPath]) return join(webRoot, PAGES[urlPath]!);
  if (!urlPath.startsWith('/static/')) return null;
  const rel = normalize(urlPath.slice('/static/'.length));
  if (rel.startsWith('..') || rel.includes('\0')) return null;
  if (rel === 'uPlot.iife.min.js' || rel === 'uPlot.min.css') return join(uplotDist, rel);
  if (rel.startsWith('engine/')) return join(packageRoot, 'dist', 'web', rel.slice('engine/'.length));
  return join(webRoot, rel);
}

export function serveStatic(urlPath: string, res: ServerResponse): boolean {
  const file = resolveAsset(urlPath);
  if (!file) return false;
  let body: Buffer;
  try {
    body = readFileSync(file);
  } catch {
    throw new ApiError(404, `not found: ${urlPath}`, 'not_found_error');
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': 'no-cache',
    // cross-origin isolation lets the in-browser engine use SharedArrayBuffer threads
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
  });
  res.end(body);
  return true;
}
