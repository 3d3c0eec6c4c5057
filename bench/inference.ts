/**
 * `npm run bench -- inference [--models 15M-f32,110M-f32,110M-q8_0,1B-q8_0] [--reps 3] [--threads 2]
 *  (also: 110M-f16, 110M-q4_0, 110M-q4_k, 1B-q4_k)
 *  [--prompt 128] [--gen 128] [--dir DIR]`
 *
 * llama-ts vs llama.cpp (node-llama-cpp 3.21.1, its defaults: flash attention auto, F16 KV cache,
 * context 512) on the same GGUF files, written by our writer (random weights, synthetic 32000-piece
 * vocabulary; cached in DIR). Each measurement is a fresh child process — ours and the peer
 * alternate, rep after rep — that loads the model, prefills a 128-token prompt in one batch, then
 * decodes 128 tokens greedily. Reported: medians of prefill and decode tokens/s and of peak RSS,
 * and ratios ours/llama.cpp; the last line is JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface Measure { prefill_tps: number; decode_tps: number; peak_rss_mib: number; load_s: number; first: number[] }

const MODELS: Record<string, { preset: string; type: 'f32' | 'f16' | 'q8_0' | 'q4_0' | 'q4_k' }> = {
  '15M-f32': { preset: '15M', type: 'f32' },
  '110M-f32': { preset: '110M', type: 'f32' },
  '110M-q8_0': { preset: '110M', type: 'q8_0' },
  '1B-q8_0': { preset: '1B', type: 'q8_0' },
  '110M-f16': { preset: '110M', type: 'f16' },
  '110M-q4_0': { preset: '110M', type: 'q4_0' },
  '110M-q4_k': { preset: '110M', type: 'q4_k' },
  '1B-q4_k': { preset: '1B', type: 'q4_k' },
};

function promptTokens(n: number): number[] {
  const out = [1];
  let s = 12345;
  while (out.length < n) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; out.push(259 + ((s >>> 8) % (32000 - 259))); }
  return out;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const rss = () => process.resourceUsage().maxRSS / 1024;

async function childOurs(model: string, threads: number, nPrompt: number, nGen: number): Promise<Measure> {
  const { loadModel } = await import('../src/inference/index.js');
  const { createBackend } = await import('../src/kernels/index.js');
  const t0 = performance.now();
  const backend = await createBackend({ threads });
  const m = await loadModel(model, { backend, contextLength: 512 });
  const load_s = (performance.now() - t0) / 1000;
  const prompt = promptTokens(nPrompt);
  const seq = m.newSequence();
  const t1 = performance.now();
  let row = seq.append(prompt, 'last');
  const t2 = performance.now();
  const first: number[] = [];
  const argmax = (r: Float32Array) => { let b = 0; for (let i = 1; i < r.length; i++) if (r[i] > r[b]) b = i; return b; };
  for (let i = 0; i < nGen; i++) {
    const id = argmax(row);
    first.push(id);
    row = seq.append([id], 'last');
  }
  const t3 = performance.now();
  backend.dispose();
  return { prefill_tps: nPrompt / ((t2 - t1) / 1000), decode_tps: nGen / ((t3 - t2) / 1000), peak_rss_mib: rss(), load_s, first: first.slice(0, 8) };
}

async function childPeer(model: string, threads: number, nPrompt: number, nGen: number): Promise<Measure> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const t0 = performance.now();
  const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, maxThreads: 0, logLevel: LlamaLogLevel.error });
  const lm = await llama.loadModel({ modelPath: model, gpuLayers: 0 });
  const ctx = await lm.createContext({ contextSize: 512, batchSize: 512, sequences: 1, threads });
  const load_s = (performance.now() - t0) / 1000;
  const seq = ctx.getSequence();
  const prompt = promptTokens(nPrompt);
  const it = seq.evaluate(prompt as unknown as Parameters<typeof seq.evaluate>[0], { temperature: 0, yieldEogToken: true });
  const t1 = performance.now();
  const firstTok = await it.next();
  const t2 = performance.now();
  const first = [firstTok.value as number];
  for (let i = 0; i < nGen; i++) first.push((await it.next()).value as number);
  const t3 = performance.now();
  await it.return(undefined);
  const res = { prefill_tps: nPrompt / ((t2 - t1) / 1000), decode_tps: nGen / ((t3 - t2) / 1000), peak_rss_mib: rss(), load_s, first: first.slice(0, 8) };
  await ctx.dispose(); await lm.dispose(); await llama.dispose();
  return res;
}

/** Writes the benchmark's GGUF files once (random weights are deterministic, so a cached file is the same file). */
async function ensureModel(dir: string, name: string): Promise<string> {
  const p = join(dir, `${name}.gguf`);
  if (existsSync(p)) return p;
  const { PRESETS } = await import('../src/model/config.js');
  const { syntheticCheckpoint } = await import('../src/formats/synthetic.js');
  const { saveGgufCheckpoint } = await import('../src/formats/gguf-llama.js');
  const spec = MODELS[name];
  const cfg = { ...PRESETS[spec.preset], maxSeqLen: Math.max(512, PRESETS[spec.preset].maxSeqLen) };
  const t0 = performance.now();
  process.stderr.write(`writing ${p} ...\n`);
  // K-quants are random valid superblocks (llama-ts does not quantize to them)
  const kquant = spec.type === 'q4_k';
  saveGgufCheckpoint(syntheticCheckpoint(cfg, { seed: 1234, type: kquant ? spec.type : undefined }), p,
    { type: kquant ? undefined : spec.type, name: `llama-ts bench ${name}` });
  process.stderr.write(`  done in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  return p;
}

function runChild(which: 'ours' | 'peer', model: string, threads: number, nPrompt: number, nGen: number): Measure {
  const runJs = join(fileURLToPath(new URL('.', import.meta.url)), 'run.js');
  const r = spawnSync(process.execPath, [runJs, 'inference', '--child', which, '--model', model, '--threads', String(threads),
    '--prompt', String(nPrompt), '--gen', String(nGen)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) throw new Error(`${which} on ${model} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(line) as Measure;
}

export async function run(args: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args, strict: true,
    options: {
      child: { type: 'string' }, model: { type: 'string' }, models: { type: 'string' }, reps: { type: 'string' },
      threads: { type: 'string' }, prompt: { type: 'string' }, gen: { type: 'string' }, dir: { type: 'string' },
    },
  });
  const threads = Number(v.threads ?? 2);
  const nPrompt = Number(v.prompt ?? 128);
  const nGen = Number(v.gen ?? 128);
  if (v.child) {
    const res = v.child === 'ours' ? await childOurs(v.model!, threads, nPrompt, nGen) : await childPeer(v.model!, threads, nPrompt, nGen);
    console.log(JSON.stringify(res));
    return;
  }
  const names = (v.models ?? '15M-f32,110M-f32,110M-q8_0,1B-q8_0').split(',');
  for (const n of names) if (!MODELS[n]) throw new Error(`unknown model '${n}'; known: ${Object.keys(MODELS).join(', ')}`);
  const reps = Number(v.reps ?? 3);
  const dir = v.dir ?? join(tmpdir(), 'llama-ts-bench-models');
  mkdirSync(dir, { recursive: true });
  const summary: Record<string, unknown> = {};
  console.log(`llama-ts vs llama.cpp (node-llama-cpp 3.21.1), ${threads} threads, prompt ${nPrompt}, ${nGen} greedy tokens, ${reps} reps, medians`);
  console.log('model        | ours prefill | llama.cpp prefill | ratio | ours decode | llama.cpp decode | ratio | peak MiB ours / llama.cpp');
  for (const name of names) {
    const model = await ensureModel(dir, name);
    const ours: Measure[] = [];
    const peer: Measure[] = [];
    for (let r = 0; r < reps; r++) {
      ours.push(runChild('ours', model, threads, nPrompt, nGen));
      peer.push(runChild('peer', model, threads, nPrompt, nGen));
    }
    const med = (xs: Measure[], k: keyof Omit<Measure, 'first'>) => median(xs.map((x) => x[k] as number));
    const row = {
      ours_prefill_tps: +med(ours, 'prefill_tps').toFixed(1), peer_prefill_tps: +med(peer, 'prefill_tps').toFixed(1),
      ours_decode_tps: +med(ours, 'decode_tps').toFixed(2), peer_decode_tps: +med(peer, 'decode_tps').toFixed(2),
      ours_peak_rss_mib: Math.round(med(ours, 'peak_rss_mib')), peer_peak_rss_mib: Math.round(med(peer, 'peak_rss_mib')),
      ours_load_s: +med(ours, 'load_s').toFixed(2), peer_load_s: +med(peer, 'load_s').toFixed(2),
      prefill_ratio: +(med(ours, 'prefill_tps') / med(peer, 'prefill_tps')).toFixed(3),
      decode_ratio: +(med(ours, 'decode_tps') / med(peer, 'decode_tps')).toFixed(3),
      same_first_tokens: JSON.stringify(ours[0].first) === JSON.stringify(peer[0].first),
    };
    summary[name] = row;
    console.log(`${name.padEnd(12)} | ${String(row.ours_prefill_tps).padStart(12)} | ${String(row.peer_prefill_tps).padStart(17)} | ${row.prefill_ratio.toFixed(2).padStart(5)} | ` +
      `${String(row.ours_decode_tps).padStart(11)} | ${String(row.peer_decode_tps).padStart(16)} | ${row.decode_ratio.toFixed(2).padStart(5)} | ` +
      `${row.ours_peak_rss_mib} / ${row.peer_peak_rss_mib}`);
  }
  console.log(JSON.stringify({ bench: 'inference', threads, prompt: nPrompt, gen: nGen, reps, models: summary }));
}
