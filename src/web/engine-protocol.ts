/** Messages between the page (web/browser.js) and the engine worker (engine-worker.ts). */

export interface SamplingSettings {
  temperature: number;
  topK: number;
  topP: number;
  maxTokens: number;
  seed: number;
}

export type ToEngine =
  /** Reads and loads a model file; `threads` 0 = as many as the page may use. */
  | { type: 'load'; file: Blob; name: string; threads: number; tokenizer?: { file: Blob; name: string } }
  | { type: 'generate'; prompt: string; addBos: boolean; sampling: SamplingSettings }
  | { type: 'stop' };

export interface ModelInfo {
  name: string;
  fileBytes: number;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  contextLength: number;
  weightTypes: string;
  backend: string;
  threads: number;
  crossOriginIsolated: boolean;
  loadMs: number;
}

export interface GenerationStats {
  promptTokens: number;
  generatedTokens: number;
  finishReason: string;
  /** prefill + decode wall time in ms */
  ms: number;
  /** generated tokens per second, from the first sampled token to the last (decode speed) */
  tokensPerSec: number;
  /** ms until the first token streamed (prefill) */
  firstTokenMs: number;
  /** kernel calls spread over several threads / run on one, since the model was loaded */
  parallelCalls: number;
  serialCalls: number;
}

export type FromEngine =
  | { type: 'progress'; phase: 'read' | 'weights' | 'start'; done: number; total: number; what: string }
  | { type: 'loaded'; info: ModelInfo }
  | { type: 'token'; id: number; text: string; index: number; elapsedMs: number }
  | { type: 'done'; text: string; stats: GenerationStats }
  | { type: 'error'; phase: 'load' | 'generate'; message: string };
