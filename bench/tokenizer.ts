/**
 * `npm run bench -- tokenizer [--mb 10] [--reps 3] [--no-train] [--train-vocab 8000]`
 *
 * Meta's LLaMA tokenizer.model on ~10 MB of ../shared/data corpora (books, Shakespeare, WikiText,
 * Wikipedia XML), one line = one encode call, in one run and alternating:
 *   ours, 1 thread   a fresh SentencePieceTokenizer per repetition (its word cache starts empty)
 *   ours, 2 threads  encodeBatch(lines, {threads: 2}) on a fresh tokenizer: the first call, so the
 *                    pool's worker start-up, model load and cold word caches are included
 *   ours, pool       the persistent pool once started (TokenizerWorkerPool.ready(); its start-up
 *                    time is reported apart) and its JIT warmed on synthetic text, 1 and 2 workers,
 *                    word caches cold as for one thread: what calls after the first cost; their
 *                    ratio is the thread scaling. This thread's JIT is warmed the same way first.
 *   spm_encode / spm_decode (Debian's C++ SentencePiece), whole process incl. model load
 * MB/s = UTF-8 bytes of the text / wall seconds, median over repetitions; also per CPU second
 * (user + system, from process.cpuUsage — all threads of this process — and /usr/bin/time), steadier
 * on a busy machine; for the pool, MB per CPU second at 2 workers over that at 1 is the parallel
 * efficiency (1 = no overhead from splitting), and CPU / wall seconds the parallelism achieved.
 * On Linux each thread's own CPU time (/proc/self/task) also gives the busiest thread's CPU
 * seconds: the wall time the run would take with a core per thread, so 1-worker busiest over
 * 2-worker busiest is the thread scaling the work allows, whatever else the machine is running. Every run also checks
 * that our ids equal spm_encode's, line by line, and our decoding equals spm_decode's.
 * Training: `llama-ts tokenizer train --llama` against `spm_train` with the same options on the
 * books + Shakespeare + WikiText valid (WikiText test held out): time, peak RSS, identical pieces,
 * tokens per byte of both on the held-out text.
 * The machine is shared and noisy: read the ratios. The last line is one JSON object.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SentencePieceTokenizer, closeTokenizerPools, encodeBatchOnPool, tokenizerPool } from '../src/tokenizer/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const data = join(root, '../shared/data');
const META = join(data, 'tokenizer/tokenizer.model');
const CORPUS = ['gutenberg/1342-0.txt', 'gutenberg/1661-0.txt', 'gutenberg/84-0.txt', 'gutenberg/11-0.txt',
  'tinyshakespeare/input.txt', 'wikitext2/valid.txt', 'wikitext2/test.txt',
  'wikipedia_xml/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.xml'];
const TRAIN = ['gutenberg/1342-0.txt', 'gutenberg/1661-0.txt', 'gutenberg/84-0.txt', 'gutenberg/11-0.txt',
  'tinyshakespeare/input.txt', 'wikitext2/valid.txt'];
const HELD_OUT = 'wikitext2/test.txt';

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const fmt = (x: number) => x.toFixed(2);

/** Runs f; returns its result, wall seconds and this process's CPU seconds. */
function timed<T>(f: () => T): [T, number, number] {
  const t = performance.now();
  const c = process.cpuUsage();
  const r = f();
  const u = process.cpuUsage(c);
  return [r, (performance.now() - t) / 1000, (u.user + u.system) / 1e6];
}

/** All lines on the tokenizer's pool of `workers` worker threads (this thread only dispatches and collects). */
const poolPass = (tok: SentencePieceTokenizer, workers: number, lines: string[]) => encodeBatchOnPool(tokenizerPool(tok, workers), lines, {});

/**
 * Seeded random "words" over letters, digits, punctuation, accents, CJK, emoji and tabs: enough
 * calls to bring the encoder's code to optimized JIT tiers in a new isolate, while adding almost
 * nothing the corpus could hit in the word caches.
 */
