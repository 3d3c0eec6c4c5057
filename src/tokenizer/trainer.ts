/**
 * trainBpe: trains a SentencePiece BPE model the way `spm_train --model_type=bpe` does
 * (trainer_interface.cc + bpe_model_trainer.cc): normalize each line, cut meta pieces out of the
 * text, split into words at "▁", choose the alphabet by character_coverage, replace characters
 * outside it by a placeholder, run the merge loop, then lay the pieces out as SentencePiece does
 * (meta pieces at their ids, merged pieces scored 0, -1, -2, …, then the alphabet).
 *
 * Memory: lines are streamed and reduced to a word → count table at once (SentencePiece keeps
 * every line); with inputSentenceSize > 0 a seeded reservoir sample of lines is kept instead.
 */
import {
  ModelType, PieceType, serializeModelProto, type ModelProto, type NormalizerSpec, type TrainerSpec,
} from './model-proto.js';
import { Normalizer } from './normalizer.js';
import { byteToPiece } from './vocab.js';
import { forEachLine, LineSampler } from './training/corpus.js';
import { runBpeMerges, compareCodePoints } from './training/bpe-merges.js';
import { BOUNDARY_CHAR, UNK_CHAR, WS_CHAR, type PieceRules } from './training/piece-rules.js';

export class TrainerOptionError extends Error {}

export interface TrainBpeOptions {
  /** Text files, one sentence per line (UTF-8). */
  input: string[];
  vocabSize: number;
  characterCoverage?: number;          // default 0.9995 (LLaMA: 0.99995)
  maxSentencepieceLength?: number;     // default 16
  maxSentenceLength?: number;          // bytes; longer lines are skipped (default 4192)
  splitDigits?: boolean;               // default false (LLaMA: true)
  byteFallback?: boolean;              // default false (LLaMA: true)
  allowWhitespaceOnlyPieces?: boolean; // default false (LLaMA: true)
  splitByWhitespace?: boolean;         // default true
  splitByUnicodeScript?: boolean;      // default true
  splitByNumber?: boolean;             // default true
  userDefinedSymbols?: string[];
  controlSymbols?: string[];
  /** Characters that must be in the alphabet whatever their frequency. */
  requiredChars?: string;
  /** 'identity', or a normalizer_spec taken from another model (e.g. one with an nmt_nfkc charsmap). */
  normalization?: 'identity' | NormalizerSpec;
  addDummyPrefix?: boolean;            // default true
  removeExtraWhitespaces?: boolean;    // default true (LLaMA: false)
  /** 0 = use every line; otherwise a reservoir sample of this many lines. */
  inputSentenceSize?: number;
  seed?: number;
  unkId?: number; bosId?: number; eosId?: number; padId?: number;
  /** Progress messages (one line each). */
  onProgress?: (message: string) => void;
}

/** The LLaMA tokenizer's training options (Touvron et al. 2023, §2; Meta's trainer_spec). */
export const LLAMA_TRAINER_OPTIONS: Partial<TrainBpeOptions> = {
  characterCoverage: 0.99995, splitDigits: true, byteFallback: true, allowWhitespaceOnlyPieces: true,
  normalization: 'identity', removeExtraWhitespaces: false, maxSentencepieceLength: 16,
};

export interface TrainResult {
  model: ModelProto;
  stats: { lines: number; sampledLines: number; words: number; alphabet: number; mergedPieces: number; seconds: number };
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw new TrainerOptionError(msg);
}

/**
 * Replaces each meta piece in the text by a tab, longest match first (PrefixMatcher::GlobalReplace).
 * A regex alternation ordered longest-first picks the same match at each position.
 */
function metaPieceCutter(metas: string[]): (text: string) => string {
  if (metas.length === 0) return (t) => t;
  const sorted = [...metas].sort((a, b) => b.length - a.length);
  const re = new RegExp(sorted.map((m) => m.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'gu');
  return (text) => text.replace(re, '\t');
}

/** SplitIntoWords (prefix whitespace): a word starts at the text start and at each "▁" (runs of "▁" stay together when whitespace-only pieces are allowed). */
function splitIntoWords(s: string, allowWsOnly: boolean): string[] {
  const words: string[] = [];
  let inWs = false;
  let start = 0;
  let i = 0;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    const n = cp > 0xffff ? 2 : 1;
    const isWs = cp === WS_CHAR;
    if (i === 0 || (isWs && (!inWs || !allowWsOnly))) {
      if (i > 0) words.push(s.slice(start, i));
      start = i;
      inWs = true;
    }
    if (inWs && !isWs) inWs = false;
    i += n;
  }
  if (s.length > 0) words.push(s.slice(start));
  return words;
}

