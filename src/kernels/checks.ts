/**
 * Argument checks shared by the kernel backends: every message names the operation, the
 * argument and the shape it was expected to have.
 */

/** Throws unless every dim is a non-negative integer. */
export function checkDims(op: string, dims: Record<string, number>): void {
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${op}: ${k} = ${v} is not a non-negative integer`);
  }
}

/** Throws unless `a` holds at least n elements (shape is the caller's description, e.g. "[N, C] = [4, 8]"). */
export function checkLength(op: string, what: string, a: ArrayLike<number> | null, n: number, shape: string): void {
  if (a === null) return;
  if (a.length < n) throw new Error(`${op}: ${what} holds ${a.length} elements but shape ${shape} needs ${n}`);
}

/** Throws naming the first token outside [lo, hi) (hi = vocabulary size). */
export function checkTokens(op: string, what: string, tokens: Int32Array, n: number, lo: number, hi: number): void {
  for (let i = 0; i < n; i++) {
    const t = tokens[i];
    if (t < lo || t >= hi) {
      throw new Error(`${op}: ${what}[${i}] = ${t} is outside [${lo}, ${hi}) (vocabulary size ${hi}); ` +
        'check the tokenizer and the model config agree');
    }
  }
}

/** Throws unless a head layout is valid (heads divide into kv groups; RoPE needs an even head size). */
export function checkHeads(op: string, nHeads: number, nKvHeads: number, headDim: number): void {
  if (nHeads < 1 || nKvHeads < 1 || nHeads % nKvHeads !== 0) {
    throw new Error(`${op}: nHeads = ${nHeads} must be a positive multiple of nKvHeads = ${nKvHeads}`);
  }
  if (headDim < 1) throw new Error(`${op}: headDim = ${headDim} must be positive`);
}