function jitWarmupTexts(): string[] {
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const alphabet = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?\'"()-éüß中文日本語😀\t'];
  const word = () => Array.from({ length: 1 + Math.floor(rnd() * 9) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
  return Array.from({ length: 4000 }, () => Array.from({ length: 1 + Math.floor(rnd() * 20) }, word).join(' '));
}

/** CPU seconds (user + system) of each thread of this process, by thread id; null off Linux. */
function threadCpu(): Map<string, number> | null {
  const dir = '/proc/self/task';
  if (!existsSync(dir)) return null;
  const out = new Map<string, number>();
  for (const tid of readdirSync(dir)) {
    try {
      const stat = readFileSync(`${dir}/${tid}/stat`, 'utf8');
      // Fields after the parenthesized thread name: state is field 3, utime 14, stime 15.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) / CLOCK_TICKS);
    } catch { /* the thread ended meanwhile */ }
  }
  return out;
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** The largest CPU seconds any one thread spent between two threadCpu() snapshots. */
function busiestThread(before: Map<string, number> | null, after: Map<string, number> | null): number {
  if (!before || !after) return NaN;
  let max = 0;
  for (const [tid, t] of after) max = Math.max(max, t - (before.get(tid) ?? 0));
  return max;
}

/** Like timed, for a promise. */
async function timedAsync<T>(f: () => Promise<T>): Promise<[T, number, number]> {
  const t = performance.now();
  const c = process.cpuUsage();
  const r = await f();
  const u = process.cpuUsage(c);
  return [r, (performance.now() - t) / 1000, (u.user + u.system) / 1e6];
}

/** Runs a command under /usr/bin/time when present: wall seconds, CPU seconds (user + system) and peak RSS in KiB. */
function runMeasured(cmd: string, args: string[], opts: { stdinFile?: string; stdoutFile?: string } = {}): { wall: number; cpu: number | null; maxRssKiB: number | null; stdout: string } {
  const hasTime = existsSync('/usr/bin/time');
  const tf = join(tmpdir(), `bench-time-${process.pid}`);
  const full = hasTime ? ['/usr/bin/time', ['-f', '%M %U %S', '-o', tf, cmd, ...args]] as const : [cmd, args] as const;
  const t = performance.now();
  const r = spawnSync(full[0], [...full[1]], {
    input: opts.stdinFile ? readFileSync(opts.stdinFile) : undefined, maxBuffer: 1 << 30,
  });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr?.toString().slice(-2000)}`);
  if (opts.stdoutFile) writeFileSync(opts.stdoutFile, r.stdout);
  let maxRssKiB: number | null = null;
  let cpu: number | null = null;
  if (hasTime) {
    const [rss, user, sys] = readFileSync(tf, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    maxRssKiB = rss;
    cpu = user + sys;
    rmSync(tf, { force: true });
  }
  return { wall, cpu, maxRssKiB, stdout: r.stdout.toString() };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: {
    mb: { type: 'string', default: '10' }, reps: { type: 'string', default: '3' },
    'no-train': { type: 'boolean' }, 'train-vocab': { type: 'string', default: '8000' },
  } });
  if (!existsSync(META)) throw new Error(`bench tokenizer needs ../shared/data (Meta's model at ${META})`);
  for (const tool of ['spm_encode', 'spm_decode', 'spm_train']) {
    if (spawnSync(tool, ['--help']).error) throw new Error(`${tool} not found: apt-get install sentencepiece`);
  }
  const reps = Math.max(1, Number(values.reps));
  const dir = mkdtempSync(join(tmpdir(), 'bench-tok-'));
  try {
    // Corpus: whole lines up to the size asked for.
    const limit = Number(values.mb) * 1e6;
    let text = '';
    for (const f of CORPUS) { text += readFileSync(join(data, f), 'utf8'); if (!text.endsWith('\n')) text += '\n'; if (Buffer.byteLength(text) >= limit) break; }
    let buf = Buffer.from(text);
    let end = Math.min(buf.length, limit);
    while (end > 0 && buf[end - 1] !== 0x0a) end--;
    buf = buf.subarray(0, end);
    const corpusFile = join(dir, 'corpus.txt');
    writeFileSync(corpusFile, buf);
    const lines = buf.toString('utf8').split('\n');
    lines.pop();
    const bytes = buf.length - lines.length; // text bytes without the newlines
    console.log(`corpus: ${(buf.length / 1e6).toFixed(1)} MB, ${lines.length} lines; model ${META}; ${reps} repetitions`);

    const warmup = jitWarmupTexts();
    { const t = SentencePieceTokenizer.load(META); for (const w of warmup) t.encode(w); }
    const r = { ours1: [] as number[], ours2: [] as number[], pool1: [] as number[], pool2: [] as number[], spmEnc: [] as number[], oursDec: [] as number[], spmDec: [] as number[] };
    // CPU seconds (user + system) of the one-thread runs: steadier than wall time on a busy machine.
    const cpu = { ours1: [] as number[], pool1: [] as number[], pool2: [] as number[], spmEnc: [] as number[], oursDec: [] as number[], spmDec: [] as number[] };
    // Lines whose ids from a pool differ from the one-thread ids (all repetitions).
    let poolMismatch = 0;
    const startup: number[] = [];
    const busiest = { pool1: [] as number[], pool2: [] as number[] };
    const sameAs = (a: number[][], b: number[][]) => { for (let i = 0; i < b.length; i++) if (a[i].length !== b[i].length || a[i].some((x, k) => x !== b[i][k])) poolMismatch++; };
    let mismatchIds = -1, mismatchText = -1, tokens = 0;
    const idsFile = join(dir, 'ids.txt');
    for (let rep = 0; rep < reps; rep++) {
      const spm = runMeasured('spm_encode', [`--model=${META}`, '--output_format=id'], { stdinFile: corpusFile, stdoutFile: idsFile });
      r.spmEnc.push(spm.wall);
      if (spm.cpu !== null) cpu.spmEnc.push(spm.cpu);
      const tok = SentencePieceTokenizer.load(META);
      const [ours, t1, c1] = timed(() => lines.map((l) => tok.encode(l)));
      r.ours1.push(t1);
      cpu.ours1.push(c1);
      const fresh = SentencePieceTokenizer.load(META);
      const t2s = performance.now();
      const ours2 = await fresh.encodeBatch(lines, { threads: 2 });
      r.ours2.push((performance.now() - t2s) / 1000);
      // Started pools of 1 and of 2 workers, fresh tokenizers (cold word caches, as ours(1)).
      sameAs(ours2, ours);
      const pw1 = SentencePieceTokenizer.load(META), w2 = SentencePieceTokenizer.load(META);
      let t = performance.now();
      await tokenizerPool(pw1, 1).ready();
      startup.push((performance.now() - t) / 1000);
      await poolPass(pw1, 1, warmup);
      let tc = threadCpu();
      const [p1, tp1, cp1] = await timedAsync(() => poolPass(pw1, 1, lines));
      busiest.pool1.push(busiestThread(tc, threadCpu()));
      r.pool1.push(tp1); cpu.pool1.push(cp1); sameAs(p1, ours);
      t = performance.now();
      await tokenizerPool(w2, 2).ready();
      startup.push((performance.now() - t) / 1000);
      await poolPass(w2, 2, warmup);
      tc = threadCpu();
      const [p2, tp2, cp2] = await timedAsync(() => poolPass(w2, 2, lines));
      busiest.pool2.push(busiestThread(tc, threadCpu()));
      r.pool2.push(tp2); cpu.pool2.push(cp2); sameAs(p2, ours);
      await Promise.all([closeTokenizerPools(fresh), closeTokenizerPools(pw1), closeTokenizerPools(w2)]);
      const [decoded, td, cd] = timed(() => ours.map((ids) => tok.decode(ids)));
      r.oursDec.push(td);
      cpu.oursDec.push(cd);
      const spmDec = runMeasured('spm_decode', [`--model=${META}`, '--input_format=id'], { stdinFile: idsFile });
      r.spmDec.push(spmDec.wall);
      if (spmDec.cpu !== null) cpu.spmDec.push(spmDec.cpu);
      if (rep === 0) {
        const spmIds = spm.stdout.split('\n');
        mismatchIds = 0;
        for (let i = 0; i < lines.length; i++) {
          const mine = ours[i].join(' ');
          if (mine !== spmIds[i] || ours2[i].join(' ') !== mine) { if (mismatchIds < 3) console.log(`  MISMATCH line ${i + 1}: ${JSON.stringify(lines[i]).slice(0, 100)}`); mismatchIds++; }
          tokens += ours[i].length;
        }
        const spmText = spmDec.stdout.split('\n');
        mismatchText = 0;
        for (let i = 0; i < lines.length; i++) if (decoded[i] !== spmText[i]) mismatchText++;
      }
      console.log(`  rep ${rep + 1}: encode MB/s ours(1) ${fmt(bytes / 1e6 / t1)} ours(2, first call) ${fmt(bytes / 1e6 / r.ours2[rep])} pool 1 worker ${fmt(bytes / 1e6 / tp1)} 2 workers ${fmt(bytes / 1e6 / tp2)} (CPU/wall ${fmt(cp2 / tp2)}) spm_encode ${fmt(bytes / 1e6 / spm.wall)}; decode MB/s ours ${fmt(bytes / 1e6 / td)} spm_decode ${fmt(bytes / 1e6 / spmDec.wall)}`);
    }
    const mbps = (k: keyof typeof r) => bytes / 1e6 / median(r[k]);
    const enc = { ours1: mbps('ours1'), ours2: mbps('ours2'), pool1: mbps('pool1'), pool2: mbps('pool2'), spm: mbps('spmEnc') };
    const dec = { ours: mbps('oursDec'), spm: mbps('spmDec') };
    console.log(`encode (median MB/s): ours 1 thread ${fmt(enc.ours1)}, 2 threads ${fmt(enc.ours2)}, spm_encode ${fmt(enc.spm)} → ${fmt(enc.ours1 / enc.spm)}× / ${fmt(enc.ours2 / enc.spm)}×`);
    console.log(`encode on a started pool (median MB/s; start-up ${fmt(median(startup))} s apart): 1 worker ${fmt(enc.pool1)}, 2 workers ${fmt(enc.pool2)} → thread scaling ${fmt(enc.pool2 / enc.pool1)}×, ${fmt(enc.pool2 / enc.spm)}× spm_encode; lines differing from one-thread ids: ${poolMismatch}`);
    console.log(`decode (median MB/s): ours ${fmt(dec.ours)}, spm_decode ${fmt(dec.spm)} → ${fmt(dec.ours / dec.spm)}×`);
    const cpuMbps = (k: keyof typeof cpu) => (cpu[k].length ? bytes / 1e6 / median(cpu[k]) : NaN);
    const byCpu = { encPool1: cpuMbps('pool1'), encPool2: cpuMbps('pool2'), encOurs: cpuMbps('ours1'), encSpm: cpuMbps('spmEnc'), decOurs: cpuMbps('oursDec'), decSpm: cpuMbps('spmDec') };
    console.log(`by CPU time (MB per CPU second, one thread): encode ours ${fmt(byCpu.encOurs)}, spm_encode ${fmt(byCpu.encSpm)} → ${fmt(byCpu.encOurs / byCpu.encSpm)}×; decode ours ${fmt(byCpu.decOurs)}, spm_decode ${fmt(byCpu.decSpm)} → ${fmt(byCpu.decOurs / byCpu.decSpm)}×`);
    const parallelism = median(cpu.pool2) / median(r.pool2);
    console.log(`pool by CPU time (MB per CPU second, all threads): 1 worker ${fmt(byCpu.encPool1)}, 2 workers ${fmt(byCpu.encPool2)} → parallel efficiency ${fmt(byCpu.encPool2 / byCpu.encPool1)}; CPU/wall at 2 workers ${fmt(parallelism)} (2 = two cores busy the whole time)`);
    const scalingByThreadCpu = median(busiest.pool1) / median(busiest.pool2);
    console.log(`pool, busiest thread's CPU seconds: 1 worker ${fmt(median(busiest.pool1))}, 2 workers ${fmt(median(busiest.pool2))} → thread scaling with a core per thread ${fmt(scalingByThreadCpu)}×`);
    console.log(`exactness: ${tokens} tokens; lines whose ids differ from spm_encode: ${mismatchIds}; decoded lines differing from spm_decode: ${mismatchText}`);

    let train: Record<string, unknown> | null = null;
    if (!values['no-train']) {
      const vocab = values['train-vocab']!;
      const inputs = TRAIN.map((f) => join(data, f));
      const trainBytes = inputs.reduce((n, f) => n + readFileSync(f).length, 0);
      const cli = join(root, 'dist/src/cli/main.js');
      const oursPrefix = join(dir, 'ours'), spmPrefix = join(dir, 'spm');
      const spmT = runMeasured('spm_train', [`--input=${inputs.join(',')}`, `--model_prefix=${spmPrefix}`, '--model_type=bpe',
        `--vocab_size=${vocab}`, '--normalization_rule_name=identity', '--character_coverage=0.99995', '--split_digits=true',
        '--byte_fallback=true', '--allow_whitespace_only_pieces=true', '--remove_extra_whitespaces=false', '--minloglevel=2']);
      const oursT = runMeasured(process.execPath, [cli, 'tokenizer', 'train', '--llama', '--vocab-size', vocab, '--output', oursPrefix, ...inputs.flatMap((f) => ['--input', f])]);
      const a = SentencePieceTokenizer.load(`${oursPrefix}.model`), b = SentencePieceTokenizer.load(`${spmPrefix}.model`);
      let samePos = 0;
      const setB = new Set(b.vocab.pieces);
      let sameSet = 0;
      for (let i = 0; i < a.vocabSize; i++) { if (a.vocab.pieces[i] === b.vocab.pieces[i]) samePos++; if (setB.has(a.vocab.pieces[i])) sameSet++; }
      const held = readFileSync(join(data, HELD_OUT), 'utf8').split('\n');
      const heldBytes = Buffer.byteLength(held.join('\n'));
      const count = (t: SentencePieceTokenizer) => held.reduce((n, l) => n + t.encode(l).length, 0);
      const tpbOurs = count(a) / heldBytes, tpbSpm = count(b) / heldBytes;
      train = {
        corpus_mb: +(trainBytes / 1e6).toFixed(2), vocab: Number(vocab),
        ours_s: +oursT.wall.toFixed(2), spm_s: +spmT.wall.toFixed(2), time_ratio: +(oursT.wall / spmT.wall).toFixed(2),
        ours_peak_mib: oursT.maxRssKiB && Math.round(oursT.maxRssKiB / 1024), spm_peak_mib: spmT.maxRssKiB && Math.round(spmT.maxRssKiB / 1024),
        same_position: samePos, same_set: sameSet, pieces: a.vocabSize,
        tokens_per_byte_ours: +tpbOurs.toFixed(5), tokens_per_byte_spm: +tpbSpm.toFixed(5),
      };
      console.log(`train (${train.corpus_mb} MB, vocab ${vocab}, LLaMA options): ours ${train.ours_s} s / ${train.ours_peak_mib} MiB, spm_train ${train.spm_s} s / ${train.spm_peak_mib} MiB → time ${train.time_ratio}×`);
      console.log(`  pieces at the same id: ${samePos}/${a.vocabSize}, same set: ${sameSet}; held-out ${HELD_OUT} tokens/byte ours ${fmt(tpbOurs * 1000)}e-3, spm ${fmt(tpbSpm * 1000)}e-3`);
    }
    console.log(JSON.stringify({
      bench: 'tokenizer', corpus_mb: +(buf.length / 1e6).toFixed(2), lines: lines.length, tokens, reps,
      encode_mbps: { ours_1thread: +enc.ours1.toFixed(2), ours_2threads: +enc.ours2.toFixed(2), pool_1worker: +enc.pool1.toFixed(2), pool_2workers: +enc.pool2.toFixed(2), spm_encode: +enc.spm.toFixed(2) },
      decode_mbps: { ours: +dec.ours.toFixed(2), spm_decode: +dec.spm.toFixed(2) },
      cpu_mbps: { encode_pool_1worker: +byCpu.encPool1.toFixed(2), encode_pool_2workers: +byCpu.encPool2.toFixed(2), encode_ours: +byCpu.encOurs.toFixed(2), encode_spm: +byCpu.encSpm.toFixed(2), decode_ours: +byCpu.decOurs.toFixed(2), decode_spm: +byCpu.decSpm.toFixed(2) },
      ratio: { encode_1thread_cpu: +(byCpu.encOurs / byCpu.encSpm).toFixed(2), decode_cpu: +(byCpu.decOurs / byCpu.decSpm).toFixed(2), encode_1thread: +(enc.ours1 / enc.spm).toFixed(2), encode_2threads: +(enc.ours2 / enc.spm).toFixed(2), encode_2workers: +(enc.pool2 / enc.spm).toFixed(2), thread_scaling_wall: +(enc.pool2 / enc.pool1).toFixed(2), thread_parallel_efficiency_cpu: +(byCpu.encPool2 / byCpu.encPool1).toFixed(2), cpu_per_wall_2workers: +parallelism.toFixed(2), thread_scaling_busiest_thread_cpu: +scalingByThreadCpu.toFixed(2), decode: +(dec.ours / dec.spm).toFixed(2), ...(train ? { train_time: train.time_ratio } : {}) },
      pool_startup_s: +median(startup).toFixed(3),
      mismatched_lines: { encode: mismatchIds, decode: mismatchText, pool: poolMismatch },
      train,
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