export async function trainBpe(o: TrainBpeOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const progress = o.onProgress ?? (() => {});
  check(o.input.length > 0, 'no input files: give at least one --input FILE');
  check(Number.isInteger(o.vocabSize) && o.vocabSize > 0, `vocab size must be a positive integer, got ${o.vocabSize}`);
  const coverage = o.characterCoverage ?? 0.9995;
  check(coverage >= 0.98 && coverage <= 1, `character coverage must be in [0.98, 1] (as in SentencePiece), got ${coverage}`);
  const maxPiece = o.maxSentencepieceLength ?? 16;
  check(Number.isInteger(maxPiece) && maxPiece >= 1 && maxPiece <= 512, `max sentencepiece length must be in 1..512, got ${maxPiece}`);
  const maxSentence = o.maxSentenceLength ?? 4192;
  check(maxSentence >= 10, `max sentence length must be >= 10 bytes, got ${maxSentence}`);
  const sampleSize = o.inputSentenceSize ?? 0;
  check(sampleSize === 0 || sampleSize > 100, `input sentence size must be 0 (all) or > 100, got ${sampleSize}`);
  const byteFallback = o.byteFallback ?? false;
  const rules: PieceRules = {
    maxPieceLength: maxPiece,
    splitByUnicodeScript: o.splitByUnicodeScript ?? true,
    splitByNumber: o.splitByNumber ?? true,
    splitByWhitespace: o.splitByWhitespace ?? true,
    splitDigits: o.splitDigits ?? false,
    treatWhitespaceAsSuffix: false,
    allowWhitespaceOnlyPieces: o.allowWhitespaceOnlyPieces ?? false,
  };

  // Meta pieces (InitMetaPieces): unk/bos/eos/pad at their ids, then control, user-defined and
  // byte pieces at the lowest free ids.
  const ids = { unk: o.unkId ?? 0, bos: o.bosId ?? 1, eos: o.eosId ?? 2, pad: o.padId ?? -1 };
  const names = { unk: '<unk>', bos: '<s>', eos: '</s>', pad: '<pad>' };
  const meta = new Map<number, { piece: string; type: PieceType }>();
  for (const k of ['unk', 'bos', 'eos', 'pad'] as const) {
    const id = ids[k];
    if (id < 0) continue;
    check(id < o.vocabSize, `${k} id ${id} is not below the vocab size ${o.vocabSize}`);
    check(!meta.has(id), `${k} id ${id} is already used by ${meta.get(id)?.piece}`);
    meta.set(id, { piece: names[k], type: k === 'unk' ? PieceType.UNKNOWN : PieceType.CONTROL });
  }
  check(ids.unk >= 0, 'the unknown piece needs an id >= 0');
  const seen = new Set<string>();
  let nextId = 0;
  const addMeta = (piece: string, type: PieceType) => {
    check(piece.length > 0, 'empty control or user-defined symbol');
    check(!seen.has(piece), `symbol ${JSON.stringify(piece)} is defined twice`);
    check(piece !== names.unk, `${names.unk} must not be given as a control or user-defined symbol`);
    seen.add(piece);
    const special = (['bos', 'eos', 'pad'] as const).find((k) => names[k] === piece && ids[k] >= 0);
    if (special) { meta.get(ids[special])!.type = type; return; }
    while (meta.has(nextId)) nextId++;
    meta.set(nextId, { piece, type });
  };
  for (const s of o.controlSymbols ?? []) addMeta(s, PieceType.CONTROL);
  for (const s of o.userDefinedSymbols ?? []) addMeta(s, PieceType.USER_DEFINED);
  if (byteFallback) for (let b = 0; b < 256; b++) addMeta(byteToPiece(b), PieceType.BYTE);
  check(meta.size < o.vocabSize, `vocab size ${o.vocabSize} leaves no room after ${meta.size} special pieces`);
  const metaPieces = [...meta.values()].map((m) => m.piece);

  const normalizerSpec: NormalizerSpec = o.normalization && o.normalization !== 'identity'
    ? { ...o.normalization, unknownFields: undefined }
    : { name: 'identity', precompiledCharsmap: new Uint8Array(0) };
  if (o.addDummyPrefix !== undefined) normalizerSpec.addDummyPrefix = o.addDummyPrefix;
  if (o.removeExtraWhitespaces !== undefined) normalizerSpec.removeExtraWhitespaces = o.removeExtraWhitespaces;
  normalizerSpec.addDummyPrefix ??= true;
  normalizerSpec.removeExtraWhitespaces ??= true;
  normalizerSpec.normalizationRuleTsv ??= '';
  // Left unset like spm_train does (proto default true), so our files match its byte for byte.
  check(normalizerSpec.escapeWhitespaces ?? true, 'BPE training needs escape_whitespaces');
  const normalizer = new Normalizer(normalizerSpec, [], false);

  // 1. Lines → normalized sentences → words with counts.
  const cutMetaPieces = metaPieceCutter(metaPieces);
  const wordCounts = new Map<string, number>();
  let lines = 0, used = 0, tooLong = 0;
  const addSentence = (line: string) => {
    const s = cutMetaPieces(normalizer.normalize(line));
    if (s.length === 0) return;
    used++;
    for (const w of splitIntoWords(s, rules.allowWhitespaceOnlyPieces)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  };
  const sampler = sampleSize > 0 ? new LineSampler(sampleSize, o.seed ?? 12345678) : null;
  let lastReport = 0;
  await forEachLine(o.input, (line) => {
    if (line.length === 0) return;
    if (line.length * 3 > maxSentence && Buffer.byteLength(line) > maxSentence) { tooLong++; return; }
    if (line.includes('\u2585')) return; // SentencePiece skips lines holding its placeholder character
    lines++;
    if (sampler) sampler.add(line); else addSentence(line);
  }, (file, bytes) => {
    if (bytes - lastReport >= 16 << 20) { lastReport = bytes; progress(`reading ${file}: ${(bytes / 1048576).toFixed(0)} MiB, ${lines} lines`); }
  });
  if (sampler) for (const l of sampler.lines) addSentence(l);
  check(used > 0, `no usable lines in ${o.input.join(', ')} (empty, or every line longer than ${maxSentence} bytes)`);
  progress(`loaded ${lines} lines${sampler ? `, sampled ${sampler.lines.length}` : ''}${tooLong ? `, skipped ${tooLong} longer than ${maxSentence} bytes` : ''}; ${wordCounts.size} distinct words`);

  // 2. The alphabet: required characters first, then by count, until the coverage is reached.
  const chars = new Map<number, { required: boolean; count: number }>();
  for (const ch of o.requiredChars ?? '') chars.set(ch.codePointAt(0)!, { required: true, count: 0 });
  let allChars = 0;
  for (const [w, n] of wordCounts) {
    for (const ch of w) {
      const c = ch.codePointAt(0)!;
      if (c === 0) continue;
      const e = chars.get(c);
      if (e) e.count += n; else chars.set(c, { required: false, count: n });
      allChars += n;
    }
  }
  const sortedChars = [...chars].sort((a, b) =>
    (a[1].required !== b[1].required ? (a[1].required ? -1 : 1) : b[1].count - a[1].count) || a[0] - b[0]);
  const required = new Map<number, number>();
  let accumulated = 0;
  const coverageF = Math.fround(coverage);
  for (const [c, e] of sortedChars) {
    // SentencePiece computes the coverage in double and stores it in a float before comparing.
    if (Math.fround(accumulated / allChars) >= coverageF) break;
    accumulated += e.count;
    if (c === BOUNDARY_CHAR) continue;
    required.set(c, e.count);
  }
  check(!required.has(UNK_CHAR), 'internal: the placeholder character entered the alphabet');
  check(required.size + meta.size <= o.vocabSize,
    `vocab size ${o.vocabSize} is smaller than the alphabet (${required.size} characters) plus ${meta.size} special pieces; raise --vocab-size or lower --character-coverage`);

  // 3. Characters outside the alphabet become the placeholder; words merge accordingly.
  const finalCounts = new Map<string, number>();
  for (const [w, n] of wordCounts) {
    let out = '';
    for (const ch of w) out += required.has(ch.codePointAt(0)!) ? ch : '\u2585';
    finalCounts.set(out, (finalCounts.get(out) ?? 0) + n);
  }
  wordCounts.clear();
  const entries = [...finalCounts].sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]));
  finalCounts.clear();
  progress(`alphabet ${required.size} characters (coverage ${(accumulated / allChars).toFixed(6)}); ${entries.length} words after mapping rare characters`);

  // 4. Merges.
  const target = o.vocabSize - meta.size - required.size;
  let lastT = performance.now();
  const mergeStart = lastT;
  const merged = runBpeMerges({
    words: entries.map((e) => e[0]), counts: entries.map((e) => e[1]), requiredChars: required, rules, target,
    onProgress: (done, total, piece, freq) => {
      const now = performance.now();
      if (done === total || now - lastT > 2000) {
        lastT = now;
        const secs = (now - mergeStart) / 1000;
        // Later merges touch fewer positions, so this ETA errs on the long side.
        const eta = done < total ? `, ETA ${((secs / done) * (total - done)).toFixed(0)} s` : '';
        progress(`merges ${done}/${total} (${(100 * done / total).toFixed(1)}%) ${(done / Math.max(secs, 1e-3)).toFixed(0)}/s${eta}; last piece ${JSON.stringify(piece)} freq ${freq}`);
      }
    },
  });
  const alphabet = [...required].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([c]) => String.fromCodePoint(c));
  const finalPieces = [...merged, ...alphabet];
  check(meta.size + finalPieces.length >= o.vocabSize,
    `vocab size ${o.vocabSize} is too high for this corpus: at most ${meta.size + finalPieces.length} pieces can be made; lower --vocab-size`);

  // 5. Layout (TrainerInterface::Serialize).
  const pieces: ModelProto['pieces'] = [];
  let fid = 0;
  for (let id = 0; id < o.vocabSize; id++) {
    const m = meta.get(id);
    if (m) pieces.push({ piece: m.piece, score: 0, type: m.type });
    else { pieces.push({ piece: finalPieces[fid], score: -fid, type: PieceType.NORMAL }); fid++; }
  }
  const trainerSpec: TrainerSpec = {
    input: o.input, modelPrefix: '', modelType: ModelType.BPE, vocabSize: o.vocabSize, selfTestSampleSize: 0,
    inputFormat: '', characterCoverage: coverage, inputSentenceSize: sampleSize, seedSentencepieceSize: 1000000,
    // num_threads: SentencePiece's default, recorded as spm_train records it (training here is single-threaded).
    shrinkingFactor: 0.75, numThreads: 16, numSubIterations: 2, maxSentenceLength: maxSentence,
    shuffleInputSentence: true, maxSentencepieceLength: maxPiece, splitByUnicodeScript: rules.splitByUnicodeScript,
    splitByWhitespace: rules.splitByWhitespace, splitByNumber: rules.splitByNumber, treatWhitespaceAsSuffix: false,
    splitDigits: rules.splitDigits, allowWhitespaceOnlyPieces: rules.allowWhitespaceOnlyPieces,
    ...(o.controlSymbols?.length ? { controlSymbols: o.controlSymbols } : {}),
    ...(o.userDefinedSymbols?.length ? { userDefinedSymbols: o.userDefinedSymbols } : {}),
    vocabularyOutputPieceScore: true, hardVocabLimit: true, useAllVocab: false, byteFallback,
    requiredChars: o.requiredChars ?? '', unkId: ids.unk, bosId: ids.bos, eosId: ids.eos, padId: ids.pad,
    unkSurface: ' \u2047 ', unkPiece: names.unk, bosPiece: names.bos, eosPiece: names.eos, padPiece: names.pad,
    trainExtremelyLargeCorpus: false, enableDifferentialPrivacy: false, differentialPrivacyNoiseLevel: 0,
    differentialPrivacyClippingThreshold: 0,
  };
  const model: ModelProto = { pieces, trainerSpec, normalizerSpec, unknownFields: [] };
  return {
    model,
    stats: { lines, sampledLines: sampler ? sampler.lines.length : lines, words: entries.length, alphabet: required.size, mergedPieces: merged.length, seconds: (performance.now() - t0) / 1000 },
  };
}

/** The .vocab text SentencePiece writes: "piece<TAB>score" per line, the score as C++'s ostream prints a float. */
export function vocabText(model: ModelProto): string {
  return model.pieces.map((p) => `${p.piece}\t${formatFloat(p.score)}\n`).join('');
}

/** std::ostream << float with the default precision 6 (printf %g). */
export function formatFloat(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const exp = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(6)))));
  if (exp < -4 || exp >= 6) {
    const [m, e] = x.toExponential(5).split('e');
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    const en = Number(e);
    return `${mant}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
  }
  const s = x.toPrecision(6);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

export { serializeModelProto };
