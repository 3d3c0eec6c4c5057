/**
 * llama.cpp through node-llama-cpp 3.21.1 (its prebuilt CPU binary; nothing downloaded or built):
 * the independent implementation our GGUF files and forward are checked against, and the peer
 * of bench/inference.ts. Reference settings: F32 KV cache and flash attention off (llama.cpp's
 * defaults round K/V to f16, ~1e-3 differences).
 */
import { getLlama, LlamaLogLevel, type Llama, type LlamaContextSequence } from 'node-llama-cpp';

let llamaPromise: Promise<Llama> | null = null;

/** The llama.cpp runtime, or an Error saying why its binary cannot load. */
export async function llamaCpp(): Promise<Llama> {
  llamaPromise ??= getLlama({
    gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, maxThreads: 0,
    logLevel: LlamaLogLevel.error,
  });
  return llamaPromise;
}

export async function disposeLlamaCpp(): Promise<void> {
  if (llamaPromise) { const l = await llamaPromise; llamaPromise = null; await l.dispose(); }
}

export interface PeerOptions { threads?: number; contextSize?: number }

/** One sequence of a reference-settings context (F32 KV cache, flash attention off) on `modelPath`, disposed after `use`. */
async function withReferenceSequence<T>(modelPath: string, o: PeerOptions, use: (seq: LlamaContextSequence) => Promise<T>): Promise<T> {
  const llama = await llamaCpp();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: o.contextSize ?? 128, threads: o.threads ?? 1, sequences: 1, flashAttention: false,
    experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
  } as Parameters<typeof model.createContext>[0]);
  try {
    return await use(context.getSequence());
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

/** Log-softmax rows [tokens.length * vocab] after each position, from llama.cpp. */
export async function llamaCppLogprobs(modelPath: string, tokens: readonly number[], o: PeerOptions = {}): Promise<Float32Array> {
  return withReferenceSequence(modelPath, o, async (seq) => {
    const input = tokens.map((t) => [t, { generateNext: { probabilities: true, token: true, options: { temperature: 0 } } }] as const);
    const res = await seq.controlledEvaluate(input as unknown as Parameters<typeof seq.controlledEvaluate>[0]);
    const first = res[0]?.next?.probabilities;
    if (!first) throw new Error('llama.cpp returned no probabilities');
    const V = first.size;
    const out = new Float32Array(tokens.length * V);
    for (let p = 0; p < tokens.length; p++) {
      const probs = res[p]?.next?.probabilities;
      if (!probs || probs.size !== V) throw new Error(`llama.cpp: position ${p} has ${probs?.size} probabilities, expected ${V}`);
      for (const [tok, pr] of probs) out[p * V + tok] = Math.log(pr);
    }
    return out;
  });
}

/** Greedy continuation of `prompt` for n tokens, from llama.cpp. */
export async function llamaCppGreedy(modelPath: string, prompt: readonly number[], n: number, o: PeerOptions = {}): Promise<number[]> {
  return withReferenceSequence(modelPath, o, async (seq) => {
    const out: number[] = [];
    const it = seq.evaluate([...prompt] as unknown as Parameters<typeof seq.evaluate>[0], { temperature: 0, yieldEogToken: true });
    for (let i = 0; i < n; i++) {
      const r = await it.next();
      if (r.done) break;
      out.push(r.value as number);
    }
    await it.return(undefined);
    return out;
  });
}
