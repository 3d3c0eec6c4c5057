/**
 * The in-browser engine (web/browser.html + dist/web, built from src/web) in headless Chromium
 * (Debian's, driven by playwright-core): the page reads a GGUF file chosen with the file input and
 * generates in the page with the WebAssembly kernels. Greedy output must equal the Node engine's
 * (same kernels, same weights -> same tokens); tokens must stream; with the server's cross-origin
 * isolation headers the kernels run on several Web Workers, without them on one thread; a corrupt
 * or truncated file gives a clear error in the page. Screenshots go to test-output/web/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createLlamaServer, type LlamaServer } from '../../src/serve/server.js';
import { makeChooser } from '../../src/cli/serve.js';
import type { LlamaModel } from '../../src/inference/model.js';
import { openCheckpoint, saveCheckpoint } from '../../src/formats/index.js';
import { loadTiny, TOKENIZER, writeTinyGguf } from '../serve/helpers.js';
import { writeTrainingCheckpoint } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = 'test-output/web';
const PROMPT = 'The old man said that';
const MAX_TOKENS = 24;

let dir: string;
let ggufPath: string;
let model: LlamaModel;
let expected: { text: string; tokens: number[] };
let expectedSampled: string;
let expectedLong: string;
let q8Path: string;
let expectedQ8: string;
const SAMPLED = { temperature: 0.9, topK: 40, topP: 0.95, seed: 5, maxTokens: MAX_TOKENS };
let server: LlamaServer;
let base: string;
let plain: Server;          // the same pages without the cross-origin isolation headers
let plainBase: string;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `headless Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  assert.ok(existsSync('dist/web/lib/engine/engine-worker.js'), 'dist/web is not built: run `npm run build` (scripts/build-web.mjs)');
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'llama-ts-web-'));
  ggufPath = writeTinyGguf(dir);
  // The reference: the Node engine on the same file, greedy.
  model = await loadTiny(ggufPath, 2);
  const ids = model.tokenizer!.encode(PROMPT, { bos: true });
  const res = await model.generate(ids, { temperature: 0, maxTokens: MAX_TOKENS });
  expected = { text: res.text, tokens: res.tokens };
  expectedSampled = (await model.generate(ids, SAMPLED)).text;
  expectedLong = (await model.generate(ids, { ...SAMPLED, maxTokens: 240 })).text;
  // the same model quantized to q8_0: the page runs the int8 kernels too
  q8Path = join(dir, 'tiny-q8_0.gguf');
  const src = openCheckpoint(ggufPath);
  try { saveCheckpoint(src, 'gguf', q8Path, { type: 'q8_0' }); } finally { src.close(); }
  const q8 = await loadTiny(q8Path, 2);
  expectedQ8 = (await q8.generate(ids, { temperature: 0, maxTokens: MAX_TOKENS })).text;
  q8.dispose();
  server = createLlamaServer({ model, makeChooser });
  base = await server.listen(0);
  plain = createServer((req, res) => {
    void fetch(base + req.url).then(async (r) => {
      const headers: Record<string, string> = {};
      r.headers.forEach((v, k) => { if (!k.startsWith('cross-origin-') && k !== 'content-length' && k !== 'content-encoding') headers[k] = v; });
      res.writeHead(r.status, headers);
      res.end(Buffer.from(await r.arrayBuffer()));
    }, (e: Error) => { res.writeHead(502); res.end(e.message); });
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  plainBase = `http://127.0.0.1:${(plain.address() as { port: number }).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await new Promise((r) => plain ? plain.close(r) : r(null));
  model?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openPage(url: string, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  return page;
}

/** Chooses the file, waits for the model to load, generates greedily; returns what the page shows. */
async function loadAndGenerate(page: Page, file: string | string[]) {
  await page.setInputFiles('#file', file);
  await page.waitForSelector('#info[data-threads]', { timeout: 30_000 });
  return generateInPage(page, { temperature: 0, topK: 40, topP: 0.95, seed: 0, maxTokens: MAX_TOKENS });
}

