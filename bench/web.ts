/**
 * `npm run bench -- web [--threads 1,2] [--gen 128] [--dir DIR] [--tokenizer PATH]`
 *
 * The engine in the browser (headless Chromium, the /browser page of `llama-ts serve`) against the
 * same engine in Node and against llama.cpp (node-llama-cpp 3.21.1, through `bench inference`'s
 * child) on one GGUF file: the 15M preset (dim 288, 6 layers, f32), random weights, with Meta's
 * 32000-piece tokenizer embedded (../shared/data/tokenizer/tokenizer.model) because the page
 * needs one. For each thread count: greedy decode tokens/s (first to last generated token) and the
 * time to the first token; the page's text must equal Node's. The last line is JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const PROMPT = 'Once upon a time, there was a little girl who lived in a village near the forest.';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface Figures { decode_tps: number; first_token_ms: number; tokens: number }

async function ensureModel(dir: string, tokenizer: string): Promise<string> {
  const p = join(dir, '15M-f32-meta-vocab.gguf');
  if (existsSync(p)) return p;
  if (!existsSync(tokenizer)) throw new Error(`tokenizer ${tokenizer} not found: pass --tokenizer PATH (a 32000-piece SentencePiece model)`);
  const { PRESETS } = await import('../src/model/config.js');
  const { syntheticCheckpoint } = await import('../src/formats/synthetic.js');
  const { saveGgufCheckpoint } = await import('../src/formats/gguf-llama.js');
  const { tokenizerToGguf } = await import('../src/formats/tokenizer-source.js');
  const { SentencePieceTokenizer } = await import('../src/tokenizer/index.js');
  const tok = SentencePieceTokenizer.load(tokenizer);
  const cfg = { ...PRESETS['15M'], vocabSize: tok.vocabSize, maxSeqLen: 512 };
  process.stderr.write(`writing ${p} ...\n`);
  saveGgufCheckpoint(syntheticCheckpoint(cfg, { seed: 1234 }, tokenizerToGguf(tok)), p, { name: 'llama-ts bench web 15M' });
  return p;
}

async function nodeFigures(model: string, threads: number, nGen: number): Promise<Figures & { text: string; promptTokens: number }> {
  const { loadModel } = await import('../src/inference/index.js');
  const { createBackend } = await import('../src/kernels/index.js');
  const backend = await createBackend({ kind: 'wasm', threads });
  const m = await loadModel(model, { backend, contextLength: 512 });
  const ids = m.tokenizer!.encode(PROMPT, { bos: true });
  const t0 = performance.now();
  let first = 0, last = 0;
  const res = await m.generate(ids, { temperature: 0, maxTokens: nGen }, (t) => {
    if (t.id < 0) return;
    last = performance.now();
    if (!first) first = last;
  });
  backend.dispose();
  const n = res.tokens.length;
  return { decode_tps: (n - 1) / ((last - first) / 1000), first_token_ms: first - t0, tokens: n, text: res.text, promptTokens: ids.length };
}

function peerFigures(model: string, threads: number, nPrompt: number, nGen: number): Figures {
  const runJs = join(fileURLToPath(new URL('.', import.meta.url)), 'run.js');
  const r = spawnSync(process.execPath, [runJs, 'inference', '--child', 'peer', '--model', model, '--threads', String(threads),
    '--prompt', String(nPrompt), '--gen', String(nGen)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) throw new Error(`llama.cpp on ${model} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  const m = JSON.parse(line) as { decode_tps: number; prefill_tps: number };
  return { decode_tps: m.decode_tps, first_token_ms: nPrompt / m.prefill_tps * 1000, tokens: nGen };
}

export async function run(args: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args, strict: true,
    options: { threads: { type: 'string' }, gen: { type: 'string' }, dir: { type: 'string' }, tokenizer: { type: 'string' } },
  });
  const threadCounts = (v.threads ?? '1,2').split(',').map(Number);
  for (const t of threadCounts) if (!Number.isInteger(t) || t < 1 || t > 16) throw new Error(`--threads: '${t}' is not an integer in 1..16`);
  const nGen = Number(v.gen ?? 128);
  if (!Number.isInteger(nGen) || nGen < 2 || nGen > 400) throw new Error(`--gen ${v.gen}: give an integer in 2..400`);
  if (!existsSync('dist/web/lib/engine/engine-worker.js')) throw new Error('dist/web is not built: run `npm run build`');
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  const dir = v.dir ?? join(tmpdir(), 'llama-ts-bench-models');
  mkdirSync(dir, { recursive: true });
  const model = await ensureModel(dir, v.tokenizer ?? '../shared/data/tokenizer/tokenizer.model');

  const { chromium } = await import('playwright-core');
  const { createLlamaServer } = await import('../src/serve/server.js');
  const { makeChooser } = await import('../src/cli/serve.js');
  const { loadModel } = await import('../src/inference/index.js');
  const { createBackend } = await import('../src/kernels/index.js');
  // the server only serves the page here; its own model is the same file on one thread
  const serverBackend = await createBackend({ kind: 'wasm', threads: 1 });
  const served = await loadModel(model, { backend: serverBackend, contextLength: 512 });
  const server = createLlamaServer({ model: served, makeChooser });
  const base = await server.listen(0);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const rows: Record<string, unknown>[] = [];
  try {
    console.log(`15M f32 (random weights, 32000-piece vocabulary), prompt "${PROMPT.slice(0, 30)}...", ${nGen} greedy tokens; one run each (noisy on a shared machine)`);
    console.log('threads | browser decode tok/s | Node decode tok/s | llama.cpp decode tok/s | browser/Node | browser/llama.cpp | first token ms browser / Node / llama.cpp');
    for (const threads of threadCounts) {
      const node = await nodeFigures(model, threads, nGen);
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}/browser`);
      await page.selectOption('#threads', String(threads));
      const t0 = performance.now();
      await page.setInputFiles('#file', model);
      await page.waitForSelector('#info[data-threads]', { timeout: 120_000 });
      const loadS = (performance.now() - t0) / 1000;
      await page.fill('#prompt', PROMPT);
      await page.fill('#temperature', '0');
      await page.fill('#max-tokens', String(nGen));
      await page.click('#generate');
      await page.waitForSelector('#output[data-state="done"], #output[data-state="error"]', { timeout: 300_000 });
      const shown = await page.evaluate(() => ({
        text: document.getElementById('output')!.dataset.text ?? '', error: document.getElementById('error')!.textContent,
        stats: { ...document.getElementById('stats')!.dataset }, threads: document.getElementById('info')!.dataset.threads,
        firstToken: document.getElementById('stats')!.textContent,
      }));
      await page.close();
      if (shown.error || errors.length) throw new Error(`the page failed: ${shown.error || errors.join('; ')}`);
      const browserTps = Number(shown.stats.tokensPerSec);
      const firstMs = Number(/first token (\d+) ms/.exec(shown.firstToken ?? '')?.[1] ?? NaN);
      const peer = peerFigures(model, threads, node.promptTokens, nGen);
      const same = shown.text === node.text;
      rows.push({ threads, page_threads: Number(shown.threads), browser_decode_tps: browserTps, node_decode_tps: node.decode_tps,
        llamacpp_decode_tps: peer.decode_tps, browser_first_token_ms: firstMs, node_first_token_ms: node.first_token_ms,
        llamacpp_first_token_ms: peer.first_token_ms, browser_load_s: loadS, tokens: node.tokens, same_text_as_node: same });
      console.log(`${threads} | ${browserTps.toFixed(1)} | ${node.decode_tps.toFixed(1)} | ${peer.decode_tps.toFixed(1)} | ` +
        `${(browserTps / node.decode_tps).toFixed(2)} | ${(browserTps / peer.decode_tps).toFixed(2)} | ` +
        `${firstMs.toFixed(0)} / ${node.first_token_ms.toFixed(0)} / ${peer.first_token_ms.toFixed(0)}` +
        `${same ? '' : '  (WARNING: the page\'s text differs from Node\'s)'}`);
    }
  } finally {
    await browser.close();
    await server.close();
    serverBackend.dispose();
  }
  console.log(JSON.stringify({ bench: 'web', model: '15M-f32', gen: nGen, rows }));
}
