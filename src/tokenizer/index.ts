/** The tokenizer floor: SentencePiece BPE models (load, save, encode, decode, train). */
export { SentencePieceTokenizer, type EncodeOptions } from './tokenizer.js';
export { ModelType, PieceType, parseModelProto, serializeModelProto, type ModelProto, type ModelPiece, type TrainerSpec, type NormalizerSpec } from './model-proto.js';
export { ModelError } from './vocab.js';
export { IdRangeError } from './decoder.js';
export type { BatchOptions } from './batch.js';
export { trainBpe, vocabText, LLAMA_TRAINER_OPTIONS, type TrainBpeOptions, type TrainResult } from './trainer.js';
export type { TextTokenizer } from './text-tokenizer.js';
