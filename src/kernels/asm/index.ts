// Entry point of the WebAssembly kernels (AssemblyScript, runtime stub: no allocation, no strings).
// Every kernel takes raw byte offsets into the imported shared memory; parallel kernels take
// (tid, nthreads) last and partition their own work. Built twice by scripts/build-wasm.mjs:
// with relaxed SIMD (fused multiply-add) and with plain 128-bit SIMD.
export { gemm, initF16Table, setF16Table, GEMM_SCRATCH, B_NN, B_NT_F32, B_NT_F16, B_NT_Q8_0, B_NT_Q4_0, B_PANELS8 } from './gemm';
export { gemm_q, gemm_q_pack_a } from './gemm-q';
export { matvec_f32, matvec_f32p, matvec_f16 } from './matvec';
export { matvec_q8_0, matvec_q4_0 } from './matvec-q';
export { matvec_q4_k, matvec_q5_k, matvec_q6_k } from './matvec-k';
export {
  rmsnorm_forward, rmsnorm_backward, rope_forward, rope_backward, swiglu_forward, swiglu_backward,
  embedding_forward, embedding_backward, add, accumulate, adamw, sum_squares, first_non_finite, SUMSQ_BLOCK,
} from './elementwise';
export { attention_forward, attention_backward, attention_cached, attentionScratchBytes } from './attention';
export { log_softmax } from './softmax';
export { cross_entropy_chunk_stats, cross_entropy_finish, cross_entropy_chunk_dlogits } from './crossentropy';

/** 1 when this build uses relaxed-SIMD fused multiply-add. */
export function relaxedSimd(): i32 { return ASC_FEATURE_RELAXED_SIMD ? 1 : 0; }
