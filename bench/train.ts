/**
 * `npm run bench -- train [--configs 15M,tiny] [--steps N] [--threads N] [--rounds N]`
 *
 * Tokens/s of one full training step (forward, backward, global-norm clipping, AdamW) for the 15M
 * config (batch 8×256) and the tiny one (8×128): ours (WebAssembly, 2 threads) and PyTorch on the
 * CPU in its best 2-thread setting (OMP_WAIT_POLICY=PASSIVE, torch and OpenBLAS threads = 2),
 * alternating in one run, each in its own process so peak memory (max RSS) is its own. Ours also
 * reports where the step's time goes, by timing every kernel call: matmuls, attention, loss (the
 * cross-entropy fused with the output projection — the vocabulary matmul is in here), optimizer
 * (AdamW + gradient norms), the other kernels (norms, RoPE, SwiGLU, embedding, residual adds),
 * and overhead (everything between kernel calls), and the GFLOP/s its products reach (the loss
 * counts the three products its backward computes). The host's load average is recorded at the
 * start and end: the machine is shared, so --rounds N alternates ours/peer and takes medians.
 * The last line is JSON with the ratios.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Backend } from '../src/kernels/backend.js';
import { createBackend } from '../src/kernels/index.js';
import { parameterCount, PRESETS, type LlamaConfig } from '../src/model/config.js';
import { createGrads, createParams, initParams } from '../src/model/params.js';
import { backward, createActivations, forward } from '../src/model/transformer.js';
import { AdamW, PAPER_ADAMW } from '../src/train/optimizer.js';
import { mfu, peakGflops } from '../src/train/flops.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

const CONFIGS: Record<string, { config: LlamaConfig; B: number; T: number }> = {
  '15M': { config: PRESETS['15M'], B: 8, T: 256 },
  tiny: { config: PRESETS.tiny, B: 8, T: 128 },
};

const CATEGORY: Record<string, string> = {
  matmulForward: 'matmuls', matmulBackward: 'matmuls',
  attentionForward: 'attention', attentionBackward: 'attention',
  crossEntropyForward: 'loss', crossEntropyBackward: 'loss',
  adamw: 'optimizer', sumSquares: 'optimizer',
};

/**
 * Floating-point operations of the products a call computes (the cross-entropy backward
 * recomputes the logits: three products), so each category's GFLOP/s can be set against the gemm's.
 */
function callFlops(op: string, a: unknown[]): number {
  const n = (i: number) => a[i] as number;
  switch (op) {
    case 'matmulForward': return 2 * n(3) * n(4) * n(5);
    case 'matmulBackward': return 2 * n(5) * n(6) * n(7) * ((a[0] ? 1 : 0) + (a[1] ? 1 : 0));
    case 'crossEntropyForward': return 2 * n(5) * n(6) * n(7);
    case 'crossEntropyBackward': return 3 * 2 * n(7) * n(8) * n(9);
    default: return 0;
  }
}

/** Wraps a backend so every kernel call's wall time (and product FLOPs) is added to its category. */
function timed(be: Backend, acc: Map<string, number>, flops: Map<string, number>): Backend {
  return new Proxy(be, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function' || prop === 'createArena' || prop === 'dispose' || prop === 'setCheckFinite') return typeof v === 'function' ? v.bind(target) : v;
      const cat = CATEGORY[String(prop)] ?? 'other kernels';
      return (...args: unknown[]) => {
        const t = performance.now();
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        acc.set(cat, (acc.get(cat) ?? 0) + performance.now() - t);
        const f = callFlops(String(prop), args);
        if (f > 0) flops.set(cat, (flops.get(cat) ?? 0) + f);
        return r;
      };
    },
  });
}

/** One config, ours: runs in a child process (so max RSS is this run's). Prints a JSON line. */
async function child(name: string, steps: number, threads: number): Promise<void> {
  const { config: c, B, T } = CONFIGS[name];
  const raw = await createBackend({ threads });
  const acc = new Map<string, number>(), flops = new Map<string, number>();
  const be = timed(raw, acc, flops);
  const params = createParams(be, c), grads = createGrads(be, c);
  initParams(params, 1);
  const acts = createActivations(be, c, B, T, 'selective');
  const opt = new AdamW(be, params.specs.map((s) => ({ name: s.name, shape: s.shape, param: params.tensors.get(s.name)!, grad: grads.tensors.get(s.name)! })), PAPER_ADAMW);
  let x = 7;
  const tokens = new Int32Array(B * T + 1).map(() => (x = (x * 1103515245 + 12345) % 2147483648) % c.vocabSize);
  const inp = tokens.subarray(0, B * T), tgt = tokens.slice(1);
  const warmup = 2;
  const times: number[] = [];
  let loss = NaN;
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup) { acc.clear(); flops.clear(); }
    const t = performance.now();
    for (const g of grads.tensors.values()) g.fill(0);
    loss = forward(params, acts, inp, tgt);
    backward(params, grads, acts, inp, tgt);
    opt.update(3e-4, 1);
    if (i >= warmup) times.push((performance.now() - t) / 1000);
  }
  const total = times.reduce((a, b) => a + b, 0);
  const med = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
  const breakdown: Record<string, number> = {};
  let kernels = 0;
  for (const [k, ms] of acc) { breakdown[k] = ms / 1000 / total; kernels += ms / 1000; }
  breakdown.overhead = Math.max(0, 1 - kernels / total);
  const gflops: Record<string, number> = {};
  for (const [k, f] of flops) gflops[k] = +(f / ((acc.get(k) ?? 0) / 1000) / 1e9).toFixed(1);
  raw.dispose();
  console.log(JSON.stringify({
    ours: true, backend: raw.name, threads: raw.threads, step_s: med, tokens_per_s: (B * T) / med,
    mfu: mfu(c, T, (B * T) / med, peakGflops(threads)), peak_rss_mb: process.resourceUsage().maxRSS / 1024, loss, breakdown, gflops,
  }));
}

