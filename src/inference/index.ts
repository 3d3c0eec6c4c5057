/** Inference: load any checkpoint format, KV-cached sequences, sampling, streaming generation. */
export { loadModel, defaultBackend, type LoadModelOptions } from './load.js';
export { LlamaModel, ContextLengthError } from './model.js';
export { Sampler, argmax, type SamplerSettings } from './sampling.js';
export { TextStream } from './text-stream.js';
export type * from './types.js';
