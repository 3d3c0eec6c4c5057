/**
 * The WebAssembly kernels on Web Worker threads, in headless Chromium: kernels-check.worker.ts is
 * bundled exactly as the page's engine is (scripts/web-bundle.mjs) and served cross-origin
 * isolated; its results — several threads, two WebAssembly memories, f32 and q8_0 weights,
 * attention — must match the reference kernels run in the same browser.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let root: string;
let server: Server;
let base: string;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `headless Chromium not found at ${CHROMIUM}`);
  assert.ok(existsSync('dist/wasm/kernels-simd.wasm'), 'the kernels are not built: run `npm run build`');
  root = mkdtempSync(join(tmpdir(), 'llama-ts-web-kernels-'));
  const { bundleOptions } = await import(pathToFileURL(resolve('scripts/web-bundle.mjs')).href) as { bundleOptions(root: string): object };
  // two folders deep, like dist/web/lib/engine: the loader finds ../../wasm/ (see build-web.mjs)
  await build({
    ...bundleOptions(resolve('.')),
    entryPoints: { 'lib/check/kernels-check': 'test/web/kernels-check.worker.ts', 'lib/check/kernel-worker': 'src/web/kernel-worker.ts' },
    outdir: root,
  });
  mkdirSync(join(root, 'wasm'));
  for (const f of readdirSync('dist/wasm')) if (f.endsWith('.wasm')) copyFileSync(join('dist/wasm', f), join(root, 'wasm', f));
  const types: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  server = createServer((req, res) => {
    const rel = normalize(new URL(req.url!, 'http://x').pathname).replace(/^\/+/, '');
    const file = rel === '' ? null : join(root, rel);
    const body = file === null ? Buffer.from('<!doctype html><title>kernels</title>') : existsSync(file) ? readFileSync(file) : null;
    if (!body) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, {
      'content-type': file ? types[extname(file)] ?? 'application/octet-stream' : 'text/html',
      'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await new Promise((r) => server ? server.close(r) : r(null));
  if (root) rmSync(root, { recursive: true, force: true });
});

it('kernels on Web Worker threads over two memories match the reference kernels in the browser', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/`);
  const r = await page.evaluate(() => new Promise<Record<string, unknown>>((resolve) => {
    const w = new Worker('/lib/check/kernels-check.js', { type: 'module' });
    w.onmessage = (e) => resolve(e.data as Record<string, unknown>);
    w.onerror = (e) => resolve({ ok: false, error: `worker error: ${e.message}` });
  }));
  const isolated = await page.evaluate(() => globalThis.crossOriginIsolated);
  await page.close();
  assert.deepEqual(errors, []);
  assert.equal(r.ok, true, String(r.error));
  assert.equal(isolated, true);
  assert.equal(r.threads, 3);
  assert.match(String(r.backend), /^wasm-(relaxed-)?simdx3$/);
  assert.ok((r.memoryBytes as number) > 8 << 20, `two memories were used (${r.memoryBytes} bytes)`);
  assert.equal(r.parallelCalls, 10, 'each of the 10 kernel calls (the quantized gemm is two: packing, product) ran on all threads');
  const diffs = r.diffs as Record<string, number>;
  assert.equal(Object.keys(diffs).length, 9);
  for (const [k, d] of Object.entries(diffs)) assert.ok(d <= 1e-4, `${k}: max relative difference ${d} > 1e-4`);
});
