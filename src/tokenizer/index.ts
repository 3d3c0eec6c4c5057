/** The tokenizer floor: SentencePiece BPE models (load, save, encode, decode, train). */
export { SentencePieceTokenizer, type EncodeOptions } from './tokenizer.js';
export { ModelType, PieceType, parseModelProto, serializeModelProto, type ModelProto, type ModelPiece, type TrainerSpec, type NormalizerSpec } from './model-proto.js';
export { ModelError } from './vocab.js';
export { IdRangeError } from './decoder.js';
export { encodeStream, encodeBatchOnPool, closeTokenizerPools, tokenizerPool, BatchEncodeError, TokenizerWorkerPool, type BatchOptions, type StreamOptions } from './batch.js';
export type { EncodedChunk } from './worker-pool.js';
export { trainBpe, vocabText, LLAMA_TRAINER_OPTIONS, type TrainBpeOptions, type TrainResult } from './trainer.js';
export type { TextTokenizer } from './text-tokenizer.js';
