/**
 * The web pages in headless Chromium (Debian's, driven by playwright-core; no browser download):
 * the chat page streams a reply, the runs page draws its plots and report table. Screenshots go
 * to test-output/serve/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createLlamaServer, type LlamaServer } from '../../src/serve/server.js';
import { makeChooser } from '../../src/cli/serve.js';
import type { LlamaModel } from '../../src/inference/model.js';
import { loadTiny, writeTinyGguf } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = 'test-output/serve';
let model: LlamaModel;
let server: LlamaServer;
let base: string;
let browser: Browser;

function fakeRun(root: string): void {
  const dir = join(root, 'tiny-run');
  mkdirSync(join(dir, 'eval'), { recursive: true });
  const lines: string[] = [];
  for (let step = 1; step <= 60; step++) {
    const lr = step < 10 ? 3e-4 * step / 10 : 3e-5 + 0.5 * (3e-4 - 3e-5) * (1 + Math.cos(Math.PI * (step - 10) / 50));
    // the trainer's log schema (README, "Training logs")
    lines.push(JSON.stringify({ kind: 'train', step, loss: 6 * Math.exp(-step / 20) + 2, lr, gradNorm: 1 / Math.sqrt(step), tokensPerSec: 900 + 20 * Math.sin(step), mfu: 0.2 }));
    if (step % 10 === 0) {
      const valLoss = 6 * Math.exp(-step / 20) + 2.2;
      lines.push(JSON.stringify({ kind: 'eval', step, valLoss, valPpl: Math.exp(valLoss), ...(step % 20 === 0 ? { piqa: 0.5 + step / 600, hellaswag: 0.25 + step / 1000 } : {}) }));
    }
  }
  writeFileSync(join(dir, 'log.jsonl'), lines.join('\n') + '\n{"step": 61, "loss"'); // a torn last line, as while writing
  writeFileSync(join(dir, 'eval', 'report.json'), JSON.stringify({
    results: [{ task: 'piqa@1', items: 100, metrics: { acc: { value: 0.61, stderr: 0.0488, n: 100 } } }, { task: 'hellaswag@1', items: 100, metrics: { acc_norm: { value: 0.3, stderr: 0.046, n: 100 } } }],
  }));
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `headless Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  mkdirSync(SHOTS, { recursive: true });
  const runs = mkdtempSync(join(tmpdir(), 'llama-ts-runs-'));
  fakeRun(runs);
  model = await loadTiny(writeTinyGguf());
  server = createLlamaServer({ model, makeChooser, runsDir: runs });
  base = await server.listen(0);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await browser?.close();
  await server?.close();
  model?.dispose();
});

describe('web pages in headless Chromium', () => {
  it('chat: sends a message and streams the reply token by token', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    await page.waitForFunction(() => document.getElementById('model')!.textContent!.includes('tiny'));
    // count how many times the reply's text grows while it streams
    await page.evaluate(() => {
      (window as unknown as { updates: number }).updates = 0;
      new MutationObserver(() => { (window as unknown as { updates: number }).updates++; })
        .observe(document.getElementById('messages')!, { subtree: true, characterData: true, childList: true });
    });
    await page.fill('#temperature', '0');
    await page.fill('#max-tokens', '40');
    await page.fill('#input', 'Hello there, who are you?');
    await page.click('#send');
    await page.waitForSelector('.msg.assistant[data-done="true"]', { timeout: 30_000 });
    const reply = await page.textContent('.msg.assistant');
    const updates = await page.evaluate(() => (window as unknown as { updates: number }).updates);
    await page.screenshot({ path: join(SHOTS, 'chat.png') });
    assert.deepEqual(errors, []);
    assert.ok(reply && reply.length > 10, `reply: ${reply}`);
    assert.match(reply!, /tokens\/s/);
    assert.ok(updates > 5, `the reply arrived in ${updates} updates: it should stream`);
    await page.close();
  });

  it('runs: plots loss, learning rate, throughput and evaluations, and shows the report', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/runs`);
    await page.waitForSelector('body[data-ready="true"]');
    const canvases = await page.$$eval('canvas', (cs) => cs.map((c) => {
      const ctx = (c as HTMLCanvasElement).getContext('2d')!;
      const { data } = ctx.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height);
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted++;
      return painted;
    }));
    const titles = await page.$$eval('.card h3', (hs) => hs.map((h) => h.textContent));
    const cells = await page.$$eval('#reports td', (tds) => tds.map((td) => td.textContent));
    await page.screenshot({ path: join(SHOTS, 'runs.png'), fullPage: true });
    assert.deepEqual(errors, []);
    assert.ok(titles.includes('Loss') && titles.includes('Learning rate') && titles.includes('Evaluations during training'), titles.join(', '));
    assert.ok(canvases.length >= 6, `${canvases.length} charts`);
    for (const painted of canvases) assert.ok(painted > 500, 'each chart has drawn lines');
    assert.ok(cells.includes('piqa@1') && cells.includes('0.6100'), cells.join(' | '));
    await page.close();
  });
});
