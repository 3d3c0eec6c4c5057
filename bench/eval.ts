/**
 * `npm run bench -- eval [--model PATH] [--piqa 60] [--hellaswag 30] [--reps 3]`
 *
 * Harness overhead and the gain from context sharing, on the 15M model (llama2.c's "15M" shape:
 * dim 288, 6 layers, vocab 32000 with Meta's tokenizer; random weights in a Hugging Face directory
 * unless --model is given —
 * speed does not depend on the weights' values), for the first N items of PIQA and HellaSwag:
 *   harness   evaluateTask(...) through LoadedModelAdapter (tokenize, group by context, prefill
 *             once, fork per choice, pick log-probs, greedy check, score, aggregate);
 *   raw       the engine alone on exactly the same token lists and the same calls (append the
 *             context, fork, append each continuation) — no tokenization, no scoring;
 *   unshared  the harness with context sharing off (each choice re-prefills its context).
 * Reported: items/s of each, tokens/s, harness/raw (the overhead ratio; target >= 0.9) and
 * shared/unshared (the speed-up from context sharing), from wall time and from this process's CPU
 * time (all threads; steadier on a shared machine). Median over repetitions, alternating.
 * The machine is shared and noisy: read the ratios. The last line is one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { syntheticCheckpoint } from '../src/formats/synthetic.js';
import { saveCheckpoint } from '../src/formats/index.js';
import { PRESETS } from '../src/model/config.js';
import { loadModel } from '../src/inference/index.js';
import type { LoadedModel } from '../src/inference/types.js';
import { LoadedModelAdapter, tokenizePair } from '../src/eval/loaded-model.js';
import { evaluateTask } from '../src/eval/runner.js';
import { hellaswag, piqa } from '../src/eval/tasks/common-sense.js';
import type { Task } from '../src/eval/task.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const DATA = join(root, '../shared/data');
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

/** The engine alone on the token lists the harness would send (grouped by context as the adapter does). */
function rawRun(model: LoadedModel, groups: { ctx: number[]; conts: number[][] }[]): number {
  let tokens = 0;
  for (const g of groups) {
    const base = model.newSequence();
    base.append(g.ctx, 'last');
    tokens += g.ctx.length;
    g.conts.forEach((c, j) => {
      const seq = j === g.conts.length - 1 ? base : base.fork();
      if (c.length > 1) { seq.append(c.slice(0, -1), 'all'); tokens += c.length - 1; }
      if (seq !== base) seq.dispose();
    });
    base.dispose();
  }
  return tokens;
}