interface Settings { temperature: number; topK: number; topP: number; seed: number; maxTokens: number }

/** Fills the sampling settings, presses Generate and waits for the end; returns what the page shows. */
async function generateInPage(page: Page, s: Settings, whileRunning?: () => Promise<void>) {
  await page.evaluate(() => {
    const w = window as unknown as { updates: number };
    w.updates = 0;
    new MutationObserver(() => { w.updates++; }).observe(document.getElementById('output')!, { subtree: true, characterData: true, childList: true });
  });
  await page.fill('#prompt', PROMPT);
  await page.fill('#temperature', String(s.temperature));
  await page.fill('#top-k', String(s.topK));
  await page.fill('#top-p', String(s.topP));
  await page.fill('#seed', String(s.seed));
  await page.fill('#max-tokens', String(s.maxTokens));
  await page.click('#generate');
  await whileRunning?.();
  await page.waitForSelector('#output[data-state="done"]', { timeout: 30_000 });
  return page.evaluate(() => ({
    generated: document.querySelector('#output .gen')!.textContent!,
    fullText: document.getElementById('output')!.dataset.text!,
    updates: (window as unknown as { updates: number }).updates,
    isolated: globalThis.crossOriginIsolated,
    threads: Number(document.getElementById('info')!.dataset.threads),
    backend: document.getElementById('info')!.dataset.backend!,
    parallelCalls: Number(document.getElementById('stats')!.dataset.parallelCalls),
    tokensPerSec: Number(document.getElementById('stats')!.dataset.tokensPerSec),
    finish: document.getElementById('stats')!.dataset.finish!,
    stats: document.getElementById('stats')!.textContent!,
  }));
}

