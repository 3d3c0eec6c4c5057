// Public API of llama-ts (Node entry point). Each floor re-exports what users need.
export * from './model/config.js';
export type { Backend, Arena, Weight, WeightType, AdamWParams } from './kernels/backend.js';
export { ropeTables } from './kernels/backend.js';
export { BumpArena } from './kernels/arena.js';
export { SentencePieceTokenizer, ModelError, IdRangeError, ModelType, PieceType } from './tokenizer/index.js';
export { trainBpe, LLAMA_TRAINER_OPTIONS, type TrainBpeOptions } from './tokenizer/trainer.js';