function lastJson(out: string): Record<string, unknown> {
  const lines = out.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) { try { return JSON.parse(lines[i]); } catch { /* not JSON */ } }
  throw new Error(`no JSON result in:\n${out}`);
}

function runOurs(name: string, steps: number, threads: number): Record<string, unknown> {
  const r = spawnSync(process.execPath, [join(here, 'run.js'), 'train', '--child', name, '--steps', String(steps), '--threads', String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`our ${name} run failed:\n${r.stderr}`);
  return lastJson(r.stdout);
}

function runTorch(name: string, steps: number, threads: number): Record<string, unknown> {
  const { config: c, B, T } = CONFIGS[name];
  const args = [join(root, 'scripts', 'fixtures', 'train-torch.py'), 'bench', '--dim', c.dim, '--layers', c.nLayers, '--heads', c.nHeads,
    '--hidden', c.hiddenDim, '--vocab', c.vocabSize, '--batch', B, '--seq', T, '--threads', threads, '--steps', steps, '--warmup', 2].map(String);
  const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
  if (r.status !== 0) throw new Error(`PyTorch peer failed (is Debian's python3-torch installed?):\n${r.stderr}`);
  return lastJson(r.stdout);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(args: string[]): Promise<void> {
  const { values: v } = parseArgs({ args, options: {
    child: { type: 'string' }, configs: { type: 'string' }, steps: { type: 'string' }, threads: { type: 'string' }, rounds: { type: 'string' },
  } });
  const threads = Number(v.threads ?? 2);
  if (v.child) { await child(v.child, Number(v.steps ?? 5), threads); return; }
  const names = (v.configs ?? '15M,tiny').split(',');
  for (const n of names) if (!CONFIGS[n]) throw new Error(`unknown config '${n}' (known: ${Object.keys(CONFIGS).join(', ')})`);
  const rounds = Number(v.rounds ?? 1);
  const result: Record<string, unknown> = {
    bench: 'train', threads, note: 'tokens/s of forward+backward+clip+AdamW; shared, noisy host: compare ratios',
    load_average_start: os.loadavg().map((x) => +x.toFixed(2)),
  };
  for (const n of names) {
    const { config: c, B, T } = CONFIGS[n];
    const steps = Number(v.steps ?? (n === 'tiny' ? 8 : 5));
    const ours: Record<string, unknown>[] = [], peer: Record<string, unknown>[] = [];
    for (let r = 0; r < rounds; r++) { // alternate, so both see the same host noise
      ours.push(runOurs(n, steps, threads));
      peer.push(runTorch(n, steps, threads));
    }
    const o = median(ours.map((x) => x.tokens_per_s as number)), p = median(peer.map((x) => x.tokens_per_s as number));
    const om = Math.max(...ours.map((x) => x.peak_rss_mb as number)), pm = Math.max(...peer.map((x) => x.peak_rss_mb as number));
    const line = {
      config: n, params: parameterCount(c), batch: `${B}x${T}`,
      ours_tokens_per_s: Math.round(o), torch_tokens_per_s: Math.round(p), speed_ratio: +(o / p).toFixed(3),
      ours_mfu: +(ours[0].mfu as number).toFixed(3),
      ours_peak_mb: Math.round(om), torch_peak_mb: Math.round(pm), memory_ratio: +(om / pm).toFixed(3),
      ours_time_share: Object.fromEntries(Object.entries(ours[0].breakdown as Record<string, number>).map(([k, x]) => [k, +x.toFixed(3)])),
      // achieved GFLOP/s of the products in each category (median over rounds): set against the gemm's ceiling
      ours_gflops: Object.fromEntries(Object.keys(ours[0].gflops as Record<string, number>).map((k) => [k, median(ours.map((x) => (x.gflops as Record<string, number>)[k]))])),
      ours_tokens_per_s_rounds: ours.map((x) => Math.round(x.tokens_per_s as number)),
      torch_tokens_per_s_rounds: peer.map((x) => Math.round(x.tokens_per_s as number)),
    };
    console.log(`${n}: ours ${line.ours_tokens_per_s} tok/s (MFU ${(100 * line.ours_mfu).toFixed(1)}%), PyTorch ${line.torch_tokens_per_s} tok/s -> ${line.speed_ratio}x; ` +
      `peak memory ours ${line.ours_peak_mb} MB, PyTorch ${line.torch_peak_mb} MB -> ${line.memory_ratio}x; our time: ` +
      Object.entries(line.ours_time_share).map(([k, x]) => `${k} ${(100 * x).toFixed(0)}%`).join(', ') +
      `; GFLOP/s ${Object.entries(line.ours_gflops).map(([k, x]) => `${k} ${x}`).join(', ')}`);
    result[n] = line;
  }
  result.load_average_end = os.loadavg().map((x) => +x.toFixed(2));
  console.log(JSON.stringify(result));
}