describe('the engine in the browser (headless Chromium)', () => {
  it('generates in the page on several threads, streaming, with the Node engine\'s greedy output', async () => {
    const errors: string[] = [];
    const page = await openPage(`${base}/browser`, errors);
    const r = await loadAndGenerate(page, ggufPath);
    await page.screenshot({ path: join(SHOTS, 'browser-generate.png'), fullPage: true });
    // sampling settings reach the engine: a seeded top-k/top-p sample equals Node's with the same seed
    const sampled = await generateInPage(page, SAMPLED);
    // Stop ends a long generation early
    const stopped = await generateInPage(page, { ...SAMPLED, maxTokens: 240 }, async () => {
      await page.waitForFunction(() => document.querySelector('#output .gen')!.textContent!.length > 0);
      await page.click('#stop');
    });
    await page.close();
    assert.deepEqual(errors, []);
    assert.equal(sampled.generated, expectedSampled);
    assert.notEqual(expectedSampled, expected.text);
    assert.equal(stopped.finish, 'stop');
    assert.ok(stopped.generated.length < expectedLong.length, 'Stop cut the generation short');
    assert.ok(expectedLong.startsWith(stopped.generated), 'what came before Stop is the same sample');
    assert.ok(expected.tokens.length > 5, `the reference generated ${expected.tokens.length} tokens`);
    assert.equal(r.isolated, true, 'the page is cross-origin isolated (COOP/COEP from the server)');
    assert.ok(r.threads > 1, `threads: ${r.threads}`);
    assert.match(r.backend, /^wasm-/);
    assert.ok(r.parallelCalls > 0, 'some kernel calls ran on the worker threads');
    assert.equal(r.generated, expected.text);
    assert.equal(r.fullText, expected.text);
    assert.ok(r.updates > 5, `the output arrived in ${r.updates} DOM updates: it should stream`);
    assert.ok(r.tokensPerSec > 0, r.stats);
    assert.match(r.stats, /tokens\/s/);
  });

  it('runs on one thread when the page is not cross-origin isolated, with the same output', async () => {
    const errors: string[] = [];
    const page = await openPage(`${plainBase}/browser`, errors);
    const r = await loadAndGenerate(page, ggufPath);
    await page.screenshot({ path: join(SHOTS, 'browser-one-thread.png'), fullPage: true });
    await page.close();
    assert.deepEqual(errors, []);
    assert.equal(r.isolated, false);
    assert.equal(r.threads, 1);
    assert.equal(r.parallelCalls, 0);
    assert.equal(r.generated, expected.text);
  });

  it('runs a q8_0-quantized file with the Node engine\'s greedy output', async () => {
    const errors: string[] = [];
    const page = await openPage(`${base}/browser`, errors);
    const r = await loadAndGenerate(page, q8Path);
    const weights = await page.textContent('#info');
    await page.close();
    assert.deepEqual(errors, []);
    assert.match(weights!, /q8_0/);
    assert.ok(r.threads > 1);
    assert.equal(r.generated, expectedQ8);
    assert.notEqual(expectedQ8, '');
  });

  it('runs a training checkpoint chosen together with its tokenizer.model', async () => {
    const ckptPath = join(dir, 'step-00000007.ckpt');
    writeTrainingCheckpoint(ggufPath, ckptPath);
    const errors: string[] = [];
    const page = await openPage(`${base}/browser`, errors);
    // alone, the checkpoint has no vocabulary: the page says what to add
    await page.setInputFiles('#file', ckptPath);
    await page.waitForFunction(() => document.getElementById('error')!.textContent !== '', null, { timeout: 30_000 });
    assert.match((await page.textContent('#error'))!, /step-00000007\.ckpt has no tokenizer: choose its tokenizer\.model together with it/);
    const r = await loadAndGenerate(page, [ckptPath, TOKENIZER]);
    await page.screenshot({ path: join(SHOTS, 'browser-checkpoint.png'), fullPage: true });
    await page.close();
    assert.deepEqual(errors, []);
    assert.equal(r.generated, expected.text, 'the same weights as tiny.gguf give the same greedy text');
  });

  it('shows a clear error for a truncated file and for a file that is not GGUF', async () => {
    const bytes = readFileSync(ggufPath);
    const truncated = join(dir, 'truncated.gguf');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const notGguf = join(dir, 'notes.gguf');
    writeFileSync(notGguf, 'these are some notes, not a model\n');
    const errors: string[] = [];
    const page = await openPage(`${base}/browser`, errors);

    await page.setInputFiles('#file', truncated);
    await page.waitForFunction(() => document.getElementById('error')!.textContent !== '', null, { timeout: 30_000 });
    const truncMsg = await page.textContent('#error');
    await page.screenshot({ path: join(SHOTS, 'browser-truncated.png'), fullPage: true });
    assert.match(truncMsg!, /Could not load the model: truncated\.gguf is (truncated|corrupt)/);
    assert.match(truncMsg!, /at byte \d+/);
    assert.equal(await page.isDisabled('#generate'), true, 'nothing to generate with');

    await page.setInputFiles('#file', notGguf);
    await page.waitForFunction(() => /notes\.gguf/.test(document.getElementById('error')!.textContent!), null, { timeout: 30_000 });
    assert.match((await page.textContent('#error'))!, /notes\.gguf is not a GGUF model file: it starts with bytes \[74 68 65 73\]/);

    // the page recovers: a good file loads and generates afterwards
    const r = await loadAndGenerate(page, ggufPath);
    assert.equal(await page.textContent('#error'), '');
    assert.equal(r.generated, expected.text);

    // bad sampling settings are refused with the field named, and nothing runs
    await page.fill('#top-p', '0');
    await page.click('#generate');
    await page.waitForFunction(() => document.getElementById('error')!.textContent !== '');
    assert.match((await page.textContent('#error'))!, /Generation failed: sampling: top-p must be in \(0, 1\] \(1 = off\), got 0/);
    await page.fill('#top-p', '0.9');
    await page.fill('#max-tokens', '2.5');
    await page.click('#generate');
    await page.waitForFunction(() => /max tokens/.test(document.getElementById('error')!.textContent!));
    assert.match((await page.textContent('#error'))!, /max tokens: '2\.5' is not an integer/);
    await page.close();
    assert.deepEqual(errors, []);
  });
});