async function groupsOf(task: Task, n: number, model: LoadedModel): Promise<{ ctx: number[]; conts: number[][] }[]> {
  const plans = await task.plan({ dataDir: DATA, shots: 0, seed: 1234, limit: n });
  const byCtx = new Map<string, { ctx: number[]; conts: number[][] }>();
  for (const p of plans) for (const r of p.ll ?? []) {
    const t = tokenizePair(model.tokenizer!, r);
    const key = t.contextIds.join(',');
    const g = byCtx.get(key) ?? { ctx: t.contextIds, conts: [] };
    g.conts.push(t.continuationIds);
    byCtx.set(key, g);
  }
  return [...byCtx.values()];
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { model: { type: 'string' }, piqa: { type: 'string' }, hellaswag: { type: 'string' }, reps: { type: 'string' } } });
  const reps = Number(values.reps ?? 3);
  const counts: Record<string, number> = { piqa: Number(values.piqa ?? 60), hellaswag: Number(values.hellaswag ?? 30) };
  let dir: string | null = null;
  let path = values.model;
  if (!path) {
    dir = mkdtempSync(join(tmpdir(), 'llama-ts-bench-eval-'));
    // A Hugging Face directory with Meta's tokenizer.model copied in. (GGUF would be the natural
    // choice, but Meta's vocabulary has the piece "\ufeff" (id 30143), which the GGUF string
    // reader currently drops as a byte-order mark.)
    path = join(dir, 'random-15M');
    const ckpt = { ...syntheticCheckpoint(PRESETS['15M'], { seed: 1 }), tokenizer: { modelFile: join(DATA, 'tokenizer/tokenizer.model') } };
    saveCheckpoint(ckpt, 'hf', path, { type: 'f32' });
  }
  const model = await loadModel(path);
  const summary: Record<string, unknown> = { model: model.name, backend: (model as unknown as { backend?: { name?: string } }).backend?.name ?? 'unknown', reps };
  console.log(`eval bench: ${model.name}, backend ${String(summary.backend)}, ${reps} reps (median), machine shared: noisy`);
  try {
    for (const task of [piqa, hellaswag]) {
      const n = counts[task.meta.name];
      const groups = await groupsOf(task, n, model);
      const times = { harness: [] as number[], raw: [] as number[], unshared: [] as number[] };
      // CPU seconds of this process (all threads): less disturbed than wall time by other users of the machine.
      const cpu = { harness: [] as number[], raw: [] as number[], unshared: [] as number[] };
      const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
      let tokens = 0;
      let unsharedTokens = 0;
      // Warm-up: compile the kernels' hot paths and fill caches before anything is timed.
      rawRun(model, groups.slice(0, 3));
      for (let r = 0; r < reps; r++) {
        let t = performance.now();
        let c = cpuNow();
        tokens = rawRun(model, groups);
        times.raw.push((performance.now() - t) / 1000);
        cpu.raw.push(cpuNow() - c);
        const shared = new LoadedModelAdapter(model);
        t = performance.now();
        c = cpuNow();
        await evaluateTask(task, shared, { dataDir: DATA, seed: 1234, limit: n, shots: 0 });
        times.harness.push((performance.now() - t) / 1000);
        cpu.harness.push(cpuNow() - c);
        if (shared.tokensEvaluated !== tokens) throw new Error(`harness evaluated ${shared.tokensEvaluated} tokens, raw ${tokens}: not the same work`);
        const plain = new LoadedModelAdapter(model, { shareContext: false });
        t = performance.now();
        c = cpuNow();
        await evaluateTask(task, plain, { dataDir: DATA, seed: 1234, limit: n, shots: 0 });
        times.unshared.push((performance.now() - t) / 1000);
        cpu.unshared.push(cpuNow() - c);
        unsharedTokens = plain.tokensEvaluated;
      }
      const [h, raw, u] = [median(times.harness), median(times.raw), median(times.unshared)];
      const row = {
        items: n, tokens, unsharedTokens,
        harnessItemsPerSec: n / h, rawItemsPerSec: n / raw, unsharedItemsPerSec: n / u,
        rawTokensPerSec: tokens / raw, overheadRatio: raw / h, sharingSpeedup: u / h,
        cpuOverheadRatio: median(cpu.raw) / median(cpu.harness), cpuSharingSpeedup: median(cpu.unshared) / median(cpu.harness),
      };
      summary[task.meta.name] = row;
      console.log(`${task.meta.name.padEnd(10)} ${n} items, ${tokens} tokens (${unsharedTokens} unshared): harness ${row.harnessItemsPerSec.toFixed(2)} items/s, ` +
        `raw engine ${row.rawItemsPerSec.toFixed(2)} items/s (${row.rawTokensPerSec.toFixed(0)} tok/s), unshared ${row.unsharedItemsPerSec.toFixed(2)} items/s; ` +
        `harness/raw ${row.overheadRatio.toFixed(3)} (target >= 0.9), sharing speed-up ${row.sharingSpeedup.toFixed(2)}x; ` +
        `by CPU time: harness/raw ${row.cpuOverheadRatio.toFixed(3)}, sharing ${row.cpuSharingSpeedup.toFixed(2)}x`);
    }
  } finally {
    model.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(summary));
}
